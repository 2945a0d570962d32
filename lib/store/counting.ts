/**
 * Counts every Store port call made through the wrapper: benchmarks use it to prove "0 store
 * ops per warm request". `close` is passed through and not counted. docs/design.md §6.1, §9.
 */
import type { Store } from './port';

export type StoreOp =
  | 'read'
  | 'acquireLease'
  | 'renewLease'
  | 'commit'
  | 'releaseLease'
  | 'insertIfAbsent'
  | 'increment'
  | 'putRecord'
  | 'getRecord'
  | 'deleteRecord';

export interface CountingStore {
  store: Store;
  /** Port calls since creation or the last reset. */
  ops(): number;
  /** The same, per operation. */
  byOp(): Record<StoreOp, number>;
  reset(): void;
}

export function countStoreOps(inner: Store): CountingStore {
  const zero = (): Record<StoreOp, number> => ({
    read: 0,
    acquireLease: 0,
    renewLease: 0,
    commit: 0,
    releaseLease: 0,
    insertIfAbsent: 0,
    increment: 0,
    putRecord: 0,
    getRecord: 0,
    deleteRecord: 0,
  });
  let counts = zero();
  const store: Store = {
    get kind() {
      return inner.kind;
    },
    read(key) {
      counts.read++;
      return inner.read(key);
    },
    acquireLease(key, owner, seen) {
      counts.acquireLease++;
      return inner.acquireLease(key, owner, seen);
    },
    renewLease(key, owner) {
      counts.renewLease++;
      return inner.renewLease(key, owner);
    },
    commit(key, owner, expectedVersion, update) {
      counts.commit++;
      return inner.commit(key, owner, expectedVersion, update);
    },
    releaseLease(key, owner, outcome) {
      counts.releaseLease++;
      return inner.releaseLease(key, owner, outcome);
    },
    insertIfAbsent(key, expiresAt, now) {
      counts.insertIfAbsent++;
      return inner.insertIfAbsent(key, expiresAt, now);
    },
    increment(key, by, expiresAt, now) {
      counts.increment++;
      return inner.increment(key, by, expiresAt, now);
    },
    putRecord(key, value, expiresAt, now) {
      counts.putRecord++;
      return inner.putRecord(key, value, expiresAt, now);
    },
    getRecord(key, now) {
      counts.getRecord++;
      return inner.getRecord(key, now);
    },
    deleteRecord(key) {
      counts.deleteRecord++;
      return inner.deleteRecord(key);
    },
    close() {
      return inner.close();
    },
  };
  return {
    store,
    ops: () => Object.values(counts).reduce((a, b) => a + b, 0),
    byOp: () => ({ ...counts }),
    reset: () => {
      counts = zero();
    },
  };
}
