import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamUnavailable, WechatError } from './errors';
import { createQrcode, qrcodeBody, showQrcodeUrl } from './qrcode';
import { expectNoLeak, failure, startTestUpstream, type TestUpstream } from '../../test/support/raw-upstream';

let up: TestUpstream;
beforeAll(async () => {
  up = await startTestUpstream();
});
afterAll(async () => {
  await up.close();
});
beforeEach(() => {
  up.received.length = 0;
});

const TOKEN = '73_aBc+De/Fg=_tokenvalue';
const PATH = '/cgi-bin/qrcode/create';

describe('qrcodeBody (docs/protocol.md §2.7)', () => {
  it('builds the four documented request shapes', () => {
    expect(qrcodeBody({ scene: 123, permanent: false, expireSeconds: 604800 })).toEqual({
      expire_seconds: 604800,
      action_name: 'QR_SCENE',
      action_info: { scene: { scene_id: 123 } },
    });
    expect(qrcodeBody({ scene: 'test', permanent: false, expireSeconds: 604800 })).toEqual({
      expire_seconds: 604800,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'test' } },
    });
    expect(qrcodeBody({ scene: 123, permanent: true })).toEqual({
      action_name: 'QR_LIMIT_SCENE',
      action_info: { scene: { scene_id: 123 } },
    });
    expect(qrcodeBody({ scene: 'test', permanent: true })).toEqual({
      action_name: 'QR_LIMIT_STR_SCENE',
      action_info: { scene: { scene_str: 'test' } },
    });
  });

  it('leaves expire_seconds out when not given (WeChat defaults to 60) and never sends it for permanent codes', () => {
    expect(qrcodeBody({ scene: 1, permanent: false })).not.toHaveProperty('expire_seconds');
    expect(qrcodeBody({ scene: 1, permanent: true, expireSeconds: 60 })).not.toHaveProperty('expire_seconds');
  });
});

describe('createQrcode (POST /cgi-bin/qrcode/create)', () => {
  it('posts the JSON body with the token in the query and returns ticket, url and expire_seconds', async () => {
    up.reply(PATH, {
      body: '{"ticket":"gQH47joAAA==","expire_seconds":60,"url":"http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI"}',
    });
    await expect(createQrcode(up.base, TOKEN, { scene: 'a', permanent: false }, 2000)).resolves.toEqual({
      ticket: 'gQH47joAAA==',
      url: 'http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI',
      expireSeconds: 60,
    });
    expect(up.received).toHaveLength(1);
    expect(up.received[0]).toMatchObject({ method: 'POST', path: PATH, query: { access_token: TOKEN } });
    expect(up.received[0]?.rawQuery).toBe(`access_token=${encodeURIComponent(TOKEN)}`);
    expect(up.received[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(up.received[0]?.body ?? '')).toEqual({
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'a' } },
    });
  });

  it('a permanent code has no expire_seconds', async () => {
    up.reply(PATH, { body: '{"ticket":"T","url":"http://weixin.qq.com/q/x"}' });
    await expect(createQrcode(up.base, TOKEN, { scene: 1, permanent: true }, 2000)).resolves.toEqual({
      ticket: 'T',
      url: 'http://weixin.qq.com/q/x',
    });
  });

  it('passes errcodes through as WechatError, naming the endpoint and never the token', async () => {
    up.reply(PATH, { body: '{"errcode":40053,"errmsg":"invalid action info rid: 1"}' });
    const err = await failure(createQrcode(up.base, TOKEN, { scene: 1, permanent: false }, 2000));
    expect(err).toBeInstanceOf(WechatError);
    expect(err).toMatchObject({ endpoint: 'cgi-bin/qrcode/create', errcode: 40053 });
    expectNoLeak(err, [TOKEN, up.base]);
  });

  it('a success body without a ticket, url or a temporary expire_seconds is unusable', async () => {
    for (const body of [
      '{"url":"u","expire_seconds":60}',
      '{"ticket":"","url":"u","expire_seconds":60}',
      '{"ticket":"T","expire_seconds":60}',
      '{"ticket":"T","url":"u"}',
      '{"ticket":"T","url":"u","expire_seconds":"60"}',
    ]) {
      up.reply(PATH, { body });
      const err = await failure(createQrcode(up.base, TOKEN, { scene: 1, permanent: false }, 2000));
      expect(err).toBeInstanceOf(UpstreamUnavailable);
      expect(err).toMatchObject({ reason: 'body' });
    }
  });
});

describe('showQrcodeUrl', () => {
  it('is the base plus cgi-bin/showqrcode?ticket= and the URL-encoded ticket', () => {
    const ticket = 'gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw+/==';
    expect(showQrcodeUrl('https://mp.weixin.qq.com', ticket)).toBe(
      `https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`,
    );
    expect(showQrcodeUrl('http://127.0.0.1:9/', 'a+b')).toBe('http://127.0.0.1:9/cgi-bin/showqrcode?ticket=a%2Bb');
  });
});
