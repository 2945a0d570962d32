import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, MP, REALM, signedHeaders, startStack, type Stack } from '../../test/support/stack';
import { WechatSim } from '../../sim';
import { createMemoryStore } from '../store/memory';
import type { HttpRequest } from './http';

const OPEN = { key: 'open', secret: 'open-realm-secret-0123456789' };

const request = (method: string, path: string, body = '', headers: Record<string, string> = {}): HttpRequest => ({
  method,
  path,
  query: {},
  headers,
  body,
});
const envelopeBody = (interfaceName: string, para: unknown = {}) =>
  JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } });

describe('the app core below a base path', () => {
  let sim: WechatSim;
  let stack: Stack;
  let broken = false;
  const signed = (realm: { key: string; secret: string }, body: string) =>
    signedHeaders(realm, '/', body, Math.floor(sim.now() / 1000));
  const lastRequestLog = () => stack.logs.filter((l) => l.event === 'request').at(-1);

  beforeAll(async () => {
    sim = await WechatSim.start();
    stack = await startStack({
      sim,
      clock: () => {
        if (broken) throw new Error('the clock broke');
        return sim.now();
      },
      config: {
        basePath: '/release',
        maxBodyBytes: 1024,
        realms: [
          { ...REALM, apps: [MP.appid], interfaces: ['access_token', 'ticket'] },
          { ...ADMIN, admin: true },
          OPEN, // no interfaces listed: every realm interface, but no admin one
        ],
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await sim.close();
  });

  it('logs one line per request: the path below the base, route, caller, status, envelope returnCode, ms, upstream calls', async () => {
    sim.fault('stable_token', { delayMs: 40 });
    const body = envelopeBody('access_token', { appid: MP.appid });
    const started = performance.now();
    const res = await stack.app.http(request('POST', '/release/', body, signed(REALM, body)));
    const took = performance.now() - started;
    expect(JSON.parse(res.body)).toMatchObject({ returnCode: 0, returnMessage: 'OK' });
    const line = lastRequestLog()!;
    expect(line).toMatchObject({
      method: 'POST',
      path: '/',
      route: 'access_token',
      caller: 'biz',
      status: 200,
      returnCode: 0,
      upstream: 1,
    });
    const ms = line.ms as number;
    expect(ms).toBeGreaterThanOrEqual(40);
    expect(ms).toBeLessThanOrEqual(took + 0.1);
    expect(Math.round(ms * 10)).toBe(ms * 10); // a tenth of a millisecond

    expect((await stack.app.http(request('GET', '/release/ping'))).status).toBe(200);
    expect(lastRequestLog()).toMatchObject({
      path: '/ping',
      route: 'ping',
      caller: 'public',
      status: 200,
      upstream: 0,
    });
  });

  it('serves the envelope at the base path itself, and strips nothing from a path that merely starts like it', async () => {
    const body = envelopeBody('access_token', { appid: MP.appid });
    const bare = await stack.app.http(request('POST', '/release', body, signed(REALM, body)));
    expect(JSON.parse(bare.body).returnCode).toBe(0);
    const lookalike = await stack.app.http(request('GET', '/releaseping'));
    expect(lookalike.status).toBe(404);
    expect(JSON.parse(lookalike.body)).toEqual({ error: { code: 'not_found', message: 'no route GET /releaseping' } });
    expect(lastRequestLog()).toMatchObject({ path: '/releaseping', route: 'not_found', status: 404 });
  });

  it('refuses an oversized body in the shape of what was asked: the envelope or a route', async () => {
    const big = 'x'.repeat(1025);
    const route = await stack.app.http(request('POST', `/release/jsapi/${MP.appid}/config`, big));
    expect(route.status).toBe(413);
    expect(JSON.parse(route.body)).toEqual({
      error: { code: 'body_too_large', message: 'the request body is larger than 1024 bytes' },
    });
    expect(lastRequestLog()).toMatchObject({ route: 'route', status: 413 });
    expect(lastRequestLog()).not.toHaveProperty('returnCode');
    const envelope = await stack.app.http(request('POST', '/release/', big));
    expect(envelope.status).toBe(413);
    expect(JSON.parse(envelope.body)).toMatchObject({ returnCode: 7401, returnData: '' });
    expect(lastRequestLog()).toMatchObject({ route: 'envelope', status: 413, returnCode: 7401 });
  });

  it('answers a preflight with 204 and the CORS headers, HEAD as GET, other methods 405 naming the allowed ones', async () => {
    const preflight = await stack.app.http(
      request('OPTIONS', `/release/jsapi/${MP.appid}/config`, '', { origin: 'https://a.example' }),
    );
    expect(preflight).toMatchObject({ status: 204, body: '' });
    expect(preflight.headers['access-control-allow-origin']).toBe('https://a.example');
    expect(lastRequestLog()).toMatchObject({ route: 'preflight', status: 204 });

    expect((await stack.app.http(request('HEAD', '/release/ping'))).status).toBe(200);

    const put = await stack.app.http(request('PUT', '/release/ping'));
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET');
    expect(JSON.parse(put.body).error.message).toBe('ping answers GET only');
    const both = await stack.app.http(request('PUT', `/release/wechat/${MP.appid}`));
    expect(both.headers.allow).toBe('GET, POST');
    expect(JSON.parse(both.body).error.message).toBe('wechat_server answers GET, POST only');
    const get = await stack.app.http(request('GET', '/release/'));
    expect(get).toMatchObject({ status: 405, headers: { allow: 'POST' } });
    expect(JSON.parse(get.body)).toMatchObject({
      returnCode: 7402,
      returnMessage: 'the envelope API answers POST only',
    });
    expect(lastRequestLog()).toMatchObject({ route: 'envelope', returnCode: 7402 });
  });

  it('reads a route body as a JSON object or a form, and says when it is neither', async () => {
    const config = (body: string, type = 'application/json') =>
      stack.app.http(request('POST', `/release/jsapi/${MP.appid}/config`, body, { 'content-type': type }));
    const form = await config('url=https%3A%2F%2Fa.example%2F', 'application/x-www-form-urlencoded');
    expect(JSON.parse(form.body)).toMatchObject({ appId: MP.appid, url: 'https://a.example/' });
    expect(JSON.parse((await config('')).body).error.code).toBe('bad_para'); // no body: an empty object, no url
    expect(JSON.parse((await config('{"url":')).body).error).toEqual({
      code: 'not_json',
      message: 'the request body is not JSON',
    });
    for (const body of ['null', '[]', '"https://a.example/"', '7']) {
      expect(JSON.parse((await config(body)).body).error, body).toEqual({
        code: 'not_json',
        message: 'the request body must be a JSON object',
      });
    }
  });

  it('names an unknown interface, and keeps admin interfaces from every other realm, one listing none too', async () => {
    const nope = envelopeBody('nope');
    expect(JSON.parse((await stack.app.http(request('POST', '/release/', nope))).body)).toMatchObject({
      returnCode: 1010,
      returnMessage: 'unknown interfaceName nope',
    });
    const status = envelopeBody('status');
    const open = await stack.app.http(request('POST', '/release/', status, signed(OPEN, status)));
    expect(JSON.parse(open.body)).toMatchObject({ returnCode: 7006, returnMessage: 'realm open may not call status' });
    const admin = await stack.app.http(request('POST', '/release/', status, signed(ADMIN, status)));
    expect(JSON.parse(admin.body).returnCode).toBe(0);
  });

  it('answers a crash with 500 internal, the details only in the log; a refusal is no crash', async () => {
    const before = stack.logs.length;
    const body = envelopeBody('access_token', { appid: MP.appid });
    const headers = signed(REALM, body);
    broken = true;
    try {
      const route = await stack.app.http(request('GET', '/release/ping'));
      expect(route.status).toBe(500);
      expect(JSON.parse(route.body)).toEqual({ error: { code: 'internal', message: 'internal error' } });
      const envelope = await stack.app.http(request('POST', '/release/', body, headers));
      expect(JSON.parse(envelope.body)).toMatchObject({ returnCode: 7500, error: { code: 'internal' } });
    } finally {
      broken = false;
    }
    // A platform that hands over no body at all: caught by the last guard.
    const bodiless = await stack.app.http({ ...request('POST', '/release/'), body: undefined as unknown as string });
    expect(bodiless.status).toBe(500);
    expect(JSON.parse(bodiless.body)).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(lastRequestLog()).toMatchObject({ route: 'crash', status: 500 });
    // refusals: not crashes
    await stack.app.http(request('POST', '/release/jsapi/wx0000000000000000/config', '{}'));
    await stack.app.http(request('POST', '/release/', envelopeBody('access_token', { appid: 'wx0000000000000000' })));

    const crashes = stack.logs.slice(before).filter((l) => l.level === 'error');
    expect(crashes).toEqual([
      expect.objectContaining({ event: 'route_crashed', route: 'ping', error: 'Error' }),
      expect.objectContaining({ event: 'interface_crashed', interface: 'access_token', error: 'Error' }),
      expect.objectContaining({ event: 'request_crashed', path: '/', error: 'TypeError' }),
    ]);
    expect(JSON.stringify(crashes)).not.toContain('the clock broke');
  });
});

describe('the app core behind a trusted gateway', () => {
  it('takes every call as the gateway, unsigned, and closes its store when closed', async () => {
    const inner = createMemoryStore();
    let closed = 0;
    const store = {
      ...inner,
      kind: inner.kind,
      close: async () => {
        closed++;
      },
    };
    const stack = await startStack({ config: { trustGateway: true }, store });
    try {
      const res = await stack.app.http(request('POST', '/', envelopeBody('access_token', { appid: MP.appid })));
      expect(JSON.parse(res.body).returnCode).toBe(0);
      expect(stack.logs.filter((l) => l.event === 'request').at(-1)).toMatchObject({ caller: 'gateway' });
      await stack.app.close();
      expect(closed).toBe(1);
    } finally {
      await stack.close();
    }
  });
});
