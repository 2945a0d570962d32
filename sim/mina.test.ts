/** The Mini Program module of the simulator against docs/protocol.md §3.1, §3.2 and §8. */
import { createDecipheriv } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simOpenid, simUnionid, WechatSim } from './index';

const MINA = { appid: 'wxfedcba0987654321', secret: 'secret-of-the-mini-program-000000' };
const MINA2 = { appid: 'wx0123456789abcdef', secret: 'secret-of-another-mini-program-00' };
const MP = { appid: 'wx1234567890abcdef', secret: 'secret-of-the-mp-app-000000000000' };

let sim: WechatSim;
beforeEach(async () => {
  sim = await WechatSim.start();
  sim.addApp(MINA.appid, MINA.secret, { type: 'mina' });
  sim.addApp(MINA2.appid, MINA2.secret, { type: 'mina' });
  sim.addApp(MP.appid, MP.secret);
});
afterEach(() => sim.close());

async function login(
  code: string,
  app = MINA,
  extra: Record<string, string> = {},
): Promise<{ contentType: string | null; json: Record<string, unknown> }> {
  const q = new URLSearchParams({
    appid: app.appid,
    secret: app.secret,
    js_code: code,
    grant_type: 'authorization_code',
    ...extra,
  });
  const res = await fetch(`${sim.url}/sns/jscode2session?${q}`);
  return { contentType: res.headers.get('content-type'), json: JSON.parse(await res.text()) };
}

/** What the official demo does (WXBizDataCrypt): AES-128-CBC, PKCS#7, JSON. */
function decrypt(sessionKey: string, data: { encryptedData: string; iv: string }): Record<string, unknown> {
  const d = createDecipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), Buffer.from(data.iv, 'base64'));
  return JSON.parse(Buffer.concat([d.update(Buffer.from(data.encryptedData, 'base64')), d.final()]).toString('utf8'));
}

