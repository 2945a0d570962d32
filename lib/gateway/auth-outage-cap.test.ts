/**
 * Nonces kept in memory while the store is away (docs/design.md §6.4): each for two windows, and bounded: past the
 * cap, expired ones are dropped, and with none expired a signed call is refused rather than memory growing. Its own
 * file: the nonces kept in memory are per module.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import type { Services } from '../interfaces';
import { silentLogger } from '../log/logger';
import { StoreHealth } from '../store/health';
import { createMemoryStore } from '../store/memory';
import { switchable } from '../../test/support/switchable-store';
import { spendNonce } from './auth';

const CAP = 100_000;
const WINDOW_MS = 300_000;

describe('nonces kept in memory while the store is away', () => {
  it('are capped: expired ones make room, and with none expired a call is refused as store_unavailable', async () => {
    const { store, state } = switchable(createMemoryStore());
    const t = { now: 1_800_000_000_000 };
    const storeHealth = new StoreHealth(() => t.now, silentLogger);
    const config = parseConfig(
      {
        apps: [{ appid: 'wx1111111111111111', secret: 's' }],
        realms: [{ key: 'biz', secret: 'biz-realm-secret-0123456789' }],
        store: 'memory:',
        storeOutage: { nonces: 'memory' },
      },
      {},
    );
    const services = { config, store, storeHealth, log: silentLogger } as unknown as Services;
    const realm = config.realms[0]!;
    state.down = 'error';
    await storeHealth.call(() => store.read('x'), 1000).catch(() => undefined);
    expect(storeHealth.since()).not.toBeNull();

    for (let i = 0; i < CAP; i++) await spendNonce(services, realm, `old-${i}`, t.now);
    t.now += 2 * WINDOW_MS; // every one kept so far has expired exactly now
    await spendNonce(services, realm, 'after-expiry', t.now);
    await expect(spendNonce(services, realm, 'old-1', t.now)).resolves.toBeUndefined(); // forgotten: expired

    for (let i = 2; i < CAP; i++) await spendNonce(services, realm, `new-${i}`, t.now);
    await expect(spendNonce(services, realm, 'one-too-many', t.now)).rejects.toMatchObject({
      code: 'store_unavailable',
      message: 'the credential store is unavailable',
    });
    await expect(spendNonce(services, realm, 'new-2', t.now)).rejects.toMatchObject({ code: 'replayed_nonce' });
  });

  it('keeps each for exactly two windows; with the store answering, spends in the store', async () => {
    const inner = createMemoryStore();
    const { store, state } = switchable(inner);
    const t = { now: 1_800_000_000_000 + 100 * WINDOW_MS }; // every nonce the test above kept has expired
    const storeHealth = new StoreHealth(() => t.now, silentLogger);
    const config = parseConfig(
      {
        apps: [{ appid: 'wx1111111111111111', secret: 's' }],
        realms: [{ key: 'biz', secret: 'biz-realm-secret-0123456789' }],
        store: 'memory:',
      },
      {},
    );
    const services = { config, store, storeHealth, log: silentLogger } as unknown as Services;
    const realm = config.realms[0]!;
    await spendNonce(services, realm, 'healthy-1', t.now);
    expect(await inner.insertIfAbsent('nonce:biz:healthy-1', t.now + 1000, t.now)).toBe(false); // the store holds it
    // one another instance spent is in the store only, and refused here
    await inner.insertIfAbsent('nonce:biz:elsewhere-1', t.now + 2 * WINDOW_MS, t.now);
    await expect(spendNonce(services, realm, 'elsewhere-1', t.now)).rejects.toMatchObject({ code: 'replayed_nonce' });

    state.down = 'error';
    await storeHealth.call(() => store.read('x'), 1000).catch(() => undefined);
    await spendNonce(services, realm, 'away-1', t.now);
    expect(await inner.insertIfAbsent('nonce:biz:away-1', t.now + 1000, t.now)).toBe(true); // not in the store
    await expect(spendNonce(services, realm, 'away-1', t.now + 2 * WINDOW_MS - 1)).rejects.toMatchObject({
      code: 'replayed_nonce',
    });
    await expect(spendNonce(services, realm, 'away-1', t.now + 2 * WINDOW_MS)).resolves.toBeUndefined();
  });
});
