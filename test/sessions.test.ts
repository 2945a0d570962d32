/**
 * Mini Program sessions through the real HTTP server and the simulator: the Wafer sequences,
 * forged / expired / SQL-looking sessions, encrypted data, second devices, the session_key sealed
 * and out of the logs. Over 400 lines: each of those is its own case. docs/design.md §3.2, §11.1.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { cipherFor } from '../lib/crypto/at-rest';
import { EXPIRED_GRACE_MS } from '../lib/sessions/mina';
import { countStoreOps, type CountingStore } from '../lib/store/counting';
import { createMemoryStore } from '../lib/store/memory';
import { openStore } from '../lib/store/open';
import type { Store } from '../lib/store/port';
import { freshMysql } from './support/mysql';
import { simOpenid, simUnionid } from '../sim';
import { MP, startStack, type Stack } from './support/stack';

const MINA = { appid: 'wx5555555555555555', secret: 'mina-secret-5555' };
const MINA2 = { appid: 'wx6666666666666666', secret: 'mina-secret-6666' };
const MASTER_KEY = randomBytes(32);
const MIN = 60_000;

let stack: Stack;
let counting: CountingStore;
afterEach(() => stack?.close());

/** MP (default Official Account) and one Mini Program, with a master key, on a counted memory store unless given one. */
async function start(
  opts: { sessions?: Record<string, unknown>; apps?: unknown[]; masterKey?: boolean; store?: Store } = {},
): Promise<Stack> {
  counting = countStoreOps(opts.store ?? createMemoryStore());
  stack = await startStack({
    store: counting.store,
    env: opts.masterKey === false ? {} : { WECRED_MASTER_KEY: MASTER_KEY.toString('base64') },
    config: {
      apps: opts.apps ?? [
        { ...MP, type: 'mp', default: true },
        { ...MINA, type: 'mina' },
      ],
      ...(opts.sessions ? { sessions: opts.sessions } : {}),
    },
  });
  return stack;
}

/** A public envelope call (no realm), as a Mini Program's backend or Wafer client sends it. */
const call = (name: string, para: Record<string, unknown>) => stack.envelope(name, para, null);

/** wx.login and wx.getUserInfo in the Mini Program, then qcloud.cam.id_skey. */
async function login(user = 'ann', extra: Record<string, unknown> = {}) {
  const code = stack.sim.minaLogin(MINA.appid, user);
  const { encryptedData, iv } = stack.sim.minaUserData(MINA.appid, user);
  return (await call('qcloud.cam.id_skey', { code, encrypt_data: encryptedData, iv, ...extra })).json;
}

/** AES-128-CBC + PKCS#7 of `plaintext` under `key` (what WeChat does), for data WeChat would not send. */
function encryptFor(key: string, plaintext: string): { encryptedData: string; iv: string } {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-128-cbc', Buffer.from(key, 'base64'), iv);
  return {
    encryptedData: Buffer.concat([c.update(plaintext, 'utf8'), c.final()]).toString('base64'),
    iv: iv.toString('base64'),
  };
}

const returnCode = (res: { json: any }) => res.json.returnCode as number;

