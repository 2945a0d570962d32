import { describe, expect, it } from 'vitest';
import { countStoreOps } from './counting';
import { createMemoryStore } from './memory';
import type { Store } from './port';

describe('countStoreOps', () => {
  it('counts every port call, passes results through, and resets', async () => {
    const counted = countStoreOps(createMemoryStore());
    const { store } = counted;
    expect(store.kind).toBe('memory');
    expect(counted.ops()).toBe(0);
    expect(await store.read('k')).toBeNull();
    const row = await store.acquireLease('k', 'o');
    expect(await store.renewLease('k', 'o')).toBe(true);
    expect(row?.leaseOwner).toBe('o');
    expect(await store.commit('k', 'o', 0, { value: 'v', expiresAt: 100, refreshedAt: 0, forcedAt: 0 })).toBe(true);
    await store.releaseLease('k', 'o', { blockedUntil: 5 });
    expect(await store.insertIfAbsent('n', 10, 0)).toBe(true);
    expect(await store.increment('c', 2, 10, 0)).toBe(2);
    await store.putRecord('r', 'rv', 10, 0);
    expect(await store.getRecord('r', 0)).toBe('rv');
    await store.deleteRecord('r');
    expect(counted.ops()).toBe(10);
    expect(counted.byOp()).toEqual({
      read: 1,
      acquireLease: 1,
      renewLease: 1,
      commit: 1,
      releaseLease: 1,
      insertIfAbsent: 1,
      increment: 1,
      putRecord: 1,
      getRecord: 1,
      deleteRecord: 1,
    });
    expect((await store.read('k'))!.blockedUntil).toBe(5);
    counted.reset();
    expect(counted.ops()).toBe(0);
    await store.close();
    expect(counted.ops()).toBe(0);
  });

  it('closes the store it wraps, uncounted', async () => {
    let closed = 0;
    const inner: Store = { ...createMemoryStore(), kind: 'memory', close: async () => void closed++ };
    const counted = countStoreOps(inner);
    await counted.store.close();
    expect([closed, counted.ops()]).toEqual([1, 0]);
  });
});
