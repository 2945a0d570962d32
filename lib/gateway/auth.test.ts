import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { realmSignature } from '../crypto/realm';
import type { Services } from '../interfaces';
import { silentLogger } from '../log/logger';
import { StoreHealth } from '../store/health';
import { createMemoryStore } from '../store/memory';
import { switchable } from '../../test/support/switchable-store';
import { authenticateRealm, authorizeScope, checkTimestamp } from './auth';
import type { HttpRequest } from './http';

const REALM = { key: 'biz', secret: 'biz-realm-secret-0123456789' };
const NOW_S = 1_800_000_000;
const services = {
  config: parseConfig({ apps: [{ appid: 'wx1111111111111111', secret: 's' }], realms: [REALM], store: 'memory:' }, {}),
  store: createMemoryStore(),
  storeHealth: new StoreHealth(Date.now, silentLogger),
  clock: () => NOW_S * 1000,
  log: silentLogger,
} as unknown as Services;

function signed(ts: number, nonce: string, body = '{}'): HttpRequest {
  const timestamp = String(ts);
  return {
    method: 'POST',
    path: '/',
    query: {},
    body,
    headers: {
      'x-wecred-realm': REALM.key,
      'x-wecred-timestamp': timestamp,
      'x-wecred-nonce': nonce,
      'x-wecred-signature': realmSignature(REALM.secret, { method: 'POST', path: '/', timestamp, nonce, body }),
    },
  };
}