describe('a Wafer v1 client', () => {
  it('logs in without an appid (qcloud.cam.id_skey with encrypt_data/iv), then qcloud.cam.auth, then qcloud.cam.decrypt', async () => {
    await start();
    const res = await login('ann');
    expect(res).toMatchObject({ version: 1, componentName: 'MA', returnCode: 0 });
    const profile = {
      openId: simOpenid(MINA.appid, 'ann'),
      unionId: simUnionid('ann'),
      nickName: '微信用户 ann',
      watermark: expect.objectContaining({ appid: MINA.appid }),
    };
    expect(res.returnData).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9]{24}$/),
      skey: expect.stringMatching(/^[A-Za-z0-9]{43}$/),
      appid: MINA.appid,
      unionid: simUnionid('ann'),
      user_info: expect.objectContaining(profile),
      duration: 30 * 86400,
    });
    const { id, skey } = res.returnData;
    expect(stack.sim.calls('jscode2session', MINA.appid)).toBe(1); // answered as text/plain

    const auth = (await call('qcloud.cam.auth', { id, skey })).json;
    expect(auth.returnCode).toBe(0);
    expect(auth.returnData).toEqual({
      user_info: res.returnData.user_info,
      appid: MINA.appid,
      openid: simOpenid(MINA.appid, 'ann'),
      unionid: simUnionid('ann'),
    });

    const data = stack.sim.minaUserData(MINA.appid, 'ann');
    for (const name of ['qcloud.cam.decrypt', 'session.decrypt']) {
      const dec = (await call(name, { id, skey, encrypt_data: data.encryptedData, iv: data.iv })).json;
      expect(dec.returnCode).toBe(0);
      expect(dec.returnData).toMatchObject(profile);
    }
  });

  it('may log in with only a code (no user_info then), or with `interface.appid` beside para', async () => {
    await start({
      apps: [
        { ...MINA, type: 'mina' },
        { ...MINA2, type: 'mina', default: true },
      ],
    });
    stack.sim.addApp(MINA2.appid, MINA2.secret, { type: 'mina' });
    const bare = (await call('session.login', { code: stack.sim.minaLogin(MINA2.appid, 'bo') })).json;
    expect(bare.returnCode).toBe(0);
    expect(bare.returnData).not.toHaveProperty('user_info');
    expect(bare.returnData.appid).toBe(MINA2.appid); // the default Mini Program
    const check = (await call('session.check', { id: bare.returnData.id, skey: bare.returnData.skey })).json;
    expect(check.returnData).toEqual({
      user_info: null,
      appid: MINA2.appid,
      openid: simOpenid(MINA2.appid, 'bo'),
      unionid: simUnionid('bo'),
    });

    const body = JSON.stringify({
      version: 1,
      componentName: 'MA',
      interface: {
        interfaceName: 'qcloud.cam.id_skey',
        appid: MINA.appid,
        para: { code: stack.sim.minaLogin(MINA.appid, 'bo') },
      },
    });
    const beside = (await stack.post('/', body)).json;
    expect(beside.returnData.appid).toBe(MINA.appid);
  });

  it('refuses an Official Account appid, and needs encrypt_data and iv together', async () => {
    await start();
    expect((await call('session.login', { appid: MP.appid, code: 'x' })).json).toMatchObject({
      returnCode: 1003,
      returnMessage: expect.stringContaining('Mini Program'),
    });
    expect((await call('session.login', { code: 'x', encrypt_data: 'AAAA' })).json).toMatchObject({
      returnCode: 1003,
      returnMessage: 'para.iv is required with para.encrypt_data',
    });
    expect((await call('session.login', {})).json).toMatchObject({
      returnCode: 1003,
      returnMessage: 'para.code is required',
    });
    expect((await call('session.check', { id: 5, skey: 'x' })).json).toMatchObject({
      returnCode: 1003,
      returnMessage: 'para.id must be a string',
    });
    expect((await call('session.check', { skey: 'x' })).json).toMatchObject({
      returnCode: 1003,
      returnMessage: 'para.id is required',
    });
    expect((await call('session.decrypt', { id: 'a', skey: 'b', iv: 'AAAA' })).json).toMatchObject({
      returnCode: 1003,
      returnMessage: 'para.encrypt_data is required',
    });
    expect(stack.sim.calls('jscode2session')).toBe(0);
  });

  it('empty id or skey (what older wafer-node-sdk sends when the session headers are missing) → 60012, so the client logs in again', async () => {
    await start();
    const a = (await login('ann')).returnData;
    for (const para of [
      { id: '', skey: '' },
      { id: a.id, skey: '' },
      { id: '', skey: a.skey },
    ]) {
      expect((await call('qcloud.cam.auth', para)).json).toMatchObject({
        returnCode: 60012,
        error: { code: 'session_invalid' },
      });
    }
  });

  it('malformed encrypt_data or iv → 1003 naming the field before jscode2session is called: the code is not spent', async () => {
    await start();
    const code = stack.sim.minaLogin(MINA.appid, 'ann');
    const good = stack.sim.minaUserData(MINA.appid, 'ann');
    const cases = [
      { para: { encrypt_data: good.encryptedData, iv: 'AAAA' }, message: 'para.iv must be base64 of 16 bytes' },
      {
        para: { encrypt_data: good.encryptedData, iv: `${good.iv.slice(0, -2)}!=` },
        message: 'para.iv must be base64 of 16 bytes',
      },
      {
        para: { encrypt_data: 'bm90IGJsb2Nrcw==', iv: good.iv },
        message: 'para.encrypt_data must be base64 of whole 16-byte blocks',
      },
      {
        para: { encrypt_data: good.encryptedData.replace('+', ' '), iv: good.iv },
        message: 'para.encrypt_data must be base64 of whole 16-byte blocks',
      },
    ];
    for (const { para, message } of cases) {
      expect((await call('qcloud.cam.id_skey', { code, ...para })).json).toMatchObject({
        returnCode: 1003,
        returnMessage: message,
      });
    }
    expect(stack.sim.calls('jscode2session')).toBe(0);
    const res = (await call('qcloud.cam.id_skey', { code, encrypt_data: good.encryptedData, iv: good.iv })).json;
    expect(res.returnCode).toBe(0); // the same code still works

    const { id, skey } = res.returnData;
    for (const name of ['qcloud.cam.decrypt', 'qcloud.cam.userinfo']) {
      for (const { para, message } of cases)
        expect((await call(name, { id, skey, ...para })).json).toMatchObject({
          returnCode: 1003,
          returnMessage: message,
        });
    }
  });
});

