import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpRequest } from '../lib/gateway/http';
import { createServerlessHandler } from '../lib/platform/serverless';
import { loadEvent } from './support/events';
import { MP, signedHeaders, REALM, startStack, type Stack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ config: { maxBodyBytes: 4096 } });
});
afterAll(() => stack.close());

async function raw(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
  const res = await fetch(stack.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined, allow: res.headers.get('allow') };
}

describe('bad input gets a structured error, never a 5xx or a crash', () => {
  it.each([
    ['not JSON', '{"interface":', 1009],
    ['a JSON array', '[1,2,3]', 1009],
    ['a JSON string', '"hello"', 1009],
    ['null', 'null', 1009],
    ['empty body', '', 1009],
    ['no interface', '{"version":1}', 1002],
    ['interface not an object', '{"interface":"access_token"}', 1002],
    ['interfaceName not a string', '{"interface":{"interfaceName":42,"para":{}}}', 1002],
    ['no para', '{"interface":{"interfaceName":"access_token"}}', 1011],
    ['para not an object', '{"interface":{"interfaceName":"access_token","para":[1]}}', 1003],
    ['unknown interface', '{"interface":{"interfaceName":"nope","para":{}}}', 1010],
  ])('envelope: %s → returnCode %i', async (_what, body, code) => {
    const res = await raw('POST', '/', body);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ version: 1, componentName: 'MA', returnCode: code, returnData: '' });
    expect(typeof res.json.returnMessage).toBe('string');
  });

  it.each([
    ['appid of the wrong type', { appid: 42 }, 1003],
    ['unknown appid', { appid: 'wx9999999999999999' }, 1012],
    ['force not a boolean', { force: 'maybe' }, 1003],
    ['ticket type unknown', { type: 'card' }, 1003],
  ])('para: %s → returnCode %i', async (_what, para, code) => {
    const iface = 'type' in para ? 'ticket' : 'access_token';
    const body = JSON.stringify({ interface: { interfaceName: iface, para } });
    const res = await raw('POST', '/', body, signedHeaders(REALM, '/', body, Math.floor(stack.sim.now() / 1000)));
    expect(res.json.returnCode).toBe(code);
  });

  it('oversized bodies get 413 with a structured error', async () => {
    const big = JSON.stringify({
      interface: { interfaceName: 'jsapi.config', para: { url: 'https://a.b/', pad: 'x'.repeat(5000) } },
    });
    for (const path of ['/', `/jsapi/${MP.appid}/config`]) {
      const res = await raw('POST', path, big);
      expect(res.status).toBe(413);
      expect(res.json.error.code).toBe('body_too_large');
    }
  });

  it('wrong methods get 405 with Allow, unknown routes 404, all as JSON', async () => {
    expect(await raw('GET', '/')).toMatchObject({ status: 405, allow: 'POST', json: { returnCode: 7402 } });
    expect(await raw('GET', `/jsapi/${MP.appid}/config`)).toMatchObject({
      status: 405,
      allow: 'POST',
      json: { error: { code: 'method_not_allowed' } },
    });
    expect(await raw('POST', '/ping', '{}')).toMatchObject({ status: 405, allow: 'GET' });
    expect(await raw('GET', '/nothing/here')).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
    expect(await raw('GET', '/MP_verify_short.txt')).toMatchObject({ status: 404 });
    expect(await raw('POST', '/jsapi/%E0%A4%A/config', '{"url":"https://a.b/"}')).toMatchObject({
      status: 404,
      json: { error: { code: 'unknown_app' } },
    });
  });

  it('answers /ping and domain verification files', async () => {
    const ping = await raw('GET', '/ping');
    expect(ping.status).toBe(200);
    expect(Math.abs(ping.json.pong - stack.sim.now())).toBeLessThan(5000);
    for (const name of ['MP_verify_AbCd1234EfGh5678', 'WW_verify_0123456789abcdef']) {
      const res = await fetch(`${stack.url}/${name}.txt`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe(name.slice(10));
    }
  });

  it('is still serving after all of that', async () => {
    const res = await stack.envelope('access_token', {});
    expect(res.json.returnCode).toBe(0);
    expect(stack.logs.filter((l) => l.event === 'request_crashed' || l.event === 'interface_crashed')).toEqual([]);
  });
});

describe('the body limit of the app core, the only limit on SCF and Lambda', () => {
  const MAX = 4096;
  const configPath = `/jsapi/${MP.appid}/config`;
  /** A JSON body of exactly `bytes` UTF-8 bytes, padded with `pad` (a character of 1 to 3 bytes) inside a string. */
  const bodyOf = (bytes: number, pad = 'x') => {
    const head = '{"url":"https://a.example/","pad":"';
    const room = bytes - Buffer.byteLength(`${head}"}`);
    const width = Buffer.byteLength(pad);
    const text = `${head}${pad.repeat(Math.floor(room / width))}${'y'.repeat(room % width)}"}`;
    expect(Buffer.byteLength(text)).toBe(bytes);
    return text;
  };
  const post = (path: string, body: string): HttpRequest => ({
    method: 'POST',
    path,
    query: {},
    headers: { 'content-type': 'application/json' },
    body,
  });

  it('accepts a body of exactly maxBodyBytes bytes and refuses one byte more with 413 / 7401', async () => {
    const exact = await stack.app.http(post(configPath, bodyOf(MAX)));
    expect(exact.status).toBe(200);
    expect(JSON.parse(exact.body)).toMatchObject({ appId: MP.appid, url: 'https://a.example/' });
    const over = await stack.app.http(post(configPath, bodyOf(MAX + 1)));
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body)).toMatchObject({ error: { code: 'body_too_large' } });
    const envelope = await stack.app.http(post('/', bodyOf(MAX + 1)));
    expect(envelope.status).toBe(413);
    expect(JSON.parse(envelope.body)).toMatchObject({ returnCode: 7401, error: { code: 'body_too_large' } });
    const envelopeAtLimit = await stack.app.http(post('/', bodyOf(MAX)));
    expect(JSON.parse(envelopeAtLimit.body).returnCode).toBe(1002); // read, and found to lack an interface
  });

  it('counts bytes, not characters: fewer than maxBodyBytes characters of 3-byte UTF-8 are refused', async () => {
    const body = bodyOf(MAX + 2, '中');
    expect(body.length).toBeLessThan(MAX);
    const res = await stack.app.http(post(configPath, body));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error.code).toBe('body_too_large');
  });

  it('holds behind a serverless adapter (API gateway v2 events)', async () => {
    const handler = createServerlessHandler(async () => stack.app);
    const event = (body: string) => ({
      ...loadEvent('aws-v2'),
      rawPath: configPath,
      rawQueryString: '',
      queryStringParameters: undefined,
      body,
    });
    const context = () => ({ callbackWaitsForEmptyEventLoop: true, functionName: 'wecred', awsRequestId: 'r-1' });
    const exact = (await handler(event(bodyOf(MAX, '中')), context() as never)) as { statusCode: number };
    expect(exact.statusCode).toBe(200);
    const over = (await handler(event(bodyOf(MAX + 1, '中')), context() as never)) as {
      statusCode: number;
      body: string;
    };
    expect(over.statusCode).toBe(413);
    expect(JSON.parse(over.body).error.code).toBe('body_too_large');
  });
});
