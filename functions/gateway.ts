/**
 * The HTTP function: SCF API-gateway / Function-URL events, AWS API Gateway v1 / v2 (and timer events, should they be
 * routed here). docs/design.md §4.
 */
import { createLogger } from '../lib/log/logger';
import { createServerlessHandler } from '../lib/platform/serverless';
import { getApp } from './cold-start';

// Logs what the app cannot: a failed start (bad config, store unreachable or behind its schema).
export const handler = createServerlessHandler(getApp, { logger: createLogger() });
/** SCF's default handler name (index.main_handler). */
export const main_handler = handler;
