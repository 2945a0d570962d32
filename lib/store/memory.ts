/**
 * The in-memory Store: one process, no persistence. Used by tests and by single-process demos.
 *
 * Every method body runs synchronously between its awaits, so each operation is atomic with
 * respect to every other caller in the process. Rows handed out are always copies. docs/design.md §6.3.
 */
import type { CredentialRow, Store } from './port';
import { acquiredRow, committedRow, emptyRow, mayAcquire, mayCommit, releasedRow, renewedRow } from './row';

interface Expiring {
  value: number;
  expiresAt: number;
}

/** Expired nonces, counters and records are swept after this many writes (besides being dropped lazily). */
const SWEEP_EVERY_WRITES = 1000;

export function createMemoryStore(): Store {
  const rows = new Map<string, CredentialRow>();
  const nonces = new Map<string, number>(); // key -> expiresAt
  const counters = new Map<string, Expiring>();
  const records = new Map<string, { value: string; expiresAt: number }>();
  let writes = 0;

  const sweep = (now: number): void => {
    if (++writes < SWEEP_EVERY_WRITES) return;
    writes = 0;
    for (const [k, exp] of nonces) if (exp <= now) nonces.delete(k);
    for (const [k, c] of counters) if (c.expiresAt <= now) counters.delete(k);
    for (const [k, r] of records) if (r.expiresAt <= now) records.delete(k);
  };

  return {
    kind: 'memory',

    async read(key) {
      const row = rows.get(key);
      return row ? { ...row } : null;
    },

    async acquireLease(key, owner, seen) {
      const row = rows.get(key) ?? emptyRow(key);
      if (!mayAcquire(row, seen)) return null;
      const next = acquiredRow(row, owner);
      rows.set(key, next);
      return { ...next };
    },

    async renewLease(key, owner) {
      const next = renewedRow(rows.get(key), owner);
      if (next) rows.set(key, next);
      return next !== null;
    },

    async commit(key, owner, expectedVersion, update) {
      const row = rows.get(key) ?? null;
      if (!mayCommit(row, owner, expectedVersion)) return false;
      rows.set(key, committedRow(row, update));
      return true;
    },

    async releaseLease(key, owner, outcome) {
      const row = rows.get(key);
      if (!row && outcome === undefined) return;
      const next = releasedRow(row ?? emptyRow(key), owner, outcome);
      if (next) rows.set(key, next);
    },

    async insertIfAbsent(key, expiresAt, now) {
      const current = nonces.get(key);
      if (current !== undefined && current > now) return false;
      nonces.set(key, expiresAt);
      sweep(now);
      return true;
    },

    async increment(key, by, expiresAt, now) {
      let counter = counters.get(key);
      if (counter && counter.expiresAt <= now) {
        counters.delete(key);
        counter = undefined;
      }
      if (by === 0 || (by < 0 && !counter)) return counter?.value ?? 0;
      const next: Expiring = counter
        ? { value: Math.max(0, counter.value + by), expiresAt: counter.expiresAt }
        : { value: by, expiresAt };
      counters.set(key, next);
      sweep(now);
      return next.value;
    },

    async putRecord(key, value, expiresAt, now) {
      records.set(key, { value, expiresAt });
      sweep(now);
    },

    async getRecord(key, now) {
      const record = records.get(key);
      if (!record) return null;
      if (record.expiresAt > now) return record.value;
      records.delete(key);
      return null;
    },

    async deleteRecord(key) {
      records.delete(key);
    },

    async close() {},
  };
}