describe("a session that is not the caller's", () => {
  it('forged, truncated or borrowed skeys, unknown ids and another app → 60012', async () => {
    await start();
    const a = (await login('ann')).returnData;
    const b = (await login('bob')).returnData;
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const cases = [
      { id: a.id, skey: flip(a.skey) },
      { id: a.id, skey: a.skey.slice(0, -1) },
      { id: a.id, skey: a.skey.slice(0, 16) },
      { id: a.id, skey: `${a.skey}x` },
      { id: a.id, skey: b.skey },
      { id: flip(a.id), skey: a.skey },
      { id: a.id, skey: a.skey, appid: MP.appid },
    ];
    for (const para of cases) {
      const res = (await call('qcloud.cam.auth', para)).json;
      expect(res).toMatchObject({ returnCode: 60012, returnData: '', error: { code: 'session_invalid' } });
      expect(res.returnMessage).not.toContain(a.skey.slice(0, 16));
    }
    expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: a.skey }))).toBe(0);
  });

  it('SQL-looking ids and skeys are just unknown sessions, also when they have the shape of real ones (and reach the store)', async () => {
    await start();
    const a = (await login('ann')).returnData;
    const shaped = [
      'SELECTxFROMxrecordsxWHER',
      'DROPTABLErecords00000000',
      a.id.slice(0, 23) + (a.id.endsWith('A') ? 'B' : 'A'),
    ];
    counting.reset();
    for (const id of shaped) {
      expect(id).toMatch(/^[A-Za-z0-9]{24}$/);
      expect(returnCode(await call('qcloud.cam.auth', { id, skey: a.skey }))).toBe(60012);
    }
    expect(counting.byOp().getRecord).toBeGreaterThanOrEqual(shaped.length);
    for (const id of ["' OR 1=1 --", '1; DROP TABLE records; --', '%', '*', `${a.id}' OR '1'='1`, 'session:x']) {
      expect(returnCode(await call('qcloud.cam.auth', { id, skey: a.skey }))).toBe(60012);
      expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: `${id}` }))).toBe(60012);
    }
    expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: a.skey }))).toBe(0);
  });
});

describe('expiry', () => {
  it('ends a session after idleSeconds without a visit (60011); visits keep it alive', async () => {
    await start({ sessions: { idleSeconds: 3600, maxAgeSeconds: 86400 } });
    const a = (await login('ann')).returnData;
    expect(a.duration).toBe(3600);
    const auth = () => call('qcloud.cam.auth', { id: a.id, skey: a.skey }).then(returnCode);
    stack.sim.advance(59 * MIN);
    expect(await auth()).toBe(0);
    stack.sim.advance(59 * MIN); // 118 minutes after login, 59 after the last visit
    expect(await auth()).toBe(0);
    stack.sim.advance(61 * MIN);
    expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json).toMatchObject({
      returnCode: 60011,
      error: { code: 'session_expired' },
    });
    const data = stack.sim.minaUserData(MINA.appid, 'ann');
    expect(
      returnCode(
        await call('qcloud.cam.decrypt', { id: a.id, skey: a.skey, encrypt_data: data.encryptedData, iv: data.iv }),
      ),
    ).toBe(60011);
  });

  it('a session idle for longer than the grace period after it ended is still known as expired while its record lives', async () => {
    await start({ sessions: { idleSeconds: 3600, maxAgeSeconds: 30 * 86400 } });
    const a = (await login('ann')).returnData;
    stack.sim.advance(60 * MIN + EXPIRED_GRACE_MS + MIN); // the last visit's record is gone, the session's is not
    expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json).toMatchObject({
      returnCode: 60011,
      error: { code: 'session_expired' },
    });
  });

  it("measures each session's idle time from its own last visit", async () => {
    await start({ sessions: { idleSeconds: 3600, maxAgeSeconds: 86400 } });
    const a = (await login('ann')).returnData;
    stack.sim.advance(30 * MIN);
    await login('bob');
    stack.sim.advance(31 * MIN);
    expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json).toMatchObject({
      returnCode: 60011,
      returnMessage: 'the session expired: log in again',
    });
  });

  it('ends a session maxAgeSeconds after its login however much it is used, still known as expired for the grace period', async () => {
    await start({ sessions: { idleSeconds: 3600, maxAgeSeconds: 86400 } });
    const a = (await login('ann')).returnData;
    const auth = () => call('qcloud.cam.auth', { id: a.id, skey: a.skey }).then(returnCode);
    // A visit every 50 minutes (idle 60) until 23h20m, then 50 minutes more: past the day.
    for (let visit = 1; visit <= 28; visit++) {
      stack.sim.advance(50 * MIN);
      expect(await auth()).toBe(0);
    }
    stack.sim.advance(50 * MIN);
    expect(await auth()).toBe(60011);
    // A forged skey for an expired session is not told that it expired.
    expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: 'A'.repeat(43) }))).toBe(60012);
    stack.sim.advance(EXPIRED_GRACE_MS - 30 * MIN);
    expect(await auth()).toBe(60011);
    stack.sim.advance(60 * MIN);
    expect(await auth()).toBe(60012); // forgotten
  });

  it('writes the last visit at most once a minute', async () => {
    await start();
    const a = (await login('ann')).returnData;
    counting.reset();
    for (let i = 0; i < 5; i++) expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: a.skey }))).toBe(0);
    stack.sim.advance(MIN);
    for (let i = 0; i < 5; i++) expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: a.skey }))).toBe(0);
    expect(counting.byOp().putRecord).toBe(1);
  });

  it('at the smallest idleSeconds (60), a session checked every 30 s stays alive; a minute without a check ends it', async () => {
    await start({ sessions: { idleSeconds: 60 } });
    const a = (await login('ann')).returnData;
    const auth = () => call('qcloud.cam.auth', { id: a.id, skey: a.skey }).then(returnCode);
    for (let i = 0; i < 20; i++) {
      stack.sim.advance(30_000);
      expect(await auth()).toBe(0);
    }
    stack.sim.advance(60_000);
    expect(await auth()).toBe(60011);
  });
});

