/** The timer function: SCF timer triggers and EventBridge schedules refresh every credential inside its window. */
import { createServerlessHandler } from '../lib/platform/serverless';
import { getApp } from './cold-start';

export const handler = createServerlessHandler(getApp);
export const main_handler = handler;