describe('sns/jscode2session', () => {
  it('answers openid, unionid and a 16-byte session_key as text/plain JSON', async () => {
    const { contentType, json } = await login(sim.minaLogin(MINA.appid, 'ann'));
    expect(contentType).toMatch(/^text\/plain/);
    expect(json).toEqual({
      session_key: expect.stringMatching(/^[A-Za-z0-9+/]{22}==$/),
      openid: simOpenid(MINA.appid, 'ann'),
      unionid: simUnionid('ann'),
    });
    expect(json).not.toHaveProperty('errcode');
    expect(Buffer.from(json.session_key as string, 'base64')).toHaveLength(16);
    expect(sim.calls('jscode2session', MINA.appid)).toBe(1);
  });

  it('serves its errors as text/plain too', async () => {
    const { contentType, json } = await login('nope');
    expect(contentType).toMatch(/^text\/plain/);
    expect(json).toMatchObject({ errcode: 40029, errmsg: expect.stringMatching(/^invalid code, rid: /) });
  });

  it("codes are single use (40163), unknown or another app's are 40029, and die after 5 minutes (40029)", async () => {
    const code = sim.minaLogin(MINA.appid);
    expect((await login(code)).json).toHaveProperty('openid');
    expect((await login(code)).json.errcode).toBe(40163);
    expect((await login('0123456789abcdef0123456789abcdef')).json.errcode).toBe(40029);
    expect((await login(sim.minaLogin(MINA2.appid))).json.errcode).toBe(40029);

    const late = sim.minaLogin(MINA.appid);
    sim.advance(299_000);
    expect((await login(late)).json).toHaveProperty('openid');
    const dead = sim.minaLogin(MINA.appid);
    sim.advance(300_000);
    expect((await login(dead)).json.errcode).toBe(40029);
  });

  it('checks the app and its secret before the code', async () => {
    const code = sim.minaLogin(MINA.appid);
    expect((await login(code, { appid: MINA.appid, secret: 'wrong' })).json.errcode).toBe(40125);
    expect((await login(code, { appid: 'wx9999999999999999', secret: 'x' })).json.errcode).toBe(40013);
    expect((await login(code, MP)).json.errcode).toBe(40013); // an Official Account is no Mini Program
    expect((await login(code, MINA, { grant_type: 'client_credential' })).json.errcode).toBe(40002);
    expect((await login(code)).json).toHaveProperty('openid'); // none of those spent the code
  });

  it('keeps openid stable per (app, user) and unionid per user', async () => {
    const a1 = (await login(sim.minaLogin(MINA.appid, 'bob'))).json;
    const a2 = (await login(sim.minaLogin(MINA.appid, 'bob'))).json;
    const b = (await login(sim.minaLogin(MINA2.appid, 'bob'), MINA2)).json;
    expect(a2.openid).toBe(a1.openid);
    expect(b.openid).not.toBe(a1.openid);
    expect(b.unionid).toBe(a1.unionid);
    expect(a2.session_key).not.toBe(a1.session_key); // every login a new key
  });

  it('a Mini Program not bound to an open platform gets no unionid, neither from jscode2session nor in its data', async () => {
    sim.minaUnbind(MINA2.appid);
    const json = (await login(sim.minaLogin(MINA2.appid, 'ann'), MINA2)).json;
    expect(json).toEqual({ session_key: expect.any(String), openid: simOpenid(MINA2.appid, 'ann') });
    expect(decrypt(json.session_key as string, sim.minaUserData(MINA2.appid, 'ann'))).not.toHaveProperty('unionId');
    expect((await login(sim.minaLogin(MINA.appid, 'ann'))).json.unionid).toBe(simUnionid('ann')); // other apps keep theirs
  });

  it('refuses a user past 100 calls a minute (45011), other users unaffected, then recovers next minute', async () => {
    // Start the test at the beginning of a sim minute so the 101 calls fall in one minute.
    sim.advance(60_000 - (sim.now() % 60_000) + 100);
    for (let i = 0; i < 100; i++)
      expect((await login(sim.minaLogin(MINA.appid, 'busy'))).json).toHaveProperty('openid');
    expect((await login(sim.minaLogin(MINA.appid, 'busy'))).json.errcode).toBe(45011);
    expect((await login(sim.minaLogin(MINA.appid, 'calm'))).json).toHaveProperty('openid');
    sim.advance(60_000);
    expect((await login(sim.minaLogin(MINA.appid, 'busy'))).json).toHaveProperty('openid');
  });
});

describe('encrypted user data', () => {
  it("decrypts under the user's current session_key to their profile with a watermark for the app", async () => {
    const key = (await login(sim.minaLogin(MINA.appid, 'cy'))).json.session_key as string;
    const before = Math.floor(sim.now() / 1000);
    const profile = decrypt(key, sim.minaUserData(MINA.appid, 'cy'));
    expect(profile).toMatchObject({
      openId: simOpenid(MINA.appid, 'cy'),
      unionId: simUnionid('cy'),
      watermark: { appid: MINA.appid },
    });
    expect((profile.watermark as { timestamp: number }).timestamp).toBeGreaterThanOrEqual(before);
  });

  it('wx.login gives the key that encrypts the data before jscode2session is called (Wafer v1 sends both at once)', async () => {
    const code = sim.minaLogin(MINA.appid, 'eve');
    const data = sim.minaUserData(MINA.appid, 'eve');
    const key = (await login(code)).json.session_key as string;
    expect(decrypt(key, data)).toMatchObject({ openId: simOpenid(MINA.appid, 'eve') });
  });

  it('a newer wx.login replaces the key: new data no longer decrypts with the old one', async () => {
    const old = (await login(sim.minaLogin(MINA.appid, 'dee'))).json.session_key as string;
    const current = (await login(sim.minaLogin(MINA.appid, 'dee'))).json.session_key as string;
    expect(sim.minaSessionKey(MINA.appid, 'dee')).toBe(current);
    const data = sim.minaUserData(MINA.appid, 'dee');
    expect(decrypt(current, data)).toHaveProperty('openId');
    expect(() => decrypt(old, data)).toThrow();
  });

  it('is refused for a user who never logged in', () => {
    expect(() => sim.minaUserData(MINA.appid, 'ghost')).toThrow(/has not logged in/);
  });
});
