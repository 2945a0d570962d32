/** The HTTP function: SCF API-gateway / Function-URL events, AWS API Gateway v1 / v2 (and timer events, should they be routed here). */
import { createServerlessHandler } from '../lib/platform/serverless';
import { getApp } from './cold-start';

export const handler = createServerlessHandler(getApp);
/** SCF's default handler name (index.main_handler). */
export const main_handler = handler;