describe('realm authentication', () => {
  it('accepts timestamps exactly 300 s off and refuses 301 s', async () => {
    await expect(authenticateRealm(signed(NOW_S - 300, 'nonce-aaaa-1'), '/', services)).resolves.toMatchObject({
      key: 'biz',
    });
    await expect(authenticateRealm(signed(NOW_S + 300, 'nonce-aaaa-2'), '/', services)).resolves.toMatchObject({
      key: 'biz',
    });
    await expect(authenticateRealm(signed(NOW_S - 301, 'nonce-aaaa-3'), '/', services)).rejects.toMatchObject({
      code: 'stale_timestamp',
    });
    await expect(authenticateRealm(signed(NOW_S + 301, 'nonce-aaaa-4'), '/', services)).rejects.toMatchObject({
      code: 'stale_timestamp',
    });
  });

  it('does not spend a nonce on a request whose signature is wrong', async () => {
    const bad = signed(NOW_S, 'nonce-bbbb-1');
    bad.headers['x-wecred-signature'] = '0'.repeat(64);
    await expect(authenticateRealm(bad, '/', services)).rejects.toMatchObject({ code: 'bad_signature' });
    await expect(authenticateRealm(signed(NOW_S, 'nonce-bbbb-1'), '/', services)).resolves.toMatchObject({
      key: 'biz',
    });
    await expect(authenticateRealm(signed(NOW_S, 'nonce-bbbb-1'), '/', services)).rejects.toMatchObject({
      code: 'replayed_nonce',
    });
  });

  it('keeps a nonce while its timestamp can still pass: signed 299 s ahead, replayed 450 s later, refused 7004', async () => {
    let now = NOW_S * 1000;
    const moving = { ...services, store: createMemoryStore(), clock: () => now } as Services;
    const request = signed(NOW_S + 299, 'nonce-ahead-1');
    await expect(authenticateRealm(request, '/', moving)).resolves.toMatchObject({ key: 'biz' });
    now += 450_000; // the timestamp is now 151 s behind the clock: still inside the window
    await expect(authenticateRealm(request, '/', moving)).rejects.toMatchObject({
      code: 'replayed_nonce',
      returnCode: 7004,
    });
    now += 149_000 + 300_000; // the timestamp has left the window: refused for that, not the nonce
    await expect(authenticateRealm(request, '/', moving)).rejects.toMatchObject({ code: 'stale_timestamp' });
  });

  it('refuses a request missing any one signing header as unsigned, saying which are needed', async () => {
    for (const header of ['x-wecred-realm', 'x-wecred-timestamp', 'x-wecred-nonce', 'x-wecred-signature']) {
      const req = signed(NOW_S, `nonce-missing-${header.slice(9)}`);
      delete req.headers[header];
      await expect(authenticateRealm(req, '/', services), header).rejects.toMatchObject({
        code: 'unsigned',
        message:
          'this interface needs a signed request: X-Wecred-Realm, X-Wecred-Timestamp, X-Wecred-Nonce and X-Wecred-Signature',
      });
    }
  });

  it('says what is wrong in each refusal', async () => {
    await expect(authenticateRealm(signed(NOW_S, 'short'), '/', services)).rejects.toMatchObject({
      message: 'X-Wecred-Nonce must be 8 to 64 characters of [A-Za-z0-9_-]',
    });
    const forged = signed(NOW_S, 'nonce-words-1');
    forged.headers['x-wecred-signature'] = 'f'.repeat(64);
    await expect(authenticateRealm(forged, '/', services)).rejects.toMatchObject({
      message: 'the request signature does not match',
    });
    await expect(authenticateRealm(signed(NOW_S + 301, 'nonce-words-2'), '/', services)).rejects.toMatchObject({
      message: `X-Wecred-Timestamp must be unix seconds within 300 s of the server's clock (${NOW_S})`,
    });
    await authenticateRealm(signed(NOW_S, 'nonce-words-3'), '/', services);
    await expect(authenticateRealm(signed(NOW_S, 'nonce-words-3'), '/', services)).rejects.toMatchObject({
      message: 'this nonce was already used; sign every request with a new one',
    });
    // a store that cannot keep the nonce, with storeOutage.nonces 'refuse' (by default, nonces are kept in memory)
    const down = {
      ...services,
      config: { ...services.config, storeOutage: { nonces: 'refuse' } },
      storeHealth: new StoreHealth(Date.now, silentLogger),
      store: { insertIfAbsent: () => Promise.reject(new Error('down')) },
    } as unknown as Services;
    await expect(authenticateRealm(signed(NOW_S, 'nonce-words-4'), '/', down)).rejects.toMatchObject({
      code: 'store_unavailable',
      message: 'the credential store is unavailable',
    });
  });

  it('refuses nonces outside 8 to 64 characters of [A-Za-z0-9_-] as unsigned', async () => {
    for (const nonce of ['short', 'x'.repeat(65), 'has space!']) {
      await expect(authenticateRealm(signed(NOW_S, nonce), '/', services)).rejects.toMatchObject({ code: 'unsigned' });
    }
  });
});

describe('the checks shared with jsdkd', () => {
  it('reads a timestamp in the given unit, so one in seconds is stale as milliseconds', () => {
    const now = NOW_S * 1000;
    expect(() => checkTimestamp(String(NOW_S - 300), 'seconds', now, 't')).not.toThrow();
    expect(() => checkTimestamp(String(now + 300_000), 'milliseconds', now, 'ts')).not.toThrow();
    expect(() => checkTimestamp(String(NOW_S), 'milliseconds', now, 'ts')).toThrow(
      expect.objectContaining({
        code: 'stale_timestamp',
        message: `ts must be unix milliseconds within 300 s of the server's clock (${now})`,
      }),
    );
  });

  it('lets realms listing no interfaces use every scope, others (admin ones too) only those listed', () => {
    const realm = {
      key: 'r',
      secret: 's',
      apps: [],
      interfaces: ['access_token'],
      admin: false,
      legacyMd5: false,
      forceAllowance: 5,
    };
    expect(() => authorizeScope(realm, 'access_token')).not.toThrow();
    const refused = expect.objectContaining({
      code: 'interface_not_allowed',
      httpStatus: 403,
      message: 'realm r may not call ticket',
    });
    expect(() => authorizeScope(realm, 'ticket')).toThrow(refused);
    expect(() => authorizeScope({ ...realm, admin: true }, 'ticket')).toThrow(refused);
    expect(() => authorizeScope({ ...realm, interfaces: [] }, 'ticket')).not.toThrow();
    expect(() => authorizeScope({ ...realm, interfaces: [], admin: true }, 'ticket')).not.toThrow();
  });
});

