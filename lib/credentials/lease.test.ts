/**
 * The heartbeat lease (docs/design.md §5.3) on the memory store: a holder's beat, its loss, and a contender's wait
 * that ends on a change, on a beat that stood still for the lease, or at its deadline with a message saying which.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { LogFields } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import type { Store } from '../store/port';
import { Leases, newOwner } from './lease';

const LEASE_MS = 300;
const KEY = 'test:cred';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(store: Store = createMemoryStore()) {
  const lines: { level: string; event: string; fields?: LogFields }[] = [];
  const log = { log: (level: string, event: string, fields?: LogFields) => lines.push({ level, event, fields }) };
  const leases = new Leases(store, LEASE_MS, log, (op) => op());
  return { store, lines, leases };
}

/** A memory store whose reads and renewals are counted, and whose renewals can be made to fail. */
function counted() {
  const inner = createMemoryStore();
  const n = { reads: 0, renewals: 0, failRenewals: false };
  const store: Store = {
    ...inner,
    read: (key) => {
      n.reads++;
      return inner.read(key);
    },
    renewLease: (key, owner) => {
      n.renewals++;
      return n.failRenewals ? Promise.reject(new Error('connection reset')) : inner.renewLease(key, owner);
    },
  };
  return { store, n };
}

describe('newOwner', () => {
  it('names every attempt differently, within this process and by process', () => {
    const a = newOwner();
    const b = newOwner();
    expect(a).not.toBe(b);
    expect(a.split(':')[0]).toBe(b.split(':')[0]);
    expect(Number(b.split(':')[1])).toBe(Number(a.split(':')[1]) + 1);
  });
});

describe('Leases.heartbeat', () => {
  it('renews three times per lease while held, and stops at stop()', async () => {
    const { store, n } = counted();
    const { leases } = setup(store);
    await store.acquireLease(KEY, 'me');
    const beat = leases.heartbeat(KEY, 'me');
    await sleep(LEASE_MS * 2 + 50);
    beat.stop();
    expect(n.renewals).toBeGreaterThanOrEqual(4);
    expect(n.renewals).toBeLessThanOrEqual(7);
    const row = (await store.read(KEY))!;
    expect(row.leaseBeat).toBe(1 + n.renewals);
    const after = n.renewals;
    await sleep(LEASE_MS);
    expect(n.renewals).toBe(after);
  });

  it('a renewal refused (the lease was taken over) stops the beat and is logged once as lease_lost', async () => {
    const { store, n } = counted();
    const { leases, lines } = setup(store);
    const mine = (await store.acquireLease(KEY, 'me'))!;
    leases.heartbeat(KEY, 'me');
    await store.acquireLease(KEY, 'contender', { owner: 'me', beat: mine.leaseBeat });
    await sleep(LEASE_MS * 2);
    expect(n.renewals).toBe(1);
    expect(lines).toEqual([{ level: 'warn', event: 'lease_lost', fields: { key: KEY } }]);
    expect((await store.read(KEY))!.leaseOwner).toBe('contender');
  });

  it('a renewal refused after stop() (the holder committed meanwhile) logs nothing', async () => {
    const inner = createMemoryStore();
    // Renewals answer slowly: the holder stops its beat while one is on its way.
    const store: Store = { ...inner, renewLease: () => sleep(60).then(() => false) };
    const { leases, lines } = setup(store);
    const beat = leases.heartbeat(KEY, 'me');
    await sleep(LEASE_MS / 3 + 20);
    beat.stop();
    await sleep(LEASE_MS);
    expect(lines).toEqual([]);
    const unstopped = setup(store);
    unstopped.leases.heartbeat(KEY, 'me');
    await sleep(LEASE_MS / 3 + 100);
    expect(unstopped.lines.map((l) => l.event)).toEqual(['lease_lost']);
  });

  it('a failing store is logged and retried at the next beat; the beat goes on', async () => {
    const { store, n } = counted();
    const { leases, lines } = setup(store);
    await store.acquireLease(KEY, 'me');
    n.failRenewals = true;
    const beat = leases.heartbeat(KEY, 'me');
    await sleep(LEASE_MS + 50);
    n.failRenewals = false;
    await sleep(LEASE_MS);
    beat.stop();
    const failed = lines.filter((l) => l.event === 'lease_renew_failed');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed[0]).toMatchObject({ level: 'warn', fields: { key: KEY, error: 'Error' } });
    expect(lines.some((l) => l.event === 'lease_lost')).toBe(false);
    expect((await store.read(KEY))!.leaseBeat).toBeGreaterThan(1);
  });
});