describe('encrypted data', () => {
  it('tampered ciphertext or a foreign watermark at login → 60021, and nothing is stored', async () => {
    await start();
    const code = stack.sim.minaLogin(MINA.appid, 'ann');
    const good = stack.sim.minaUserData(MINA.appid, 'ann');
    const bytes = Buffer.from(good.encryptedData, 'base64');
    bytes[bytes.length - 20]! ^= 0x5a;
    counting.reset();
    const tampered = (await call('qcloud.cam.id_skey', { code, encrypt_data: bytes.toString('base64'), iv: good.iv }))
      .json;
    expect(tampered).toMatchObject({ returnCode: 60021, returnData: '', error: { code: 'decrypt_failed' } });

    // Well encrypted under the user's key, but another app's data.
    const code2 = stack.sim.minaLogin(MINA.appid, 'ann');
    const foreign = encryptFor(
      stack.sim.minaSessionKey(MINA.appid, 'ann')!,
      JSON.stringify({ openId: 'o', watermark: { appid: MINA2.appid, timestamp: 1 } }),
    );
    const watermark = (
      await call('qcloud.cam.id_skey', { code: code2, encrypt_data: foreign.encryptedData, iv: foreign.iv })
    ).json;
    expect(watermark).toMatchObject({ returnCode: 60021, returnMessage: tampered.returnMessage });

    expect(stack.sim.calls('jscode2session', MINA.appid)).toBe(2);
    expect(counting.byOp().putRecord).toBe(0);
    expect(counting.byOp().deleteRecord).toBe(0);
  });

  it("data carrying another user's openId at login → 60021, nothing stored; a unionId in the data never becomes the session's nor the user_info's", async () => {
    await start();
    // Both well encrypted under ann's key with a fitting watermark: what a caller choosing the iv can produce.
    const sealed = (body: Record<string, unknown>) =>
      encryptFor(
        stack.sim.minaSessionKey(MINA.appid, 'ann')!,
        JSON.stringify({ ...body, watermark: { appid: MINA.appid, timestamp: 1 } }),
      );
    const code = stack.sim.minaLogin(MINA.appid, 'ann');
    const bob = sealed({ openId: simOpenid(MINA.appid, 'bob'), unionId: simUnionid('bob') });
    counting.reset();
    const refused = (await call('qcloud.cam.id_skey', { code, encrypt_data: bob.encryptedData, iv: bob.iv })).json;
    expect(refused).toMatchObject({ returnCode: 60021, error: { code: 'decrypt_failed' } });
    expect(counting.byOp().putRecord).toBe(0);

    const code2 = stack.sim.minaLogin(MINA.appid, 'ann');
    const own = sealed({ openId: simOpenid(MINA.appid, 'ann'), unionId: 'u-from-data' });
    const res = (await call('qcloud.cam.id_skey', { code: code2, encrypt_data: own.encryptedData, iv: own.iv })).json;
    expect(res.returnCode).toBe(0);
    expect(res.returnData).toMatchObject({ unionid: simUnionid('ann'), user_info: { unionId: simUnionid('ann') } });
    expect(
      (await call('qcloud.cam.auth', { id: res.returnData.id, skey: res.returnData.skey })).json.returnData,
    ).toMatchObject({ openid: simOpenid(MINA.appid, 'ann'), unionid: simUnionid('ann') });
  });

  it("session.decrypt with a foreign watermark, tampered data, or data under a newer wx.login's key → 60021", async () => {
    await start();
    const a = (await login('ann')).returnData;
    const key = stack.sim.minaSessionKey(MINA.appid, 'ann')!;
    const decrypt = (d: { encryptedData: string; iv: string }) =>
      call('qcloud.cam.decrypt', { id: a.id, skey: a.skey, encrypt_data: d.encryptedData, iv: d.iv }).then(returnCode);
    expect(
      await decrypt(
        encryptFor(key, JSON.stringify({ stepInfoList: [], watermark: { appid: MINA.appid, timestamp: 1 } })),
      ),
    ).toBe(0);
    expect(await decrypt(encryptFor(key, JSON.stringify({ watermark: { appid: MINA2.appid, timestamp: 1 } })))).toBe(
      60021,
    );
    expect(
      await decrypt(
        encryptFor(
          key,
          JSON.stringify({ openId: simOpenid(MINA.appid, 'bob'), watermark: { appid: MINA.appid, timestamp: 1 } }),
        ),
      ),
    ).toBe(60021);
    expect(
      await decrypt(
        encryptFor(key, JSON.stringify({ phoneNumber: '13800138000', watermark: { appid: MINA.appid, timestamp: 1 } })),
      ),
    ).toBe(0);
    const tampered = Buffer.from(stack.sim.minaUserData(MINA.appid, 'ann').encryptedData, 'base64');
    tampered[tampered.length - 20]! ^= 0x5a;
    expect(await decrypt({ encryptedData: tampered.toString('base64'), iv: 'AAAAAAAAAAAAAAAAAAAAAA==' })).toBe(60021);
    stack.sim.minaLogin(MINA.appid, 'ann'); // wx.login again: WeChat replaced the session_key
    expect(await decrypt(stack.sim.minaUserData(MINA.appid, 'ann'))).toBe(60021);
    expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: a.skey }))).toBe(0); // the session itself stands
  });
});

