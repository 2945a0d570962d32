import { describe, expect, it } from 'vitest';
import type { App, HttpRequest, HttpResponse, RefreshReport } from '../gateway/http';
import { loadEvent, sampleNames, samples } from '../../test/support/events';
import { adaptEvent } from './events';
import { createServerlessHandler } from './serverless';

/** A fake App recording what it is asked: this is a unit test of the adapters. */
function fakeApp(
  opts: { response?: HttpResponse; report?: RefreshReport; delayMs?: number; throwIn?: 'http' | 'refresh' } = {},
) {
  const calls = { http: [] as HttpRequest[], refresh: 0, close: 0 };
  const response: HttpResponse = opts.response ?? {
    status: 200,
    headers: { 'content-type': 'application/json', 'x-wecred': '1' },
    body: '{"appId":"wx123"}',
  };
  const report: RefreshReport = opts.report ?? { checked: 2, refreshed: 1, failed: [] };
  const wait = () => new Promise((r) => setTimeout(r, opts.delayMs ?? 0));
  const app: App = {
    async http(req) {
      calls.http.push(req);
      await wait();
      if (opts.throwIn === 'http') throw new Error('bug in http');
      return response;
    },
    async refresh() {
      calls.refresh++;
      await wait();
      if (opts.throwIn === 'refresh') throw new Error('bug in refresh');
      return report;
    },
    async close() {
      calls.close++;
    },
  };
  return { app, calls };
}

const lambdaContext = () => ({ callbackWaitsForEmptyEventLoop: true, functionName: 'wecred', awsRequestId: 'r-1' });

describe('createServerlessHandler', () => {
  it.each(sampleNames)('serves the %s sample end to end', async (name) => {
    const { app, calls } = fakeApp();
    let built = 0;
    const handler = createServerlessHandler(async () => {
      built++;
      return app;
    });
    const event = loadEvent(name);
    const context = lambdaContext();
    const result = await handler(event, context as never);

    expect(context.callbackWaitsForEmptyEventLoop).toBe(false);
    expect(built).toBe(1);
    const adapted = adaptEvent(loadEvent(name));
    if (samples[name] === 'scf-timer' || samples[name] === 'aws-schedule') {
      expect(calls.refresh).toBe(1);
      expect(calls.http).toHaveLength(0);
      expect(result).toEqual({ ok: true, checked: 2, refreshed: 1, failed: [] });
      expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    } else {
      if (adapted.kind !== 'http') throw new Error('expected http');
      expect(calls.refresh).toBe(0);
      expect(calls.http).toEqual([adapted.request]);
      expect(result).toEqual({
        statusCode: 200,
        headers: { 'content-type': 'application/json', 'x-wecred': '1' },
        body: '{"appId":"wx123"}',
        isBase64Encoded: false,
      });
    }
  });

  it('reports failed refreshes in the timer result without throwing', async () => {
    const { app } = fakeApp({
      report: { checked: 1, refreshed: 0, failed: [{ key: 'mp:wx123', reason: 'upstream 40001' }] },
    });
    const handler = createServerlessHandler(async () => app);
    await expect(handler(loadEvent('scf-timer'), {} as never)).resolves.toEqual({
      ok: false,
      checked: 1,
      refreshed: 0,
      failed: [{ key: 'mp:wx123', reason: 'upstream 40001' }],
    });
  });

  it.each([{}, null, 'hello', { Records: [] }])(
    'answers 400 unknown_event for %j without building the app',
    async (event) => {
      let built = 0;
      const handler = createServerlessHandler(async () => {
        built++;
        return fakeApp().app;
      });
      const result = await handler(event, {} as never);
      expect(built).toBe(0);
      expect(result).toEqual({
        statusCode: 400,
        headers: { 'content-type': 'application/json' },
        body: expect.any(String),
        isBase64Encoded: false,
      });
      expect(JSON.parse((result as { body: string }).body)).toEqual({
        error: { code: 'unknown_event', message: expect.any(String) },
      });
    },
  );

  it('works without a context, and leaves a context without the flag alone', async () => {
    const { app } = fakeApp();
    const handler = createServerlessHandler(async () => app);
    await expect(handler(loadEvent('aws-v2'), undefined as never)).resolves.toMatchObject({ statusCode: 200 });
    const ctx: Record<string, unknown> = { request_id: 'scf-1' };
    await handler(loadEvent('scf-apigw'), ctx as never);
    expect(ctx).toEqual({ request_id: 'scf-1' });
  });

  it('calls getApp on every invocation (the caller caches it)', async () => {
    const { app } = fakeApp();
    let built = 0;
    let cached: Promise<App> | undefined;
    const handler = createServerlessHandler(() => {
      built++;
      cached ??= Promise.resolve(app);
      return cached;
    });
    await handler(loadEvent('aws-v2'), {} as never);
    await handler(loadEvent('aws-v2'), {} as never);
    expect(built).toBe(2);
  });

  it('turns a getApp failure into a 500 in the platform shape, and logs it', async () => {
    const logged: unknown[] = [];
    const handler = createServerlessHandler(async () => Promise.reject(new Error('config: apps[0].secret missing')), {
      logger: { log: (...args) => logged.push(args) },
    });
    const result = await handler(loadEvent('scf-apigw'), {} as never);
    expect(result).toEqual({
      isBase64Encoded: false,
      statusCode: 500,
      headers: { 'content-type': 'application/json' },
      body: '{"error":{"code":"internal","message":"internal error"}}',
    });
    expect(logged).toHaveLength(1);
    await expect(handler(loadEvent('aws-schedule'), {} as never)).resolves.toEqual({
      ok: false,
      error: { code: 'internal', message: 'internal error' },
    });
  });

  it('turns an unexpected exception from the app into a 500, never a throw', async () => {
    const handler = createServerlessHandler(async () => fakeApp({ throwIn: 'http' }).app);
    await expect(handler(loadEvent('aws-v1'), {} as never)).resolves.toMatchObject({ statusCode: 500 });
    const timer = createServerlessHandler(async () => fakeApp({ throwIn: 'refresh' }).app);
    await expect(timer(loadEvent('scf-timer'), {} as never)).resolves.toMatchObject({ ok: false });
  });

  it('answers 504 just before the platform deadline instead of being killed', async () => {
    const { app } = fakeApp({ delayMs: 500 });
    const handler = createServerlessHandler(async () => app, { timeoutEarlyInMillis: 5 });
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => 30 };
    const started = Date.now();
    const result = await handler(loadEvent('aws-v2'), context as never);
    expect(Date.now() - started).toBeLessThan(400);
    expect(result).toMatchObject({ statusCode: 504 });
    expect(JSON.parse((result as { body: string }).body).error.code).toBe('timeout');
  });

  it('is a middy handler (more middlewares can be added)', async () => {
    const { app } = fakeApp();
    const handler = createServerlessHandler(async () => app);
    const seen: string[] = [];
    handler.use({ after: () => void seen.push('after') });
    await handler(loadEvent('scf-url'), {} as never);
    expect(seen).toEqual(['after']);
  });
});
