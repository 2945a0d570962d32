import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamUnavailable, WechatError } from './errors';
import { code2Session } from './mina';
import { startTestUpstream, type TestUpstream } from '../../test/support/raw-upstream';

let up: TestUpstream;
beforeAll(async () => {
  up = await startTestUpstream();
});
afterAll(() => up.close());

const PATH = '/sns/jscode2session';
const call = () => code2Session(up.base, 'wx5555555555555555', 'the-secret', 'the-code', 1000);
const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

describe('code2Session', () => {
  it('sends appid, secret, js_code and grant_type, and reads a text/plain JSON answer', async () => {
    up.reply(PATH, {
      contentType: 'text/plain',
      body: '{"session_key":"EYHiOw5v7tP4HSvxegKjmw==","openid":"o57y35dO3e95DXwQtZ9JuZWIjVRA"}',
    });
    expect(await call()).toEqual({ sessionKey: 'EYHiOw5v7tP4HSvxegKjmw==', openid: 'o57y35dO3e95DXwQtZ9JuZWIjVRA' });
    expect(up.received.at(-1)).toMatchObject({
      method: 'GET',
      query: {
        appid: 'wx5555555555555555',
        secret: 'the-secret',
        js_code: 'the-code',
        grant_type: 'authorization_code',
      },
    });
    up.reply(PATH, {
      contentType: 'text/plain',
      body: '{"session_key":"EYHiOw5v7tP4HSvxegKjmw==","openid":"o1","unionid":"u1","errcode":0}',
    });
    expect(await call()).toEqual({ sessionKey: 'EYHiOw5v7tP4HSvxegKjmw==', openid: 'o1', unionid: 'u1' });
  });

  it('throws WechatError on an errcode, never with the secret or code in its message', async () => {
    up.reply(PATH, { contentType: 'text/plain', body: '{"errcode":40163,"errmsg":"code been used, rid: 1"}' });
    const err = await failure(call());
    expect(err).toBeInstanceOf(WechatError);
    expect((err as WechatError).errcode).toBe(40163);
    expect((err as Error).message).not.toMatch(/the-secret|the-code/);
  });

  it('calls an answer without openid or a 16-byte session_key unavailable', async () => {
    for (const body of [
      '{"session_key":"EYHiOw5v7tP4HSvxegKjmw=="}',
      '{"openid":"o1","session_key":"c2hvcnQ="}',
      '{"openid":"o1"}',
    ]) {
      up.reply(PATH, { contentType: 'text/plain', body });
      const err = await failure(call());
      expect(err).toBeInstanceOf(UpstreamUnavailable);
      expect((err as UpstreamUnavailable).reason).toBe('body');
    }
  });
});