describe("codes and WeChat's refusals", () => {
  it("a reused or unknown code → 40029 with WeChat's errcode beside it", async () => {
    await start();
    const code = stack.sim.minaLogin(MINA.appid, 'ann');
    expect(returnCode(await call('qcloud.cam.id_skey', { code }))).toBe(0);
    expect((await call('qcloud.cam.id_skey', { code })).json).toMatchObject({
      returnCode: 40029,
      error: { code: 'bad_code', errcode: 40163 },
    });
    expect((await call('qcloud.cam.id_skey', { code: 'no-such-code' })).json).toMatchObject({
      returnCode: 40029,
      error: { errcode: 40029 },
    });
  });

  it('45011 (per-user minute limit) → 1005 with the errcode; a wrong secret → config_fault', async () => {
    await start();
    stack.sim.fault('jscode2session', { errcode: 45011 });
    expect((await call('qcloud.cam.id_skey', { code: stack.sim.minaLogin(MINA.appid) })).json).toMatchObject({
      returnCode: 1005,
      error: { errcode: 45011 },
    });
    expect(stack.sim.calls('jscode2session')).toBe(1); // no blind retry: the code may be spent
    await stack.close();
    stack = await startStack({
      env: { WECRED_MASTER_KEY: MASTER_KEY.toString('base64') },
      config: { apps: [{ ...MINA, type: 'mina' }] },
    });
    stack.sim.addApp(MINA.appid, 'another-secret', { type: 'mina' });
    expect((await call('qcloud.cam.id_skey', { code: stack.sim.minaLogin(MINA.appid) })).json).toMatchObject({
      returnCode: 7302,
      error: { errcode: 40125 },
      returnMessage: `sns/jscode2session for ${MINA.appid}: WeChat refused this app's configuration (errcode 40125): check its appid, secret and IP allow-list`,
    });
  });

  it('waits for WeChat no longer than upstream.timeoutMs, and counts the call', async () => {
    await start();
    stack.sim.fault('jscode2session', { delayMs: 1500 }); // timeoutMs is 1000, the request's budget 4000
    expect((await call('qcloud.cam.id_skey', { code: stack.sim.minaLogin(MINA.appid) })).json).toMatchObject({
      returnCode: 1005,
    });
    expect(stack.logs.filter((l) => l.event === 'request').at(-1)).toMatchObject({ upstream: 1 });
  });

  it('without WECRED_MASTER_KEY, login is a config fault naming it, and the code is not spent', async () => {
    await start({ masterKey: false });
    const res = (await call('qcloud.cam.id_skey', { code: stack.sim.minaLogin(MINA.appid) })).json;
    expect(res).toMatchObject({ returnCode: 7302, error: { code: 'config_fault' } });
    expect(res.returnMessage).toContain('WECRED_MASTER_KEY');
    expect(stack.sim.calls('jscode2session')).toBe(0);
  });
});

describe('several devices', () => {
  it('a second login of the same user keeps the first session', async () => {
    await start();
    const phone = (await login('ann')).returnData;
    const pad = (await login('ann')).returnData;
    expect(pad.id).not.toBe(phone.id);
    expect(returnCode(await call('qcloud.cam.auth', { id: phone.id, skey: phone.skey }))).toBe(0);
    expect(returnCode(await call('qcloud.cam.auth', { id: pad.id, skey: pad.skey }))).toBe(0);
  });

  it('sessions.singleSession: the newer login ends the older session; other users are untouched', async () => {
    await start({ sessions: { singleSession: true } });
    const phone = (await login('ann')).returnData;
    const other = (await login('bob')).returnData;
    const pad = (await login('ann')).returnData;
    expect(returnCode(await call('qcloud.cam.auth', { id: phone.id, skey: phone.skey }))).toBe(60012);
    expect(returnCode(await call('qcloud.cam.auth', { id: pad.id, skey: pad.skey }))).toBe(0);
    expect(returnCode(await call('qcloud.cam.auth', { id: other.id, skey: other.skey }))).toBe(0);
    expect(await stack.store.getRecord(`session:${phone.id}`, stack.sim.now())).toBeNull();
  });

  it('a session whose user has logged in anew since is over under singleSession only, saying so', async () => {
    for (const singleSession of [true, false]) {
      await start({ sessions: { singleSession } });
      const a = (await login('ann')).returnData;
      // Another device's login took the user's place, and its deletion of this session has not landed yet.
      const userKey = `session-user:${MINA.appid}:${simOpenid(MINA.appid, 'ann')}`;
      await stack.store.putRecord(userKey, 'x'.repeat(24), stack.sim.now() + 86_400_000, stack.sim.now());
      expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json).toMatchObject(
        singleSession
          ? {
              returnCode: 60012,
              returnMessage: 'the session was ended by a newer login of this user: log in again',
            }
          : { returnCode: 0 },
      );
      await stack.close();
    }
  });
});

