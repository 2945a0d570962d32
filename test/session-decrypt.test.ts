/**
 * session.decrypt and qcloud.cam.userinfo are no CBC padding oracle: every failure to decrypt gets one
 * answer, a session that keeps failing stops decrypting for the rest of the hour (counted in the
 * store), and what a client could forge never becomes the session's identity. docs/design.md §11.1.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DECRYPT_FAILURES_PER_HOUR } from '../lib/sessions/mina';
import { createMemoryStore } from '../lib/store/memory';
import type { Store } from '../lib/store/port';
import { simOpenid, simUnionid, type WechatSim } from '../sim';
import { MINA, startMinaStack } from './support/mina-stack';
import type { Stack } from './support/stack';

const OTHER_APP = 'wx6666666666666666';
const HOUR = 3_600_000;

const stacks: Stack[] = [];
afterEach(async () => {
  for (const s of stacks.splice(0).reverse()) await s.close();
});

async function start(shared: { store?: Store; sim?: WechatSim } = {}): Promise<Stack> {
  const stack = await startMinaStack({}, shared);
  stacks.push(stack);
  return stack;
}

/** What a caller sees of a public envelope call: status, content type and the body, byte for byte. */
async function answer(stack: Stack, name: string, para: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${stack.url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ interface: { interfaceName: name, para } }),
  });
  return `${res.status} ${res.headers.get('content-type')}\n${await res.text()}`;
}

const b64 = (b: Buffer) => b.toString('base64');

/** AES-128-CBC of `plain` under `key` (base64); PKCS#7 unless `padding` is false (then `plain` fills whole blocks). */
function seal(key: string, plain: Buffer | string, iv = randomBytes(16), padding = true) {
  const c = createCipheriv('aes-128-cbc', Buffer.from(key, 'base64'), iv).setAutoPadding(padding);
  return { encrypt_data: b64(Buffer.concat([c.update(plain), c.final()])), iv: b64(iv) };
}

/** A session of `user` (logged in with a code only) and the session_key WeChat gave it. */
async function session(stack: Stack, user = 'ann') {
  const res = JSON.parse(
    (await answer(stack, 'session.login', { code: stack.sim.minaLogin(MINA.appid, user) })).split('\n')[1]!,
  );
  expect(res.returnCode).toBe(0);
  const { id, skey } = res.returnData as { id: string; skey: string };
  return { id, skey, key: stack.sim.minaSessionKey(MINA.appid, user)! };
}

/** Three ways to fail: bad padding, a plaintext that is not JSON, another app's watermark; and another user's data. */
function failures(key: string) {
  const mark = (appid: string) => ({ watermark: { appid, timestamp: 1 } });
  return {
    padding: seal(key, Buffer.from('{"openId":1}\0\0\0\0'), undefined, false),
    notJson: seal(key, 'not json at all'),
    watermark: seal(key, JSON.stringify({ nickName: 'x', ...mark(OTHER_APP) })),
    openid: seal(key, JSON.stringify({ openId: simOpenid(MINA.appid, 'bob'), ...mark(MINA.appid) })),
  };
}

describe('one answer for every decrypt failure', () => {
  it('bad padding, not JSON, a foreign watermark and another user give byte-identical answers (decrypt, userinfo, login)', async () => {
    const stack = await start();
    for (const name of ['session.decrypt', 'qcloud.cam.decrypt', 'qcloud.cam.userinfo']) {
      const s = await session(stack);
      const answers = await Promise.all(
        Object.values(failures(s.key)).map((data) => answer(stack, name, { id: s.id, skey: s.skey, ...data })),
      );
      expect(new Set(answers).size, name).toBe(1);
      expect(answers[0]).toMatch(/^200 application\/json.*\n.*"returnCode":60021/);
      expect(answers[0]).toContain('"code":"decrypt_failed"');
    }
    const atLogin: string[] = [];
    for (const kind of ['padding', 'notJson', 'watermark', 'openid'] as const) {
      const code = stack.sim.minaLogin(MINA.appid, 'ann'); // a new session_key with each code
      const data = failures(stack.sim.minaSessionKey(MINA.appid, 'ann')!)[kind];
      atLogin.push(await answer(stack, 'session.login', { code, ...data }));
    }
    expect(new Set(atLogin).size).toBe(1);
    expect(atLogin[0]).toContain('"returnCode":60021');
  });
});