describe('Leases.wait', () => {
  it('ends as changed once the holder commits, releases, or the row goes (a store flushed by its operator)', async () => {
    const inner = createMemoryStore();
    const flushed = new Set<string>();
    const { store, leases } = setup({
      ...inner,
      read: (key) => (flushed.has(key) ? Promise.resolve(null) : inner.read(key)),
    });
    for (const end of ['commit', 'release', 'flush'] as const) {
      const key = `${KEY}:${end}`;
      const held = (await store.acquireLease(key, 'holder'))!;
      const waiting = leases.wait(key, held, performance.now() + 5000);
      await sleep(50);
      if (end === 'commit')
        await store.commit(key, 'holder', held.version, { value: 'v', expiresAt: 1, refreshedAt: 1, forcedAt: 0 });
      if (end === 'release') await store.releaseLease(key, 'holder');
      if (end === 'flush') flushed.add(key);
      await expect(waiting).resolves.toEqual({ changed: true });
    }
  });

  it('a holder taken over by a third instance is watched anew: its own beat must stand still for a lease', async () => {
    const { store, leases } = setup();
    const held = (await store.acquireLease(KEY, 'holder'))!;
    const started = performance.now();
    const waiting = leases.wait(KEY, held, started + 5000);
    await sleep(LEASE_MS / 2);
    const third = (await store.acquireLease(KEY, 'third', { owner: 'holder', beat: held.leaseBeat }))!;
    expect(await waiting).toEqual({ changed: false, takeOver: { owner: 'third', beat: third.leaseBeat } });
    expect(performance.now() - started).toBeGreaterThanOrEqual(LEASE_MS * 1.5);
  });

  it('polls briefly at first and at most about ten times a second later', async () => {
    const { store, n } = counted();
    const { leases } = setup(store);
    const held = (await store.acquireLease(KEY, 'holder'))!;
    const beating = setInterval(() => store.renewLease(KEY, 'holder'), 50);
    const started = performance.now();
    await expect(leases.wait(KEY, held, started + 300)).rejects.toMatchObject({ code: 'busy' });
    const early = n.reads;
    expect(early).toBeGreaterThanOrEqual(4); // 15, 20, 25 … ms apart
    expect(early).toBeLessThanOrEqual(20);
    n.reads = 0;
    await expect(leases.wait(KEY, (await store.read(KEY))!, performance.now() + 2500)).rejects.toMatchObject({
      code: 'busy',
    });
    clearInterval(beating);
    expect(n.reads).toBeGreaterThanOrEqual(15);
    expect(n.reads).toBeLessThanOrEqual(45);
  });

  it('a beat that keeps moving is never taken over; the deadline says the holder is still at work', async () => {
    const { store, leases } = setup();
    const held = (await store.acquireLease(KEY, 'holder'))!;
    const beating = setInterval(() => store.renewLease(KEY, 'holder'), LEASE_MS / 3);
    const started = performance.now();
    const err = await leases.wait(KEY, held, started + LEASE_MS * 3).catch((e: unknown) => e);
    clearInterval(beating);
    expect(performance.now() - started).toBeGreaterThanOrEqual(LEASE_MS * 3 - 5);
    expect(err).toMatchObject({
      code: 'busy',
      message: `${KEY} is being refreshed by another instance that did not finish within this request's budget; retry shortly`,
    });
  });

  it('a beat that stood still for the lease is taken over from the holder last seen', async () => {
    const { store, leases } = setup();
    const held = (await store.acquireLease(KEY, 'holder'))!;
    await store.renewLease(KEY, 'holder'); // moved once after we read it, then silent
    const started = performance.now();
    const outcome = await leases.wait(KEY, held, started + 5000);
    const waited = performance.now() - started;
    expect(outcome).toEqual({ changed: false, takeOver: { owner: 'holder', beat: held.leaseBeat + 1 } });
    expect(waited).toBeGreaterThanOrEqual(LEASE_MS);
    expect(waited).toBeLessThan(LEASE_MS + 250);
  });
});