describe('secrets at rest and in logs', () => {
  it('the session_key is sealed in the store, the skey only hashed, and neither reaches a log line', async () => {
    await start();
    const code = stack.sim.minaLogin(MINA.appid, 'ann');
    const data = stack.sim.minaUserData(MINA.appid, 'ann');
    const sessionKey = stack.sim.minaSessionKey(MINA.appid, 'ann')!;
    const a = (await call('qcloud.cam.id_skey', { code, encrypt_data: data.encryptedData, iv: data.iv })).json
      .returnData;
    await call('qcloud.cam.auth', { id: a.id, skey: a.skey });
    await call('qcloud.cam.decrypt', { id: a.id, skey: a.skey, encrypt_data: data.encryptedData, iv: data.iv });

    const raw = (await stack.store.getRecord(`session:${a.id}`, stack.sim.now()))!;
    expect(raw).not.toContain(sessionKey);
    expect(raw).not.toContain(a.skey);
    const record = JSON.parse(raw);
    expect(record.sessionKey).toMatch(/^v1\./);
    expect(cipherFor({ masterKey: MASTER_KEY }).open(record.sessionKey, `session:${a.id}:session_key`)).toBe(
      sessionKey,
    );
    expect(() => cipherFor({ masterKey: MASTER_KEY }).open(record.sessionKey, 'session:other:session_key')).toThrow();

    const logs = JSON.stringify(stack.logs);
    expect(stack.logs.length).toBeGreaterThan(0);
    for (const secret of [sessionKey, a.skey, data.encryptedData.slice(0, 24), code])
      expect(logs).not.toContain(secret);
  });
});

describe('a store outage', () => {
  it('session.login and session.check answer 7201; the log names the failure by class and code, never its message', async () => {
    const inner = createMemoryStore();
    let down = false;
    const outage = () =>
      Object.assign(new Error(`connect ECONNREFUSED while writing session:${'x'.repeat(24)}`), {
        code: 'ECONNREFUSED',
      });
    const store: Store = {
      ...inner,
      kind: inner.kind,
      getRecord: (key, now) => (down ? Promise.reject(outage()) : inner.getRecord(key, now)),
      putRecord: (key, value, expiresAt, now) =>
        down ? Promise.reject(outage()) : inner.putRecord(key, value, expiresAt, now),
    };
    await start({ store });
    const a = (await login()).returnData;
    down = true;
    expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: a.skey }))).toBe(7201);
    expect(returnCode(await call('qcloud.cam.id_skey', { code: stack.sim.minaLogin(MINA.appid, 'bob') }))).toBe(7201);
    const failures = stack.logs.filter((l) => l.event === 'store_failed');
    expect(failures.length).toBeGreaterThanOrEqual(2);
    for (const f of failures) expect(f).toMatchObject({ level: 'error', error: 'Error', code: 'ECONNREFUSED' });
    expect(JSON.stringify(stack.logs)).not.toContain('xxxxxxxx');
  });
});