describe('a session that keeps failing to decrypt', () => {
  it(`after ${DECRYPT_FAILURES_PER_HOUR} failures in an hour refuses valid data too, with its own code, logged once, until the hour ends`, async () => {
    const stack = await start();
    stack.sim.advance(HOUR - (stack.sim.now() % HOUR) + 60_000); // a minute into an hour: the test ends inside it
    const s = await session(stack);
    const bad = Object.values(failures(s.key));
    for (let i = 0; i < DECRYPT_FAILURES_PER_HOUR; i++)
      expect(await answer(stack, 'session.decrypt', { id: s.id, skey: s.skey, ...bad[i % bad.length] })).toContain(
        '"returnCode":60021',
      );
    const valid = stack.sim.minaUserData(MINA.appid, 'ann');
    const para = { id: s.id, skey: s.skey, encrypt_data: valid.encryptedData, iv: valid.iv };
    for (const name of ['session.decrypt', 'qcloud.cam.userinfo', 'session.decrypt']) {
      const refused = JSON.parse((await answer(stack, name, para)).split('\n')[1]!);
      expect(refused).toMatchObject({ returnCode: 7105, returnData: '', error: { code: 'decrypt_locked' } });
    }
    expect(stack.logs.filter((l) => l.event === 'session_decrypt_locked')).toEqual([
      expect.objectContaining({ level: 'warn', appid: MINA.appid }),
    ]);
    // The session itself stands, and other sessions decrypt.
    expect(await answer(stack, 'session.check', { id: s.id, skey: s.skey })).toContain('"returnCode":0');
    const other = await session(stack, 'bob');
    const bobs = stack.sim.minaUserData(MINA.appid, 'bob');
    const bobPara = { id: other.id, skey: other.skey, encrypt_data: bobs.encryptedData, iv: bobs.iv };
    expect(await answer(stack, 'session.decrypt', bobPara)).toContain('"returnCode":0');

    stack.sim.advance(HOUR);
    expect(await answer(stack, 'session.decrypt', para)).toContain('"returnCode":0');
  });

  it('is counted in the store: failures on two instances add up', async () => {
    const store = createMemoryStore();
    const a = await start({ store });
    const b = await start({ store, sim: a.sim });
    a.sim.advance(HOUR - (a.sim.now() % HOUR) + 60_000);
    const s = await session(a);
    const bad = failures(s.key).notJson;
    for (let i = 0; i < DECRYPT_FAILURES_PER_HOUR; i++)
      await answer(i % 2 ? a : b, 'session.decrypt', { id: s.id, skey: s.skey, ...bad });
    const valid = a.sim.minaUserData(MINA.appid, 'ann');
    const para = { id: s.id, skey: s.skey, encrypt_data: valid.encryptedData, iv: valid.iv };
    expect(await answer(a, 'session.decrypt', para)).toContain('"returnCode":7105');
    expect(await answer(b, 'session.decrypt', para)).toContain('"returnCode":7105');
  });

  it('successful decryptions do not count', async () => {
    const stack = await start();
    stack.sim.advance(HOUR - (stack.sim.now() % HOUR) + 60_000);
    const s = await session(stack);
    const valid = stack.sim.minaUserData(MINA.appid, 'ann');
    const para = { id: s.id, skey: s.skey, encrypt_data: valid.encryptedData, iv: valid.iv };
    for (let i = 0; i < DECRYPT_FAILURES_PER_HOUR + 5; i++)
      expect(await answer(stack, 'session.decrypt', para)).toContain('"returnCode":0');
  });
});

// ---------------------------------------------------------------------------------------------
// The attack: Vaudenay's padding oracle on one block, as someone holding a session would run it.

/** What the attacker sees of one query: the answer to iv ‖ one block of data. */
type Oracle = (iv: Buffer, block: Buffer) => Promise<string>;

/**
 * The plaintext of `block` (whose predecessor is `prev`) recovered byte by byte from the last: for
 * each byte the 256 guesses are sent, and the guess whose answer stands out from the most common one
 * has valid padding. Null as soon as a byte has no guess that stands out alone.
 */
async function attackBlock(oracle: Oracle, prev: Buffer, block: Buffer, budget: number) {
  let queries = 0;
  const ask = (iv: Buffer) => {
    if (++queries > budget) throw new Error('over budget');
    return oracle(iv, block);
  };
  const inter = Buffer.alloc(16); // D(block), found from the end
  for (let p = 15; p >= 0; p--) {
    const pad = 16 - p;
    const iv = Buffer.alloc(16);
    for (let k = p + 1; k < 16; k++) iv[k] = inter[k]! ^ pad;
    const answers: string[] = [];
    for (let g = 0; g < 256; g++) {
      iv[p] = g;
      answers.push(await ask(Buffer.from(iv)));
    }
    const counts = new Map<string, number>();
    for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
    const common = [...counts].sort((x, y) => y[1] - x[1])[0]![0];
    let standouts = answers.flatMap((a, g) => (a !== common ? [g] : []));
    if (p === 15 && standouts.length === 2) {
      // One of two may end in 02 02 by luck: changing the byte before tells them apart.
      const kept: number[] = [];
      for (const g of standouts) {
        iv[p] = g;
        iv[p - 1]! ^= 0xff;
        if ((await ask(Buffer.from(iv))) !== common) kept.push(g);
        iv[p - 1]! ^= 0xff;
      }
      standouts = kept;
    }
    if (standouts.length !== 1) return { plain: null, queries };
    inter[p] = standouts[0]! ^ pad;
  }
  const plain = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) plain[i] = inter[i]! ^ prev[i]!;
  return { plain, queries };
}

