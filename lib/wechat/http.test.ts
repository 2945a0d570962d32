import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamUnavailable, WechatError } from './errors';
import { callJson, forgetCircuits, upstreamUrl } from './http';
import { closedPortBase, expectNoLeak, failure, startTestUpstream } from '../../test/support/raw-upstream';
import type { TestUpstream } from '../../test/support/raw-upstream';

let up: TestUpstream;
beforeAll(async () => {
  up = await startTestUpstream();
});
afterAll(async () => {
  await up.close();
});
// Each test starts with a closed circuit: the timeouts of one must not open it for the next.
beforeEach(forgetCircuits);

const SECRET = 'SeCrEt0123456789abcdefSECRET';
const TOKEN = 'ACCESS_TOKEN_73_xyzXYZ_secretvalue';

describe('callJson: success', () => {
  it('parses JSON served as text/plain', async () => {
    up.reply('/plain', { contentType: 'text/plain', body: '{"openid":"o1","session_key":"k=="}' });
    await expect(callJson('sns/jscode2session', `${up.base}/plain`, { timeoutMs: 2000 })).resolves.toEqual({
      openid: 'o1',
      session_key: 'k==',
    });
  });

  it('parses JSON whatever the content type says (even none of JSON)', async () => {
    up.reply('/html', { contentType: 'text/html; charset=utf-8', body: ' {"a":1}\n' });
    await expect(callJson('x', `${up.base}/html`, { timeoutMs: 2000 })).resolves.toEqual({ a: 1 });
  });

  it('treats errcode 0 as success and returns the whole body', async () => {
    up.reply('/ok0', { body: '{"errcode":0,"errmsg":"ok","ticket":"T","expires_in":7200}' });
    await expect(callJson('cgi-bin/ticket/getticket', `${up.base}/ok0`, { timeoutMs: 2000 })).resolves.toEqual({
      errcode: 0,
      errmsg: 'ok',
      ticket: 'T',
      expires_in: 7200,
    });
  });

  it('sends a JSON body with POST', async () => {
    up.reply('/post', { body: '{}' });
    const before = up.received.length;
    await callJson('p', `${up.base}/post`, { method: 'POST', json: { a: 1, b: 'x' }, timeoutMs: 2000 });
    const got = up.received[before];
    expect(got?.method).toBe('POST');
    expect(got?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(got?.body ?? '')).toEqual({ a: 1, b: 'x' });
  });

  it('uses GET with no body by default', async () => {
    up.reply('/get', { body: '{}' });
    const before = up.received.length;
    await callJson('g', `${up.base}/get?x=1`, { timeoutMs: 2000 });
    expect(up.received[before]).toMatchObject({ method: 'GET', path: '/get', query: { x: '1' }, body: '' });
  });
});

