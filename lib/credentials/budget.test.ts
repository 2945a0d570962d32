/** Hourly budgets enforced before calling upstream, and dropping a credential (CredentialManager). */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import { CredentialManager } from './manager';
import type { CallContext, CredentialSource } from './source';

const OPTIONS = { refreshAheadMs: 300_000, localCacheMs: 30_000, leaseMs: 10_000, forceCooldownMs: 0, timeoutMs: 1000 };
const HOUR = 3_600_000;
const START = Date.UTC(2025, 0, 6, 9, 0, 30);

/** A ticket-like credential whose upstream hands out a new value per fetch; budgets as WeCom's. */
function budgeted(key: string, budgets: { scope: string; limit: number }[], expiresIn = 7200): CredentialSource & { calls: number } {
  const src = {
    key,
    owner: 'ww-test',
    eager: false,
    calls: 0,
    hourlyBudgets: budgets,
    quotaBlocksAll: () => true,
    fetch: async () => ({ value: `${key}#${++src.calls}`, expiresIn }),
  };
  return src;
}

const call = (): CallContext => ({ caller: 't', upstreamCalls: 0, deadline: performance.now() + 5000 });

describe('hourly budgets', () => {
  it('credentials sharing a scope share its budget; each has its own too; a refused fetch never reaches upstream', async () => {
    let clock = START;
    const manager = new CredentialManager(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const a = budgeted('work:ww1:1:ticket', [
      { scope: 'work:ww1:1:ticket', limit: 3 },
      { scope: 'work:ww1:jsapi_ticket', limit: 4 },
    ]);
    const b = budgeted('work:ww1:2:ticket', [
      { scope: 'work:ww1:2:ticket', limit: 3 },
      { scope: 'work:ww1:jsapi_ticket', limit: 4 },
    ]);
    const force = (src: CredentialSource) => {
      clock += 1000;
      return manager.get(src, { force: true, call: call() });
    };
    await manager.get(a, { call: call() });
    await force(a);
    await force(a);
    await expect(force(a)).rejects.toMatchObject({ code: 'budget_exhausted' }); // a's own 3
    expect(a.calls).toBe(3);
    await force(b); // the corp's 4th
    await expect(force(b)).rejects.toMatchObject({ code: 'budget_exhausted' }); // the corp's 4 are gone
    expect(b.calls).toBe(1);

    clock = Math.ceil(clock / HOUR) * HOUR; // the next hour
    await force(b);
    await force(a);
    expect([a.calls, b.calls]).toEqual([4, 2]);
  });

  it('a plain read keeps serving the stored value while the budget refuses its refresh', async () => {
    let clock = START;
    const manager = new CredentialManager(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:agent_ticket', [{ scope: 'work:ww1:1:agent_ticket', limit: 1 }], 600);
    const first = await manager.get(src, { call: call() });
    clock += 400_000; // inside the refresh window (300 s ahead of expiry), same hour: the budget of 1 is spent
    expect(await manager.get(src, { call: call() })).toMatchObject({ value: first.value });
    expect(await manager.get(src, { call: call() })).toMatchObject({ value: first.value });
    expect(src.calls).toBe(1);
    // Forced: refused with its own code.
    await expect(manager.get(src, { force: true, call: call() })).rejects.toMatchObject({ code: 'budget_exhausted' });
    expect(src.calls).toBe(1);
  });
});

describe('invalidate', () => {
  it('drops the stored value so the next read fetches anew; a key never written stays absent', async () => {
    const clock = START;
    const store = createMemoryStore();
    const manager = new CredentialManager(store, () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:token', []);
    expect((await manager.get(src, { call: call() })).value).toBe('work:ww1:1:token#1');
    await manager.invalidate(src.key, call());
    expect(await store.read(src.key)).toMatchObject({ value: '', expiresAt: 0 });
    expect((await manager.get(src, { call: call() })).value).toBe('work:ww1:1:token#2');
    await manager.invalidate('work:ww1:9:token', call());
    expect(await store.read('work:ww1:9:token')).toBeNull();
  });

  it('waits for a refresh under way elsewhere, then drops what it wrote', async () => {
    const clock = START;
    const store = createMemoryStore();
    const manager = new CredentialManager(store, () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:token', []);
    await manager.get(src, { call: call() });
    const other = await store.acquireLease(src.key, 'other-process', clock + 10_000, clock);
    const dropped = manager.invalidate(src.key, call());
    await new Promise((r) => setTimeout(r, 80));
    expect(await store.commit(src.key, 'other-process', other!.version, { value: 'fetched-with-old-secret', expiresAt: clock + 7200_000, refreshedAt: clock, forcedAt: 0 })).toBe(true);
    await dropped;
    expect(await store.read(src.key)).toMatchObject({ value: '', expiresAt: 0 });
  });
});
