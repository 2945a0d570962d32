/**
 * Each networked store adapter fails in time on its own and recovers at once (docs/design.md §6.3):
 * a fault proxy between the adapter and its server blackholes it (connections accepted, nothing
 * answered) or resets it (connections destroyed, new ones refused), then lets it through again.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_TIMEOUT_MS } from '../lib/store/guard';
import { openStore } from '../lib/store/open';
import type { Store } from '../lib/store/port';
import { type FaultProxy, proxyStore } from './support/fault-proxy';
import type { TestStore } from './support/services';
import { SHARED_STORES } from './support/stores';

/** More calls at once than a MySQL pool has connections (4). */
const CONCURRENT = 6;
const MIN = 60_000;

/** How long `op` took to settle, and how. */
async function timed(op: () => Promise<unknown>): Promise<{ ms: number; ok: boolean }> {
  const started = performance.now();
  const ok = await op().then(
    () => true,
    () => false,
  );
  return { ms: performance.now() - started, ok };
}

describe.each(SHARED_STORES.filter((s) => s.name !== 'file'))(
  'the $name store behind a failing network',
  ({ open }) => {
    let backing: TestStore | null = null;
    let proxy: FaultProxy;
    let store: Store;
    beforeAll(async () => {
      backing = await open();
      if (!backing) return;
      const proxied = await proxyStore(backing.url);
      proxy = proxied.proxy;
      store = await openStore(proxied.url);
    });
    afterAll(async () => {
      await store?.close();
      await proxy?.close();
      await backing?.close();
    });

    const key = `faults:${Math.random()}`;
    const calls = () => {
      const now = Date.now();
      return [
        () => store.read(key),
        () => store.acquireLease(`${key}:lease`, 'o'),
        () => store.increment(key, 1, now + MIN, now),
        () => store.insertIfAbsent(`${key}:${Math.random()}`, now + MIN, now),
        () => store.getRecord(key, now),
        () => store.renewLease(`${key}:lease`, 'o'),
      ];
    };

    /** From `back`, the store's return, until a call succeeds: then every call works, on fresh connections. */
    async function recovery(): Promise<number> {
      const back = performance.now();
      while (!(await timed(() => store.read(key))).ok) await new Promise((r) => setTimeout(r, 20));
      const ms = performance.now() - back;
      const now = Date.now();
      const counts = await Promise.all(
        Array.from({ length: 10 }, () => store.increment(`${key}:after:${back}`, 1, now + MIN, now)),
      );
      expect(counts.sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      return ms;
    }

    it('blackholed: every call fails on its own before the store timeout, and service is back within 1 s of its return', async (ctx) => {
      if (!backing) return ctx.skip();
      expect(await store.increment(key, 1, Date.now() + MIN, Date.now())).toBe(1);
      await proxy.set('blackhole');
      const first = await Promise.all(calls().map(timed)); // on the connections open when it went silent
      const later = await Promise.all(calls().map(timed)); // on new ones
      for (const t of [...first, ...later]) {
        expect(t.ok).toBe(false);
        expect(t.ms).toBeLessThan(STORE_TIMEOUT_MS);
      }
      await proxy.set('forward');
      expect(await recovery()).toBeLessThan(1_000);
    }, 30_000);

    it('reset: every call fails at once, and service is back within 1 s of its return', async (ctx) => {
      if (!backing) return ctx.skip();
      await proxy.set('reset');
      for (let round = 0; round < 3; round++) {
        const all = await Promise.all(Array.from({ length: CONCURRENT }, () => calls().map(timed)).flat());
        for (const t of all) {
          expect(t.ok).toBe(false);
          expect(t.ms).toBeLessThan(500);
        }
      }
      await proxy.set('forward');
      expect(await recovery()).toBeLessThan(1_000);
    }, 30_000);
  },
);