describe('signed calls while the store is away (docs/design.md §6.4)', () => {
  const outage = (nonces: 'memory' | 'refuse') => {
    const { store, state } = switchable(createMemoryStore());
    const storeHealth = new StoreHealth(() => NOW_S * 1000, silentLogger);
    const config = parseConfig(
      {
        apps: [{ appid: 'wx1111111111111111', secret: 's' }],
        realms: [REALM],
        store: 'memory:',
        storeOutage: { nonces },
      },
      {},
    );
    const svc = { ...services, config, store, storeHealth } as unknown as Services;
    return { svc, state, storeHealth };
  };

  it("'memory': accepts new nonces, refuses a replay to this process, and still refuses it once the store is back", async () => {
    const { svc, state, storeHealth } = outage('memory');
    state.down = 'error';
    await expect(authenticateRealm(signed(NOW_S, 'outage-mem-1'), '/', svc)).resolves.toMatchObject({ key: 'biz' });
    expect(storeHealth.since()).not.toBeNull();
    await expect(authenticateRealm(signed(NOW_S, 'outage-mem-2'), '/', svc)).resolves.toMatchObject({ key: 'biz' });
    await expect(authenticateRealm(signed(NOW_S, 'outage-mem-1'), '/', svc)).rejects.toMatchObject({
      code: 'replayed_nonce',
    });
    state.down = false;
    await storeHealth.call(async () => 'answers again', 1000);
    expect(storeHealth.since()).toBeNull();
    // the store never saw it, yet it was spent: refused all the same
    await expect(authenticateRealm(signed(NOW_S, 'outage-mem-2'), '/', svc)).rejects.toMatchObject({
      code: 'replayed_nonce',
    });
    await expect(authenticateRealm(signed(NOW_S, 'outage-mem-3'), '/', svc)).resolves.toMatchObject({ key: 'biz' });
    await expect(authenticateRealm(signed(NOW_S, 'outage-mem-3'), '/', svc)).rejects.toMatchObject({
      code: 'replayed_nonce',
    });
  });

  it("'memory': once the store is seen hanging, signed calls no longer wait for it; one a second tries it beside the request", async () => {
    const { svc, state } = outage('memory');
    state.down = 'hang';
    // the first call finds out: it waits the store timeout, then answers from memory
    await expect(authenticateRealm(signed(NOW_S, 'outage-hang-1'), '/', svc)).resolves.toMatchObject({ key: 'biz' });
    await new Promise((resolve) => setTimeout(resolve, 1_050)); // the next try of the store is due
    for (const nonce of ['outage-hang-2', 'outage-hang-3']) {
      const started = performance.now();
      await expect(authenticateRealm(signed(NOW_S, nonce), '/', svc)).resolves.toMatchObject({ key: 'biz' });
      expect(performance.now() - started).toBeLessThan(500);
    }
  });

  it("'refuse': answers 7201 store_unavailable, and spends nothing", async () => {
    const { svc, state, storeHealth } = outage('refuse');
    state.down = 'error';
    for (let i = 0; i < 2; i++) {
      await expect(authenticateRealm(signed(NOW_S, 'outage-ref-1'), '/', svc)).rejects.toMatchObject({
        code: 'store_unavailable',
        returnCode: 7201,
      });
    }
    state.down = false;
    await storeHealth.call(async () => 'answers again', 1000);
    await expect(authenticateRealm(signed(NOW_S, 'outage-ref-1'), '/', svc)).resolves.toMatchObject({ key: 'biz' });
  });
});
