import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamUnavailable, WechatError } from './errors';
import { createMpClient } from './mp';
import type { MpClient } from './mp';
import { closedPortBase, expectNoLeak, failure, startTestUpstream } from '../../test/support/raw-upstream';
import type { TestUpstream } from '../../test/support/raw-upstream';

let up: TestUpstream;
let mp: MpClient;
beforeAll(async () => {
  up = await startTestUpstream();
  mp = createMpClient(up.base);
});
afterAll(async () => {
  await up.close();
});
beforeEach(() => {
  up.received.length = 0;
});

const APPID = 'wx1234567890abcdef';
const SECRET = 'f00dfacecafebabe0123456789abcdef';
const TOKEN = '73_aBcDeFgHiJkLmNoPqRsTuVwXyZ-0123456789_tokenvalue';

describe('token (GET /cgi-bin/token, docs/protocol.md §1.1)', () => {
  it('sends the documented request and returns the token', async () => {
    up.reply('/cgi-bin/token', { body: '{"access_token":"AT1","expires_in":7200}' });
    await expect(mp.token(APPID, SECRET, 2000)).resolves.toEqual({ value: 'AT1', expiresIn: 7200 });
    expect(up.received).toHaveLength(1);
    expect(up.received[0]).toMatchObject({
      method: 'GET',
      path: '/cgi-bin/token',
      query: { grant_type: 'client_credential', appid: APPID, secret: SECRET },
      body: '',
    });
  });

  it('URL-encodes the parameters', async () => {
    up.reply('/cgi-bin/token', { body: '{"access_token":"AT1","expires_in":7200}' });
    const odd = 'a b&secret=x+y/z?#%';
    await mp.token('wx&id', odd, 2000);
    expect(up.received[0]?.query).toEqual({ grant_type: 'client_credential', appid: 'wx&id', secret: odd });
    expect(up.received[0]?.rawQuery).toBe(
      'grant_type=client_credential&appid=wx%26id&secret=a%20b%26secret%3Dx%2By%2Fz%3F%23%25',
    );
  });

  it('works with a base URL that ends with /', async () => {
    up.reply('/cgi-bin/token', { body: '{"access_token":"AT2","expires_in":7200}' });
    await expect(createMpClient(`${up.base}/`).token(APPID, SECRET, 2000)).resolves.toEqual({
      value: 'AT2',
      expiresIn: 7200,
    });
    expect(up.received[0]?.path).toBe('/cgi-bin/token');
  });

  it('passes a WeChat error through as WechatError', async () => {
    up.reply('/cgi-bin/token', { body: '{"errcode":40125,"errmsg":"invalid appsecret rid: 1"}' });
    const err = await failure(mp.token(APPID, SECRET, 2000));
    expect(err).toBeInstanceOf(WechatError);
    expect(err).toMatchObject({ endpoint: 'cgi-bin/token', errcode: 40125 });
    expectNoLeak(err, [SECRET, TOKEN]);
  });
});

describe('stableToken (POST /cgi-bin/stable_token, docs/protocol.md §1.2)', () => {
  it.each([false, true])('sends the documented JSON body (force_refresh %s)', async (force) => {
    up.reply('/cgi-bin/stable_token', { body: '{"access_token":"ST1","expires_in":345}' });
    await expect(mp.stableToken(APPID, SECRET, force, 2000)).resolves.toEqual({ value: 'ST1', expiresIn: 345 });
    const got = up.received[0];
    expect(got).toMatchObject({ method: 'POST', path: '/cgi-bin/stable_token', rawQuery: '' });
    expect(got?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(got?.body ?? '')).toStrictEqual({
      grant_type: 'client_credential',
      appid: APPID,
      secret: SECRET,
      force_refresh: force,
    });
  });

  it('passes 45009 through as WechatError', async () => {
    up.reply('/cgi-bin/stable_token', { body: '{"errcode":45009,"errmsg":"reach max api daily quota limit"}' });
    const err = await failure(mp.stableToken(APPID, SECRET, true, 2000));
    expect(err).toMatchObject({ name: 'WechatError', endpoint: 'cgi-bin/stable_token', errcode: 45009 });
    expectNoLeak(err, [SECRET, TOKEN]);
  });
});