describe('the Wafer fork (qcloud.cam.userinfo)', () => {
  it('id_skey with only appid and code, then userinfo, then auth answers that user_info', async () => {
    await start();
    const code = stack.sim.minaLogin(MINA.appid, 'ann');
    const a = (await call('qcloud.cam.id_skey', { appid: MINA.appid, code })).json.returnData;
    expect(a).not.toHaveProperty('user_info');
    const data = stack.sim.minaUserData(MINA.appid, 'ann');
    const res = (
      await call('qcloud.cam.userinfo', { id: a.id, skey: a.skey, encrypt_data: data.encryptedData, iv: data.iv })
    ).json;
    expect(res.returnCode).toBe(0);
    const profile = {
      openId: simOpenid(MINA.appid, 'ann'),
      nickName: '微信用户 ann',
      watermark: expect.objectContaining({ appid: MINA.appid }),
    };
    expect(res.returnData).toEqual({
      id: a.id,
      skey: a.skey,
      appid: MINA.appid,
      user_info: expect.objectContaining(profile),
    });
    const auth = (await call('qcloud.cam.auth', { id: a.id, skey: a.skey, appid: MINA.appid })).json;
    expect(auth.returnData.user_info).toEqual(res.returnData.user_info);
  });

  it('a foreign watermark → 60021 and the session keeps its user_info', async () => {
    await start();
    const a = (await login('ann')).returnData;
    const foreign = encryptFor(
      stack.sim.minaSessionKey(MINA.appid, 'ann')!,
      JSON.stringify({ nickName: 'x', watermark: { appid: MINA2.appid, timestamp: 1 } }),
    );
    expect(
      returnCode(
        await call('qcloud.cam.userinfo', {
          id: a.id,
          skey: a.skey,
          encrypt_data: foreign.encryptedData,
          iv: foreign.iv,
        }),
      ),
    ).toBe(60021);
    expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json.returnData.user_info).toEqual(a.user_info);
  });

  it("another user's openId in the data → 60021 and the session keeps its user_info", async () => {
    await start();
    const a = (await login('ann')).returnData;
    const bob = encryptFor(
      stack.sim.minaSessionKey(MINA.appid, 'ann')!,
      JSON.stringify({
        openId: simOpenid(MINA.appid, 'bob'),
        nickName: 'bob',
        watermark: { appid: MINA.appid, timestamp: 1 },
      }),
    );
    expect(
      returnCode(
        await call('qcloud.cam.userinfo', { id: a.id, skey: a.skey, encrypt_data: bob.encryptedData, iv: bob.iv }),
      ),
    ).toBe(60021);
    expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json.returnData.user_info).toEqual(a.user_info);
  });

  it('a Mini Program without an open platform logs in without unionid, and user data carrying a unionId does not fill it in nor stay in user_info', async () => {
    await start();
    stack.sim.minaUnbind(MINA.appid);
    const a = (await call('qcloud.cam.id_skey', { code: stack.sim.minaLogin(MINA.appid, 'ann') })).json.returnData;
    expect(a).not.toHaveProperty('unionid');
    expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json.returnData).not.toHaveProperty('unionid');
    const withUnion = encryptFor(
      stack.sim.minaSessionKey(MINA.appid, 'ann')!,
      JSON.stringify({
        openId: simOpenid(MINA.appid, 'ann'),
        unionId: 'u-from-data',
        watermark: { appid: MINA.appid, timestamp: 1 },
      }),
    );
    expect(
      returnCode(
        await call('qcloud.cam.userinfo', {
          id: a.id,
          skey: a.skey,
          encrypt_data: withUnion.encryptedData,
          iv: withUnion.iv,
        }),
      ),
    ).toBe(0);
    const auth = (await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json.returnData;
    expect(auth.user_info).not.toHaveProperty('unionId');
    expect(auth).not.toHaveProperty('unionid');
  });

  it('a check recording a visit at the same time does not undo the saved user_info', async () => {
    await start();
    const a = (await call('qcloud.cam.id_skey', { code: stack.sim.minaLogin(MINA.appid, 'ann') })).json.returnData;
    const data = stack.sim.minaUserData(MINA.appid, 'ann');
    stack.sim.advance(2 * MIN); // the checks below each record a visit
    const [saved] = await Promise.all([
      call('qcloud.cam.userinfo', { id: a.id, skey: a.skey, encrypt_data: data.encryptedData, iv: data.iv }),
      ...Array.from({ length: 5 }, () => call('qcloud.cam.auth', { id: a.id, skey: a.skey })),
    ]);
    expect(saved.json.returnCode).toBe(0);
    expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json.returnData.user_info).toEqual(
      saved.json.returnData.user_info,
    );
  });
});

