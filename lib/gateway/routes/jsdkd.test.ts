import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load';
import { jsdkdSignature } from '../../crypto/jsdkd';
import type { Services } from '../../interfaces';
import { silentLogger } from '../../log/logger';
import { StoreHealth } from '../../store/health';
import { createMemoryStore } from '../../store/memory';
import type { Store } from '../../store/port';
import { authenticateMd5, jsdkdQuery } from './jsdkd';

const LEGACY = { key: 'legacy', secret: 'legacy-realm-secret-0123456789' };
const HMAC_ONLY = { key: 'biz', secret: 'biz-realm-secret-0123456789' };
const NOW = 1_800_000_000_000;

function services(store: Store = createMemoryStore(), nonces: 'memory' | 'refuse' = 'memory'): Services {
  return {
    config: parseConfig(
      {
        apps: [{ appid: 'wx1111111111111111', secret: 's' }],
        realms: [{ ...LEGACY, legacyMd5: true }, HMAC_ONLY],
        store: 'memory:',
        storeOutage: { nonces },
      },
      {},
    ),
    store,
    storeHealth: new StoreHealth(Date.now, silentLogger),
    clock: () => NOW,
    log: silentLogger,
  } as unknown as Services;
}

function signed(
  ts: number | string,
  nonce: string,
  realm: { key: string; secret: string } = LEGACY,
): Record<string, string> {
  const q = { realm: realm.key, nonce, ts: String(ts) };
  return { ...q, sign: jsdkdSignature(realm.secret, q) };
}

describe('jsdkd md5 query authentication', () => {
  it('says what is wrong in each refusal', async () => {
    const s = services();
    const words = (q: Record<string, string>) =>
      authenticateMd5(q, s).then(
        () => 'accepted',
        (err: { code: string; message: string }) => `${err.code}: ${err.message}`,
      );
    const { sign: _, ...unsigned } = signed(NOW, 'w1');
    expect(await words(unsigned)).toBe(
      'unsigned: this query needs jsdkd\'s signature: realm, nonce, ts (unix ms) and sign = md5("realm=…&nonce=…&ts=…" + "." + realm secret)',
    );
    expect(await words(signed(NOW, 'has space'))).toBe('unsigned: nonce must be 1 to 64 visible ASCII characters');
    expect(await words(signed(NOW, 'w2', HMAC_ONLY))).toBe(
      "bad_signature: the query signature does not match (or the realm does not accept jsdkd's md5 signature: legacyMd5)",
    );
    expect(await words(signed(NOW + 300_001, 'w3'))).toBe(
      `stale_timestamp: ts must be unix milliseconds within 300 s of the server's clock (${NOW})`,
    );
  });

  it('accepts ts (ms) exactly 300 s off and refuses 301 s; a ts in seconds is out of the window', async () => {
    const s = services();
    await expect(authenticateMd5(signed(NOW - 300_000, 'n1'), s)).resolves.toMatchObject({ key: 'legacy' });
    await expect(authenticateMd5(signed(NOW + 300_000, 'n2'), s)).resolves.toMatchObject({ key: 'legacy' });
    await expect(authenticateMd5(signed(NOW - 300_001, 'n3'), s)).rejects.toMatchObject({
      code: 'stale_timestamp',
      httpStatus: 401,
    });
    await expect(authenticateMd5(signed(NOW + 300_001, 'n4'), s)).rejects.toMatchObject({ code: 'stale_timestamp' });
    await expect(authenticateMd5(signed(NOW / 1000, 'n5'), s)).rejects.toMatchObject({ code: 'stale_timestamp' });
    for (const [i, ts] of [' 1', '1e12', '-1', `${String(NOW)}.0`, '0x1a3185c5000'].entries()) {
      await expect(authenticateMd5(signed(ts, `n-ts-${i}`), s)).rejects.toMatchObject({ code: 'stale_timestamp' });
    }
  });

  it('accepts a nonce once per realm, and spends it only once signature and ts are good', async () => {
    const s = services();
    const bad = { ...signed(NOW, 'once'), sign: '0'.repeat(32) };
    await expect(authenticateMd5(bad, s)).rejects.toMatchObject({ code: 'bad_signature', httpStatus: 401 });
    await expect(authenticateMd5(signed(NOW - 400_000, 'once'), s)).rejects.toMatchObject({ code: 'stale_timestamp' });
    await expect(authenticateMd5(signed(NOW, 'once'), s)).resolves.toMatchObject({ key: 'legacy' });
    await expect(authenticateMd5(signed(NOW, 'once'), s)).rejects.toMatchObject({
      code: 'replayed_nonce',
      httpStatus: 401,
    });
    await expect(authenticateMd5(signed(NOW + 1, 'once'), s)).rejects.toMatchObject({ code: 'replayed_nonce' });
  });

  it('accepts the signature in either hex case', async () => {
    const q = signed(NOW, 'upper');
    await expect(authenticateMd5({ ...q, sign: q.sign!.toUpperCase() }, services())).resolves.toMatchObject({
      key: 'legacy',
    });
  });

  it('refuses realms without legacyMd5, unknown realms and wrong secrets alike', async () => {
    const s = services();
    for (const q of [
      signed(NOW, 'a1', HMAC_ONLY),
      signed(NOW, 'a2', { key: 'nobody', secret: LEGACY.secret }),
      signed(NOW, 'a3', { ...LEGACY, secret: 'not-the-secret' }),
    ]) {
      await expect(authenticateMd5(q, s)).rejects.toMatchObject({ code: 'bad_signature', returnCode: 7002 });
    }
  });

  it('refuses missing signing fields and malformed nonces as unsigned', async () => {
    const s = services();
    const full = signed(NOW, 'abc');
    for (const field of ['realm', 'nonce', 'ts', 'sign']) {
      const { [field]: _gone, ...q } = full;
      await expect(authenticateMd5(q, s)).rejects.toMatchObject({ code: 'unsigned', httpStatus: 401 });
    }
    for (const nonce of ['x'.repeat(65), 'has space', 'tab\t', 'ünï']) {
      await expect(authenticateMd5(signed(NOW, nonce), s)).rejects.toMatchObject({ code: 'unsigned' });
    }
  });

  it('while the store cannot remember nonces: remembers them in memory (a replay is refused), or answers 503', async () => {
    const store = { insertIfAbsent: () => Promise.reject(new Error('down')) } as unknown as Store;
    const memory = services(store);
    await expect(authenticateMd5(signed(NOW, 'n'), memory)).resolves.toMatchObject({ key: LEGACY.key });
    await expect(authenticateMd5(signed(NOW, 'n'), memory)).rejects.toMatchObject({ code: 'replayed_nonce' });
    await expect(authenticateMd5(signed(NOW, 'n2'), services(store, 'refuse'))).rejects.toMatchObject({
      code: 'store_unavailable',
      httpStatus: 503,
    });
  });
});

describe('jsdkd query route pattern', () => {
  it('matches our spelling and jsdkd’s, nothing else', () => {
    expect(jsdkdQuery.match('/jsapi/wx1111111111111111/query')).toEqual({ appid: 'wx1111111111111111' });
    expect(jsdkdQuery.match('/jsapi/query/token')).toEqual({ key: 'token' });
    for (const p of [
      '/jsapi/query',
      '/jsapi//query',
      '/jsapi/wx1/query/x',
      '/jsapi/query/token/x',
      '/x/jsapi/wx1/query',
    ])
      expect(jsdkdQuery.match(p)).toBeNull();
  });
});