describe('ticket (GET /cgi-bin/ticket/getticket, docs/protocol.md §1.3)', () => {
  it.each(['jsapi', 'wx_card'] as const)('sends the documented request (type %s)', async (type) => {
    up.reply('/cgi-bin/ticket/getticket', {
      body: '{"errcode":0,"errmsg":"ok","ticket":"bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA","expires_in":7200}',
    });
    await expect(mp.ticket(TOKEN, type, 2000)).resolves.toEqual({
      value: 'bxLdikRXVbTPdHSM05e5u5sUoXNKd8-41ZO3MhKoyN5OfkWITDGgnr2fwJ0m9E8NYzWKVZvdVtaUgWvsdshFKA',
      expiresIn: 7200,
    });
    expect(up.received[0]).toMatchObject({
      method: 'GET',
      path: '/cgi-bin/ticket/getticket',
      query: { access_token: TOKEN, type },
      body: '',
    });
  });

  it('passes 40001 through as WechatError without the token in the message', async () => {
    up.reply('/cgi-bin/ticket/getticket', {
      body: '{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest"}',
    });
    const err = await failure(mp.ticket(TOKEN, 'jsapi', 2000));
    expect(err).toMatchObject({ name: 'WechatError', endpoint: 'cgi-bin/ticket/getticket', errcode: 40001 });
    expectNoLeak(err, [SECRET, TOKEN]);
  });
});

describe('success bodies without a usable credential → body', () => {
  it.each([
    ['no access_token', '{"expires_in":7200}'],
    ['empty access_token', '{"access_token":"","expires_in":7200}'],
    ['numeric access_token', '{"access_token":12345,"expires_in":7200}'],
    ['no expires_in', '{"access_token":"AT"}'],
    ['zero expires_in', '{"access_token":"AT","expires_in":0}'],
    ['negative expires_in', '{"access_token":"AT","expires_in":-5}'],
    ['string expires_in', '{"access_token":"AT","expires_in":"7200"}'],
    ['errcode 0 and nothing else', '{"errcode":0,"errmsg":"ok"}'],
  ])('token: %s', async (_name, body) => {
    up.reply('/cgi-bin/token', { body });
    up.reply('/cgi-bin/stable_token', { body });
    for (const call of [() => mp.token(APPID, SECRET, 2000), () => mp.stableToken(APPID, SECRET, false, 2000)]) {
      const err = await failure(call());
      expect(err).toBeInstanceOf(UpstreamUnavailable);
      expect(err).toMatchObject({ reason: 'body' });
    }
  });

  it.each([
    ['no ticket', '{"errcode":0,"errmsg":"ok","expires_in":7200}'],
    ['empty ticket', '{"errcode":0,"errmsg":"ok","ticket":"","expires_in":7200}'],
    ['access_token instead of ticket', '{"access_token":"AT","expires_in":7200}'],
    ['no expires_in', '{"errcode":0,"errmsg":"ok","ticket":"T"}'],
  ])('ticket: %s', async (_name, body) => {
    up.reply('/cgi-bin/ticket/getticket', { body });
    await expect(mp.ticket(TOKEN, 'jsapi', 2000)).rejects.toMatchObject({
      name: 'UpstreamUnavailable',
      endpoint: 'cgi-bin/ticket/getticket',
      reason: 'body',
    });
  });
});

describe('transport failures name the endpoint and nothing secret', () => {
  it('HTTP 503 on token', async () => {
    up.reply('/cgi-bin/token', { status: 503, body: '' });
    const err = await failure(mp.token(APPID, SECRET, 2000));
    expect(err).toMatchObject({ endpoint: 'cgi-bin/token', reason: 'http', status: 503 });
    expectNoLeak(err, [SECRET, TOKEN]);
  });

  it('timeout on stable_token', async () => {
    up.reply('/cgi-bin/stable_token', { delayMs: 1000, body: '{}' });
    const err = await failure(mp.stableToken(APPID, SECRET, false, 100));
    expect(err).toMatchObject({ endpoint: 'cgi-bin/stable_token', reason: 'timeout' });
    expectNoLeak(err, [SECRET, TOKEN]);
  });

  it('garbage on ticket', async () => {
    up.reply('/cgi-bin/ticket/getticket', { contentType: 'text/html', body: '<html>oops</html>' });
    const err = await failure(mp.ticket(TOKEN, 'wx_card', 2000));
    expect(err).toMatchObject({ endpoint: 'cgi-bin/ticket/getticket', reason: 'body' });
    expectNoLeak(err, [SECRET, TOKEN]);
  });

  it('closed port on every call', async () => {
    const dead = createMpClient(await closedPortBase());
    const calls = [
      () => dead.token(APPID, SECRET, 2000),
      () => dead.stableToken(APPID, SECRET, true, 2000),
      () => dead.ticket(TOKEN, 'jsapi', 2000),
    ];
    for (const call of calls) {
      const err = await failure(call());
      expect(err).toMatchObject({ name: 'UpstreamUnavailable', reason: 'network' });
      expectNoLeak(err, [SECRET, TOKEN]);
    }
  });
});