/** One block's worth of guesses per byte, and the few extra the last byte may take. */
const BUDGET = 16 * 256 + 2;

describe('a padding-oracle attack bounded to one block of queries', () => {
  it('recovers a block from an oracle that tells bad padding apart (the attack works)', async () => {
    const key = randomBytes(16);
    const iv = randomBytes(16);
    const secret = Buffer.from('{"phoneNumber":"13800138000","watermark":{}}');
    const c = createCipheriv('aes-128-cbc', key, iv);
    const data = Buffer.concat([c.update(secret), c.final()]);
    // The answers wecred gave before: one for bad padding, others for what came after it.
    const perCause: Oracle = async (qiv, block) => {
      const d = createDecipheriv('aes-128-cbc', key, qiv);
      try {
        d.update(block);
        d.final();
        return 'does not decrypt to JSON';
      } catch {
        return 'bad padding';
      }
    };
    const { plain, queries } = await attackBlock(perCause, data.subarray(0, 16), data.subarray(16, 32), BUDGET);
    expect(plain).toEqual(secret.subarray(16, 32));
    expect(queries).toBeLessThanOrEqual(BUDGET);
  });

  it('recovers nothing from session.decrypt', async () => {
    const stack = await start();
    const s = await session(stack);
    const genuine = stack.sim.minaUserData(MINA.appid, 'ann');
    const data = Buffer.from(genuine.encryptedData, 'base64');
    const d = createDecipheriv('aes-128-cbc', Buffer.from(s.key, 'base64'), Buffer.from(genuine.iv, 'base64'));
    const expected = Buffer.concat([d.update(data), d.final()]).subarray(16, 32);
    const wecred: Oracle = (iv, block) =>
      answer(stack, 'session.decrypt', { id: s.id, skey: s.skey, encrypt_data: b64(block), iv: b64(iv) });
    const { plain, queries } = await attackBlock(wecred, data.subarray(0, 16), data.subarray(16, 32), BUDGET);
    expect(queries).toBeLessThanOrEqual(BUDGET);
    expect(plain).not.toEqual(expected);
  }, 60_000);
});

describe('what a client could forge never becomes identity', () => {
  it("userinfo keeps the session's openId, unionId and app; phone numbers are answered by decrypt, never stored", async () => {
    const stack = await start();
    const s = await session(stack);
    const forged = seal(
      s.key,
      JSON.stringify({
        openId: simOpenid(MINA.appid, 'ann'),
        unionId: 'u-forged',
        nickName: 'ann',
        phoneNumber: '13800138000',
        purePhoneNumber: '13800138000',
        countryCode: '86',
        watermark: { appid: MINA.appid, timestamp: 1 },
      }),
    );
    const saved = JSON.parse(
      (await answer(stack, 'qcloud.cam.userinfo', { id: s.id, skey: s.skey, ...forged })).split('\n')[1]!,
    );
    expect(saved.returnCode).toBe(0);
    const auth = JSON.parse((await answer(stack, 'session.check', { id: s.id, skey: s.skey })).split('\n')[1]!);
    for (const userInfo of [saved.returnData.user_info, auth.returnData.user_info]) {
      expect(userInfo).toMatchObject({
        openId: simOpenid(MINA.appid, 'ann'),
        unionId: simUnionid('ann'),
        nickName: 'ann',
      });
      expect(userInfo.watermark.appid).toBe(MINA.appid);
      expect(userInfo.watermark.timestamp).not.toBe(1);
      for (const field of ['phoneNumber', 'purePhoneNumber', 'countryCode']) expect(userInfo).not.toHaveProperty(field);
    }
    const phone = seal(
      s.key,
      JSON.stringify({ phoneNumber: '13900139000', watermark: { appid: MINA.appid, timestamp: 2 } }),
    );
    const decrypted = JSON.parse(
      (await answer(stack, 'session.decrypt', { id: s.id, skey: s.skey, ...phone })).split('\n')[1]!,
    );
    expect(decrypted.returnData).toMatchObject({ phoneNumber: '13900139000' });
  });

  it('data without an openId saved by userinfo still carries the session’s', async () => {
    const stack = await start();
    const s = await session(stack);
    const bare = seal(s.key, JSON.stringify({ nickName: 'ann', watermark: { appid: MINA.appid, timestamp: 1 } }));
    const saved = JSON.parse(
      (await answer(stack, 'qcloud.cam.userinfo', { id: s.id, skey: s.skey, ...bare })).split('\n')[1]!,
    );
    expect(saved.returnData.user_info).toMatchObject({ openId: simOpenid(MINA.appid, 'ann'), nickName: 'ann' });
  });
});