describe('sessions the deployment can no longer serve', () => {
  it('a stored record that is not exactly what login writes → 60012, and nothing of it reaches a log line', async () => {
    await start();
    const a = (await login('ann')).returnData;
    const key = `session:${a.id}`;
    const good = JSON.parse((await stack.store.getRecord(key, stack.sim.now()))!);
    const later = stack.sim.now() + 86_400_000;
    const variants = [
      'not json MARKER-1',
      JSON.stringify({ ...good, v: 2, marker: 'MARKER-2' }),
      JSON.stringify({ ...good, created: 'MARKER-3' }),
      JSON.stringify({ ...good, userInfo: ['MARKER-4'] }),
      JSON.stringify({ ...good, skeyHash: 'MARKER-5' }),
      JSON.stringify([good, 'MARKER-6']),
      JSON.stringify({ ...good, appid: 7, marker: 'MARKER-7' }),
      JSON.stringify({ ...good, openid: '', marker: 'MARKER-8' }),
      JSON.stringify({ ...good, unionid: '', marker: 'MARKER-9' }),
      JSON.stringify({ ...good, unionid: 9, marker: 'MARKER-10' }),
      JSON.stringify({ ...good, userInfo: 'MARKER-11' }),
      JSON.stringify({ ...good, userInfo: null, marker: 'MARKER-12' }),
      JSON.stringify({ ...good, skeyHash: 12, marker: 'MARKER-13' }),
      JSON.stringify({ ...good, sessionKey: '', marker: 'MARKER-14' }),
    ];
    for (const raw of variants) {
      await stack.store.putRecord(key, raw, later, stack.sim.now());
      expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json).toMatchObject({
        returnCode: 60012,
        error: { code: 'session_invalid' },
      });
    }
    expect(JSON.stringify(stack.logs)).not.toContain('MARKER');
    await stack.store.putRecord(key, JSON.stringify(good), later, stack.sim.now());
    expect(returnCode(await call('qcloud.cam.auth', { id: a.id, skey: a.skey }))).toBe(0);
    // a visit record that is not a time
    await stack.store.putRecord(`session-seen:${a.id}`, 'soon', later, stack.sim.now());
    expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json).toMatchObject({
      returnCode: 60012,
      returnMessage: 'no such session (unknown id, or skey does not match): log in again',
    });
  });

  it('without the master key, or under another, a stored session says which, not that it is unknown', async () => {
    const shared = createMemoryStore();
    await start({ store: shared });
    const a = (await login('ann')).returnData;
    const keyless = await startStack({ sim: stack.sim, store: shared, config: { apps: [{ ...MINA, type: 'mina' }] } });
    const rotated = await startStack({
      sim: stack.sim,
      store: shared,
      env: { WECRED_MASTER_KEY: randomBytes(32).toString('base64') },
      config: {
        apps: [
          { ...MINA, type: 'mina' },
          { ...MP, type: 'mp' },
        ],
      },
    });
    try {
      const check = (s: Stack) => s.envelope('qcloud.cam.auth', { id: a.id, skey: a.skey }, null);
      expect((await check(keyless)).json).toMatchObject({
        returnCode: 7302,
        returnMessage: 'Mini Program sessions need WECRED_MASTER_KEY (the session_key is stored sealed under it)',
      });
      expect((await check(rotated)).json).toMatchObject({
        returnCode: 60012,
        returnMessage: 'the session cannot be opened with the current WECRED_MASTER_KEY: log in again',
      });
    } finally {
      await Promise.all([keyless.close(), rotated.close()]);
    }
  });

  it('after the master key changed, or the Mini Program was removed from the config, check and decrypt both answer 60012', async () => {
    const shared = createMemoryStore();
    await start({ store: shared });
    const a = (await login('ann')).returnData;
    const data = stack.sim.minaUserData(MINA.appid, 'ann');
    const both = async (s: Stack) => [
      (await s.envelope('qcloud.cam.auth', { id: a.id, skey: a.skey }, null)).json.returnCode,
      (
        await s.envelope(
          'qcloud.cam.decrypt',
          { id: a.id, skey: a.skey, encrypt_data: data.encryptedData, iv: data.iv },
          null,
        )
      ).json.returnCode,
    ];
    expect(await both(stack)).toEqual([0, 0]);

    const rotated = await startStack({
      sim: stack.sim,
      store: shared,
      env: { WECRED_MASTER_KEY: randomBytes(32).toString('base64') },
      config: { apps: [{ ...MINA, type: 'mina' }] },
    });
    const removed = await startStack({
      sim: stack.sim,
      store: shared,
      env: { WECRED_MASTER_KEY: MASTER_KEY.toString('base64') },
      config: {
        apps: [
          { ...MP, type: 'mp' },
          { ...MINA2, type: 'mina' },
        ],
      },
    });
    const retyped = await startStack({
      sim: stack.sim,
      store: shared,
      env: { WECRED_MASTER_KEY: MASTER_KEY.toString('base64') },
      config: { apps: [{ ...MINA, type: 'mp' }] },
    });
    try {
      for (const s of [rotated, removed, retyped]) expect(await both(s)).toEqual([60012, 60012]);
    } finally {
      await Promise.all([rotated.close(), removed.close(), retyped.close()]);
    }
    expect(await both(stack)).toEqual([0, 0]); // the session itself was left alone
  });
});

describe('on MySQL', () => {
  it('logs in and checks; SQL-looking ids are unknown sessions and the table is intact', async (ctx) => {
    const mysql = await freshMysql();
    if (!mysql) return ctx.skip();
    const store = await openStore(mysql.url);
    try {
      await start({ store });
      const a = (await login('ann')).returnData;
      for (const id of [
        "' OR 1=1 --",
        "x'; DROP TABLE records; --",
        'SELECTxFROMxrecordsxWHER',
        'DROPTABLErecords00000000',
      ]) {
        expect(returnCode(await call('qcloud.cam.auth', { id, skey: a.skey }))).toBe(60012);
      }
      // The store itself takes such keys as plain keys.
      expect(await store.getRecord("session:' OR 1=1 --", stack.sim.now())).toBeNull();
      expect((await call('qcloud.cam.auth', { id: a.id, skey: a.skey })).json.returnData.openid).toBe(
        simOpenid(MINA.appid, 'ann'),
      );
    } finally {
      await stack.close();
      await store.close();
      await mysql.close();
    }
  });
});