describe('callJson: failures', () => {
  it('non-zero errcode → WechatError with errcode and errmsg', async () => {
    up.reply('/e40013', { body: '{"errcode":40013,"errmsg":"invalid appid rid: 64c9165c-4a799d77-6328edd8"}' });
    const err = await failure(callJson('cgi-bin/token', `${up.base}/e40013`, { timeoutMs: 2000 }));
    expect(err).toBeInstanceOf(WechatError);
    expect(err).toMatchObject({ endpoint: 'cgi-bin/token', errcode: 40013 });
    expect((err as WechatError).errmsg).toContain('invalid appid');
  });

  it('errcode -1 → WechatError -1', async () => {
    up.reply('/em1', { body: '{"errcode":-1,"errmsg":"system error"}' });
    await expect(callJson('e', `${up.base}/em1`, { timeoutMs: 2000 })).rejects.toMatchObject({
      name: 'WechatError',
      errcode: -1,
    });
  });

  it('a numeric-string errcode is read as its number', async () => {
    up.reply('/estr', { body: '{"errcode":"45009","errmsg":"reach max api daily quota limit"}' });
    await expect(callJson('e', `${up.base}/estr`, { timeoutMs: 2000 })).rejects.toMatchObject({ errcode: 45009 });
  });

  it('HTTP 500 → UpstreamUnavailable http with status, even with a JSON body', async () => {
    up.reply('/500', { status: 500, body: '{"errcode":0}' });
    const err = await failure(callJson('cgi-bin/token', `${up.base}/500`, { timeoutMs: 2000 }));
    expect(err).toBeInstanceOf(UpstreamUnavailable);
    expect(err).toMatchObject({ endpoint: 'cgi-bin/token', reason: 'http', status: 500 });
  });

  it('HTTP 404 with an empty body (WeCom unknown path) → http 404', async () => {
    up.reply('/404', { status: 404, body: '' });
    await expect(callJson('x', `${up.base}/404`, { timeoutMs: 2000 })).rejects.toMatchObject({
      reason: 'http',
      status: 404,
    });
  });

  it('a redirect is not followed → http', async () => {
    up.reply('/301', { status: 301, body: '' });
    await expect(callJson('x', `${up.base}/301`, { timeoutMs: 2000 })).rejects.toMatchObject({ reason: 'http' });
  });

  it.each([
    ['garbage', '<html>502 Bad Gateway</html>'],
    ['empty', ''],
    ['truncated JSON', '{"access_token":"abc'],
    ['JSON array', '[{"errcode":0}]'],
    ['JSON string', '"ok"'],
    ['JSON number', '42'],
    ['JSON null', 'null'],
    ['errcode of the wrong type', '{"errcode":{"x":1}}'],
  ])('%s body → UpstreamUnavailable body', async (_name, body) => {
    up.reply('/bad', { body });
    const err = await failure(callJson('x', `${up.base}/bad`, { timeoutMs: 2000 }));
    expect(err).toBeInstanceOf(UpstreamUnavailable);
    expect(err).toMatchObject({ reason: 'body' });
  });

  it('slow headers with a small timeout → timeout', async () => {
    up.reply('/slow', { delayMs: 1000, body: '{}' });
    const t0 = Date.now();
    const err = await failure(callJson('x', `${up.base}/slow`, { timeoutMs: 100 }));
    expect(err).toBeInstanceOf(UpstreamUnavailable);
    expect(err).toMatchObject({ reason: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(900);
  });

  it('a fractional timeout (what is left of a request budget) is a timeout, not a crash', async () => {
    up.reply('/slow2', { delayMs: 1000, body: '{}' });
    const err = await failure(callJson('x', `${up.base}/slow2`, { timeoutMs: 80.6 }));
    expect(err).toMatchObject({ reason: 'timeout' });
  });

  it('slow body after prompt headers → timeout', async () => {
    up.reply('/slowbody', { bodyDelayMs: 1000, body: '{}' });
    await expect(callJson('x', `${up.base}/slowbody`, { timeoutMs: 100 })).rejects.toMatchObject({
      name: 'UpstreamUnavailable',
      reason: 'timeout',
    });
  });

  it('a body over 1 MiB is not read to the end → body', async () => {
    up.reply('/huge', { body: `{"access_token":"${'x'.repeat(1 << 20)}"}` });
    await expect(callJson('x', `${up.base}/huge`, { timeoutMs: 2000 })).rejects.toMatchObject({
      name: 'UpstreamUnavailable',
      reason: 'body',
    });
  });

  it('an unusable URL → network, without the URL', async () => {
    const err = await failure(callJson('cgi-bin/token', `http://[bad-host/x?secret=${SECRET}`, { timeoutMs: 100 }));
    expect(err).toMatchObject({ reason: 'network' });
    expectNoLeak(err, [SECRET]);
  });

  it('closed port → network', async () => {
    const base = await closedPortBase();
    const err = await failure(callJson('x', `${base}/cgi-bin/token`, { timeoutMs: 2000 }));
    expect(err).toBeInstanceOf(UpstreamUnavailable);
    expect(err).toMatchObject({ reason: 'network' });
  });
});

describe('callJson: errors never carry the URL', () => {
  it.each([
    ['errcode', { body: '{"errcode":40001,"errmsg":"invalid credential"}' }],
    ['http', { status: 502, body: 'bad gateway' }],
    ['body', { body: 'not json' }],
    ['timeout', { delayMs: 1000, body: '{}' }],
  ])('%s', async (_kind, reply) => {
    up.reply('/leak', reply);
    const url = `${up.base}/leak?appid=wx1&secret=${SECRET}&access_token=${TOKEN}`;
    const err = await failure(callJson('cgi-bin/token', url, { timeoutMs: 100 }));
    expectNoLeak(err, [SECRET, TOKEN, '127.0.0.1']);
    expect((err as Error).message).toContain('cgi-bin/token');
  });

  it('network', async () => {
    const base = await closedPortBase();
    const err = await failure(
      callJson('cgi-bin/token', `${base}/x?secret=${SECRET}&access_token=${TOKEN}`, { timeoutMs: 2000 }),
    );
    expect(err).toMatchObject({ reason: 'network' });
    expectNoLeak(err, [SECRET, TOKEN, '127.0.0.1']);
    expect((err as Error).message).toContain('cgi-bin/token');
  });
});

describe('upstreamUrl', () => {
  it('joins with exactly one slash and encodes query values', () => {
    expect(upstreamUrl('https://api.weixin.qq.com', '/cgi-bin/token')).toBe('https://api.weixin.qq.com/cgi-bin/token');
    expect(upstreamUrl('https://api.weixin.qq.com/', 'cgi-bin/token')).toBe('https://api.weixin.qq.com/cgi-bin/token');
    expect(upstreamUrl('http://h/base//', '/p', { a: 'x y&z=1+/é', b: '' })).toBe(
      'http://h/base/p?a=x%20y%26z%3D1%2B%2F%C3%A9&b=',
    );
  });
});

describe('the circuit of a host that stopped answering', () => {
  it('opens after 3 connection failures in a row: calls fail at once, then one trial decides, its failure doubling the wait', async () => {
    const base = await closedPortBase();
    const refused = () =>
      callJson('cgi-bin/token', `${base}/cgi-bin/token`, { timeoutMs: 2000 }).catch((e: unknown) => e);
    for (let i = 0; i < 3; i++) expect(await refused()).toMatchObject({ reason: 'network' });
    const started = performance.now();
    for (let i = 0; i < 50; i++) expect(await refused()).toMatchObject({ reason: 'circuit' });
    expect(performance.now() - started).toBeLessThan(100);
    await new Promise((r) => setTimeout(r, 1050));
    expect(await refused()).toMatchObject({ reason: 'network' }); // the trial
    expect(await refused()).toMatchObject({ reason: 'circuit' });
    await new Promise((r) => setTimeout(r, 1050));
    expect(await refused()).toMatchObject({ reason: 'circuit' }); // now open for 2 s
    await new Promise((r) => setTimeout(r, 1000));
    expect(await refused()).toMatchObject({ reason: 'network' });
  });

  it('closes at the first answer, and an answering host never opens it', async () => {
    up.reply('/ok', { body: '{"errcode":0}' });
    up.reply('/busy', { status: 502, body: 'busy' });
    for (let i = 0; i < 10; i++) {
      await expect(callJson('x', `${up.base}/busy`, { timeoutMs: 2000 })).rejects.toMatchObject({ reason: 'http' });
    }
    await expect(callJson('x', `${up.base}/ok`, { timeoutMs: 2000 })).resolves.toEqual({ errcode: 0 });
  });
});
