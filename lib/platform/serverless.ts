/**
 * The one serverless entry point (SCF `main_handler`, Lambda `handler`), wrapped by `@middy/core`: HTTP events go
 * through their adapter to app.http, timer events run app.refresh(), anything else is `unknown_event`. It never
 * throws: a failed start, an exception or middy's early timeout is an error result in the platform's shape
 * (docs/design.md §4).
 */
import middy from '@middy/core';
import type { App } from '../gateway/http';
import { adaptEvent, type AdaptedEvent, type HttpResult, type TimerResult } from './events';
import { errorResponse, isRecord, proxyResult, type PlatformLogger } from './shared';

export type { PlatformLogger };

export interface ServerlessOptions {
  /**
   * Answer this many ms before the platform's deadline (read from
   * `context.getRemainingTimeInMillis`) with a 504 / failed-timer result instead of being
   * killed. 0 disables. Default 5 (middy's default).
   */
  timeoutEarlyInMillis?: number;
  logger?: PlatformLogger;
  /** Where the metrics line of each invocation goes (App.metricsLine); default stdout. */
  metricsOut?: (line: string) => void;
}

/** The error result a timer invocation returns when refresh could not run at all. */
export interface TimerErrorResult {
  ok: false;
  error: { code: string; message: string };
}

export type PlatformResult = HttpResult | TimerResult | TimerErrorResult;

/** The subset of the Lambda / SCF context object this handler touches. */
export interface PlatformContext {
  callbackWaitsForEmptyEventLoop?: boolean;
  getRemainingTimeInMillis?: () => number;
  [key: string]: unknown;
}

/** The middy-wrapped handler: `(event, context) => Promise<PlatformResult>`, plus `.use()`. */
export type ServerlessHandler = middy.MiddyfiedHandler<unknown, PlatformResult, Error, PlatformContext>;

function unknownEventResult(): HttpResult {
  return proxyResult(
    errorResponse(400, 'unknown_event', 'this function serves HTTP (API gateway / function URL) and timer events only'),
  );
}

function failureResult(adapted: AdaptedEvent, err: unknown): PlatformResult {
  const timeout = err instanceof Error && err.name === 'TimeoutError';
  const code = timeout ? 'timeout' : 'internal';
  const message = timeout ? 'the function ran out of time' : 'internal error';
  switch (adapted.kind) {
    case 'http':
      return adapted.toResult(errorResponse(timeout ? 504 : 500, code, message));
    case 'timer':
      return { ok: false, error: { code, message } };
    default:
      return unknownEventResult();
  }
}

/**
 * `getApp` is called on every invocation; the caller caches it so warm invocations reuse
 * one App (stores, pools, local credential cache), e.g.
 *
 *   let app: Promise<App> | undefined;
 *   export const main_handler = createServerlessHandler(() => (app ??= buildApp()));
 *
 * (a caller should drop a rejected promise so the next invocation retries).
 * `context.callbackWaitsForEmptyEventLoop` is set to false when present (SCF and Lambda both
 * honour it) so open sockets and pool timers don't hold the response back.
 */
export function createServerlessHandler(getApp: () => Promise<App>, opts: ServerlessOptions = {}): ServerlessHandler {
  const logger = opts.logger;
  const metricsOut = opts.metricsOut ?? ((line: string) => process.stdout.write(`${line}\n`));
  /** The invocation's metrics line, if the app writes one: with the shared figures after a timer's refresh. */
  const metrics = async (app: App, shared: boolean) => {
    const line = await app.metricsLine?.(shared);
    if (line) metricsOut(line);
  };

  const base = async (event: unknown): Promise<PlatformResult> => {
    const adapted = adaptEvent(event);
    switch (adapted.kind) {
      case 'http': {
        const app = await getApp();
        const result = adapted.toResult(await app.http(adapted.request));
        await metrics(app, false);
        return result;
      }
      case 'timer': {
        const app = await getApp();
        const result = adapted.toResult(await app.refresh());
        await metrics(app, true);
        return result;
      }
      default:
        return unknownEventResult();
    }
  };

  return middy<unknown, PlatformResult, Error, PlatformContext>(base, {
    timeoutEarlyInMillis: opts.timeoutEarlyInMillis ?? 5,
  }).use({
    before: (request) => {
      const ctx: unknown = request.context;
      if (isRecord(ctx) && 'callbackWaitsForEmptyEventLoop' in ctx) ctx.callbackWaitsForEmptyEventLoop = false;
    },
    onError: (request) => {
      const err: unknown = request.error;
      request.response = failureResult(adaptEvent(request.event), err);
      try {
        logger?.log('error', 'platform.invocation_failed', {
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      } catch {
        // logging must not turn a result into a throw
      }
    },
  });
}
