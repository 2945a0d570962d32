/**
 * The Store conformance suite: every adapter calls `storeConformance('name', open)` from its test file and must pass
 * it unchanged; it tests only the contract of port.ts, with fresh random keys (docs/design.md §6.1).
 * Over 400 lines: it is the whole contract, operation by operation, in the one place every adapter runs; its
 * two-instance part is in two-instances.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialRow, CredentialUpdate, Store } from '../../lib/store/port';
import { emptyRow } from '../../lib/store/row';
import { twoInstanceConformance } from './two-instances';

/** A credential row as the previous code wrote it: a lease until a time, and no beat, failures nor retryAt. */
export interface OldRow {
  value: string;
  expiresAt: number;
  version: number;
  /** The instance that held the lease when the row was written (its lease_until lies ahead). */
  leaseOwner: string;
}

export interface ConformanceOptions {
  /** Writes a row as the previous code did, behind the adapter's back, for the adapters that had one. */
  writeOldRow?(key: string, row: OldRow): Promise<void>;
  /** Run the two-instance part (default true); a second run of one adapter in another mode may leave it out. */
  twoInstances?: boolean;
}

/** The row `acquireLease` creates, before its lease is taken. */
const EMPTY: CredentialRow = emptyRow('');

export function storeConformance(name: string, open: () => Promise<Store>, options: ConformanceOptions = {}): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    const run = randomUUID().slice(0, 8);
    let seq = 0;
    /** A key no other test (nor run) uses. */
    const fresh = (label = 'k') => `conf:${run}:${++seq}:${label}:${randomUUID()}`;
    const MIN = 60_000;
    const update = (value: string, at: number): CredentialUpdate => ({
      value,
      expiresAt: at + 120 * MIN,
      refreshedAt: at,
      forcedAt: at - 5,
    });

    describe('read', () => {
      it('returns null for a key never written nor leased', async () => {
        expect(await store.read(fresh())).toBeNull();
      });
    });

    /** A row as the lease leaves it, from its parts that matter here. */
    const leaseRow = (key: string, leaseOwner: string, leaseBeat: number): CredentialRow => ({
      ...EMPTY,
      key,
      leaseOwner,
      leaseBeat,
    });

    describe('acquireLease', () => {
      it('creates an absent row (version 0, no value) leased at beat 1, and returns it', async () => {
        const key = fresh();
        const row = await store.acquireLease(key, 'owner-a');
        expect(row).toEqual(leaseRow(key, 'owner-a', 1));
        expect(await store.read(key)).toEqual(leaseRow(key, 'owner-a', 1));
      });

      it('returns null while somebody holds the lease, the holder included, unless `seen` is exactly it; changes nothing', async () => {
        const key = fresh();
        await store.acquireLease(key, 'owner-a');
        await store.renewLease(key, 'owner-a');
        const before = await store.read(key);
        expect(before).toMatchObject({ leaseOwner: 'owner-a', leaseBeat: 2 });
        expect(await store.acquireLease(key, 'owner-b')).toBeNull();
        expect(await store.acquireLease(key, 'owner-a')).toBeNull();
        expect(await store.acquireLease(key, 'owner-b', { owner: 'owner-a', beat: 1 })).toBeNull(); // it beat since
        expect(await store.acquireLease(key, 'owner-b', { owner: 'owner-a', beat: 3 })).toBeNull();
        expect(await store.acquireLease(key, 'owner-b', { owner: 'owner-c', beat: 2 })).toBeNull();
        expect(await store.acquireLease(key, 'owner-b', { owner: '', beat: 2 })).toBeNull();
        expect(await store.read(key)).toEqual(before);
      });

      it('takes over a lease still exactly as `seen` (its holder stood still): beat + 1, and the old holder is out', async () => {
        const key = fresh();
        const first = await store.acquireLease(key, 'owner-a');
        const taken = await store.acquireLease(key, 'owner-b', { owner: 'owner-a', beat: first!.leaseBeat });
        expect(taken).toEqual(leaseRow(key, 'owner-b', 2));
        expect(await store.read(key)).toEqual(taken);
        // the same sighting cannot serve twice, and the holder that was replaced can no longer renew
        expect(await store.acquireLease(key, 'owner-c', { owner: 'owner-a', beat: first!.leaseBeat })).toBeNull();
        expect(await store.renewLease(key, 'owner-a')).toBe(false);
        expect(await store.acquireLease(key, 'owner-c', { owner: 'owner-b', beat: 2 })).toMatchObject({
          leaseOwner: 'owner-c',
          leaseBeat: 3,
        });
      });

      it('takes a free row without `seen` and with any `seen`; the beat goes on counting across commits', async () => {
        const key = fresh();
        const first = await store.acquireLease(key, 'a');
        const u = update('value-1', Date.now());
        expect(await store.commit(key, 'a', first!.version, u)).toBe(true);
        const row = await store.acquireLease(key, 'b');
        expect(row).toEqual({
          ...EMPTY,
          key,
          value: 'value-1',
          version: 1,
          expiresAt: u.expiresAt,
          refreshedAt: u.refreshedAt,
          forcedAt: u.forcedAt,
          leaseOwner: 'b',
          leaseBeat: 2,
        });
        await store.releaseLease(key, 'b');
        expect(await store.acquireLease(key, 'c', { owner: 'somebody-else', beat: 7 })).toMatchObject({
          leaseOwner: 'c',
          leaseBeat: 3,
          value: 'value-1',
        });
      });

      if (options.writeOldRow) {
        const writeOldRow = options.writeOldRow;
        it('reads a row written before leases had beats (beat, failures, retryAt 0) and takes over its lease by watching it', async () => {
          const key = fresh();
          const at = Date.now();
          await writeOldRow(key, {
            value: 'old-token',
            expiresAt: at + 7_200_000,
            version: 4,
            leaseOwner: 'old-wecred',
          });
          const old = { ...EMPTY, key, value: 'old-token', expiresAt: at + 7_200_000, version: 4 };
          expect(await store.read(key)).toEqual({ ...old, leaseOwner: 'old-wecred' });
          expect(await store.acquireLease(key, 'new')).toBeNull();
          // its beat reads 0, and only a sighting at beat 0 takes it over
          expect(await store.acquireLease(key, 'new', { owner: 'old-wecred', beat: 1 })).toBeNull();
          const taken = await store.acquireLease(key, 'new', { owner: 'old-wecred', beat: 0 });
          expect(taken).toEqual({ ...old, leaseOwner: 'new', leaseBeat: 1 });
          expect(await store.commit(key, 'new', 4, update('new-token', at))).toBe(true);
          expect(await store.read(key)).toMatchObject({ value: 'new-token', version: 5, leaseOwner: '' });
        });
      }
    });

    describe('renewLease', () => {
      it('by the holder: true, beat + 1, nothing else changes', async () => {
        const key = fresh();
        const leased = await store.acquireLease(key, 'a');
        expect(await store.renewLease(key, 'a')).toBe(true);
        expect(await store.read(key)).toEqual({ ...leased, leaseBeat: 2 });
        expect(await store.renewLease(key, 'a')).toBe(true);
        expect(await store.read(key)).toEqual({ ...leased, leaseBeat: 3 });
      });

      it("false and nothing changes: another owner, owner '', a released, committed or taken-over lease, an absent row", async () => {
        const key = fresh();
        await store.acquireLease(key, 'a');
        const held = await store.read(key);
        expect(await store.renewLease(key, 'b')).toBe(false);
        expect(await store.renewLease(key, '')).toBe(false);
        expect(await store.read(key)).toEqual(held);

        await store.releaseLease(key, 'a');
        const released = await store.read(key);
        expect(await store.renewLease(key, 'a')).toBe(false);
        expect(await store.renewLease(key, '')).toBe(false); // '' is nobody, not the free lease
        expect(await store.read(key)).toEqual(released);

        await store.acquireLease(key, 'b');
        expect(await store.commit(key, 'b', 0, update('v', Date.now()))).toBe(true);
        const committed = await store.read(key);
        expect(await store.renewLease(key, 'b')).toBe(false);
        expect(await store.read(key)).toEqual(committed);

        const c = await store.acquireLease(key, 'c');
        await store.acquireLease(key, 'd', { owner: 'c', beat: c!.leaseBeat });
        const taken = await store.read(key);
        expect(await store.renewLease(key, 'c')).toBe(false);
        expect(await store.read(key)).toEqual(taken);

        const absent = fresh();
        expect(await store.renewLease(absent, 'a')).toBe(false);
        expect(await store.read(absent)).toBeNull();
      });
    });

    describe('commit', () => {
      it('with the expected version: true, version + 1, fields stored, lease cleared, failures reset', async () => {
        const key = fresh();
        const now = Date.now();
        await store.releaseLease(key, 'nobody', { failures: 3, retryAt: now + 9_000 });
        const leased = await store.acquireLease(key, 'a');
        expect(leased).toMatchObject({ failures: 3, retryAt: now + 9_000 });
        const u = update('token-1', now);
        expect(await store.commit(key, 'a', leased!.version, u)).toBe(true);
        expect(await store.read(key)).toEqual({
          ...EMPTY,
          key,
          value: 'token-1',
          expiresAt: u.expiresAt,
          refreshedAt: u.refreshedAt,
          forcedAt: u.forcedAt,
          version: 1,
          leaseBeat: 1,
        });
        // the commit consumed the lease: the same owner cannot commit again without retaking it
        expect(await store.commit(key, 'a', 1, update('token-again', now + 1))).toBe(false);
        // and again: each commit moves the version on by one
        await store.acquireLease(key, 'b');
        expect(await store.commit(key, 'b', 1, update('token-2', now + 1))).toBe(true);
        expect(await store.read(key)).toMatchObject({ value: 'token-2', version: 2, leaseOwner: '' });
      });

      it('with a stale version: false and nothing changes, even for the lease owner', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'a');
        expect(await store.commit(key, 'a', 0, update('token-1', now))).toBe(true);
        await store.acquireLease(key, 'b');
        const before = await store.read(key);
        expect(await store.commit(key, 'b', 0, update('token-stale', now + 5))).toBe(false);
        expect(await store.commit(key, 'b', 7, update('token-future', now + 5))).toBe(false);
        expect(await store.read(key)).toEqual(before);
      });

      it('by a non-owner with the right version while the lease is held: false and nothing changes', async () => {
        const key = fresh();
        const now = Date.now();
        const leased = await store.acquireLease(key, 'a');
        const before = await store.read(key);
        expect(await store.commit(key, 'b', leased!.version, update('token-intruder', now))).toBe(false);
        expect(await store.read(key)).toEqual(before);
        // the holder still commits
        expect(await store.commit(key, 'a', leased!.version, update('token-a', now))).toBe(true);
        expect(await store.read(key)).toMatchObject({ value: 'token-a', version: 1, leaseOwner: '' });
      });

      it('by an owner whose lease was taken over: false and nothing changes; the new owner commits', async () => {
        const key = fresh();
        const now = Date.now();
        const stale = await store.acquireLease(key, 'a');
        const taken = await store.acquireLease(key, 'b', { owner: 'a', beat: stale!.leaseBeat }); // a stood still
        expect(taken).not.toBeNull();
        expect(taken!.version).toBe(stale!.version); // same version: only the owner fences a out
        const before = await store.read(key);
        expect(await store.commit(key, 'a', stale!.version, update('token-stale', now + 15_000))).toBe(false);
        expect(await store.read(key)).toEqual(before);

        const u = update('token-b', now + 20_000);
        expect(await store.commit(key, 'b', taken!.version, u)).toBe(true);
        expect(await store.read(key)).toEqual({
          ...before,
          value: 'token-b',
          expiresAt: u.expiresAt,
          refreshedAt: u.refreshedAt,
          forcedAt: u.forcedAt,
          version: 1,
          leaseOwner: '',
        });
        // and a's late commit still changes nothing
        expect(await store.commit(key, 'a', stale!.version, update('token-stale', now + 25_000))).toBe(false);
        expect((await store.read(key))!.value).toBe('token-b');
      });

      it('by the owner whose lease stood still but nobody took it: true (only a take-over ends a lease)', async () => {
        const key = fresh();
        const now = Date.now();
        const leased = await store.acquireLease(key, 'a');
        await new Promise((resolve) => setTimeout(resolve, 50));
        const u = update('token-late', now);
        expect(await store.commit(key, 'a', leased!.version, u)).toBe(true);
        expect(await store.read(key)).toMatchObject({
          value: 'token-late',
          expiresAt: u.expiresAt,
          version: 1,
          leaseOwner: '',
        });
      });

      it("on an absent row, with owner '', or after the owner released the lease: false and nothing changes", async () => {
        const absent = fresh();
        const now = Date.now();
        expect(await store.commit(absent, 'a', 0, update('v', now))).toBe(false);
        expect(await store.read(absent)).toBeNull();

        // a row nobody holds (leaseOwner ''): owner '' must not match it
        const key = fresh();
        await store.acquireLease(key, 'a');
        expect(await store.commit(key, 'a', 0, update('v1', now))).toBe(true);
        const free = await store.read(key);
        expect(free).toMatchObject({ leaseOwner: '', version: 1 });
        expect(await store.commit(key, '', 1, update('v-empty-owner', now))).toBe(false);
        expect(await store.read(key)).toEqual(free);

        // released: the former owner can no longer commit
        await store.acquireLease(key, 'a');
        await store.releaseLease(key, 'a');
        const released = await store.read(key);
        expect(await store.commit(key, 'a', 1, update('v-after-release', now))).toBe(false);
        expect(await store.read(key)).toEqual(released);
      });
    });

    describe('releaseLease', () => {
      it('with an outcome on a key never written creates the row with it; without one creates nothing', async () => {
        const now = Date.now();
        const blocked = fresh();
        await store.releaseLease(blocked, 'owner-a', { blockedUntil: now + 60_000 });
        expect(await store.read(blocked)).toEqual({ ...EMPTY, key: blocked, blockedUntil: now + 60_000 });
        const failing = fresh();
        await store.releaseLease(failing, 'owner-a', { failures: 2, retryAt: now + 4_000 });
        expect(await store.read(failing)).toEqual({ ...EMPTY, key: failing, failures: 2, retryAt: now + 4_000 });
        const untouched = fresh();
        await store.releaseLease(untouched, 'owner-a');
        expect(await store.read(untouched)).toBeNull();
      });

      it('by the owner clears the lease and nothing else (the beat stays)', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'a');
        expect(await store.commit(key, 'a', 0, update('v', now))).toBe(true);
        await store.acquireLease(key, 'a');
        await store.renewLease(key, 'a');
        const before = await store.read(key);
        expect(before).toMatchObject({ leaseOwner: 'a', leaseBeat: 3 });
        await store.releaseLease(key, 'a');
        expect(await store.read(key)).toEqual({ ...before, leaseOwner: '' });
      });

      it('by a non-owner changes nothing', async () => {
        const key = fresh();
        await store.acquireLease(key, 'a');
        const before = await store.read(key);
        await store.releaseLease(key, 'b');
        await store.releaseLease(key, '');
        expect(await store.read(key)).toEqual(before);
        expect(await store.acquireLease(key, 'b')).toBeNull();
      });

      it('lets the lease be retaken at once', async () => {
        const key = fresh();
        await store.acquireLease(key, 'a');
        await store.releaseLease(key, 'a');
        const row = await store.acquireLease(key, 'b');
        expect(row).toMatchObject({ leaseOwner: 'b', leaseBeat: 2 });
      });

      it('stores the outcome whoever holds the lease, each field given and no other; reads and commits keep blockedUntil', async () => {
        const key = fresh();
        const now = Date.now();
        const blocked = now + 3_600_000;
        await store.acquireLease(key, 'a');
        await store.releaseLease(key, 'b', { blockedUntil: blocked }); // non-owner: stored, lease untouched
        let row = await store.read(key);
        expect(row).toEqual({ ...leaseRow(key, 'a', 1), blockedUntil: blocked });
        await store.releaseLease(key, 'b', { failures: 1, retryAt: now + 2_000 }); // blockedUntil kept
        row = await store.read(key);
        expect(row).toEqual({ ...leaseRow(key, 'a', 1), blockedUntil: blocked, failures: 1, retryAt: now + 2_000 });

        await store.releaseLease(key, 'a', { blockedUntil: blocked + 1, failures: 2 }); // owner: stored and lease cleared
        row = await store.read(key);
        expect(row).toEqual({ ...leaseRow(key, '', 1), blockedUntil: blocked + 1, failures: 2, retryAt: now + 2_000 });

        const leased = await store.acquireLease(key, 'c');
        expect(leased).toMatchObject({ blockedUntil: blocked + 1, failures: 2, retryAt: now + 2_000 });
        expect(await store.commit(key, 'c', leased!.version, update('v', now))).toBe(true);
        expect(await store.read(key)).toMatchObject({
          value: 'v',
          version: 1,
          blockedUntil: blocked + 1,
          failures: 0,
          retryAt: 0,
        });
        await store.releaseLease(key, 'c'); // without an outcome: kept
        expect((await store.read(key))!.blockedUntil).toBe(blocked + 1);
        await store.releaseLease(key, 'c', { blockedUntil: 0 }); // and lifted
        expect((await store.read(key))!.blockedUntil).toBe(0);
        // a field present but undefined is not given: the others are stored, it is kept
        await store.releaseLease(key, 'c', { blockedUntil: undefined, failures: 3, retryAt: undefined });
        expect(await store.read(key)).toMatchObject({ blockedUntil: 0, failures: 3, retryAt: 0 });
      });
    });

    describe('insertIfAbsent', () => {
      it('inserts once, refuses while unexpired, inserts again after expiry', async () => {
        const key = fresh('nonce');
        const now = Date.now();
        expect(await store.insertIfAbsent(key, now + MIN, now)).toBe(true);
        expect(await store.insertIfAbsent(key, now + MIN, now)).toBe(false);
        expect(await store.insertIfAbsent(key, now + 2 * MIN, now + MIN - 1)).toBe(false);
        expect(await store.insertIfAbsent(key, now + 3 * MIN, now + 2 * MIN)).toBe(true);
        // the new entry carries its own expiry
        expect(await store.insertIfAbsent(key, now + 4 * MIN, now + 2 * MIN + 1)).toBe(false);
        expect(await store.insertIfAbsent(key, now + 5 * MIN, now + 4 * MIN)).toBe(true);
        // expiresAt <= now is expired, as for records: at its very expiry the key is free again
        expect(await store.insertIfAbsent(key, now + 6 * MIN, now + 5 * MIN - 1)).toBe(false);
        expect(await store.insertIfAbsent(key, now + 6 * MIN, now + 5 * MIN)).toBe(true);
      });

      it('keeps keys apart', async () => {
        const a = fresh('nonce');
        const b = fresh('nonce');
        const now = Date.now();
        expect(await store.insertIfAbsent(a, now + MIN, now)).toBe(true);
        expect(await store.insertIfAbsent(b, now + MIN, now)).toBe(true);
        expect(await store.insertIfAbsent(a, now + MIN, now)).toBe(false);
      });
    });

    describe('increment', () => {
      it('creates at `by`, adds, reads with by = 0, resets after expiry', async () => {
        const key = fresh('counter');
        const now = Date.now();
        expect(await store.increment(key, 0, now + MIN, now)).toBe(0);
        expect(await store.increment(key, 1, now + MIN, now)).toBe(1);
        expect(await store.increment(key, 2, now + MIN, now)).toBe(3);
        expect(await store.increment(key, 5, now + MIN, now + 1)).toBe(8);
        expect(await store.increment(key, 0, now + MIN, now + 2)).toBe(8);
        expect(await store.increment(key, 0, now + MIN, now + 3)).toBe(8);
        // expired: starts again from 0 with the new expiry
        expect(await store.increment(key, 0, now + 3 * MIN, now + 2 * MIN)).toBe(0);
        expect(await store.increment(key, 4, now + 3 * MIN, now + 2 * MIN)).toBe(4);
        expect(await store.increment(key, 1, now + 3 * MIN, now + 2 * MIN + 1)).toBe(5);
      });

      it('sets expiresAt on creation only', async () => {
        const key = fresh('counter');
        const now = Date.now();
        expect(await store.increment(key, 1, now + MIN, now)).toBe(1);
        expect(await store.increment(key, 1, now + 10 * MIN, now + 1)).toBe(2);
        expect(await store.increment(key, 0, now + 10 * MIN, now + 2 * MIN)).toBe(0);
        expect(await store.increment(key, 1, now + 10 * MIN, now + 2 * MIN)).toBe(1);
      });

      it('takes back from a live counter with a negative `by`, also under concurrent increments, never below 0', async () => {
        const key = fresh('counter');
        const now = Date.now();
        expect(await store.increment(key, 3, now + MIN, now)).toBe(3);
        expect(await store.increment(key, -1, now + MIN, now)).toBe(2);
        expect(await store.increment(key, 10, now + MIN, now)).toBe(12);
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.increment(key, i % 2 === 0 ? 1 : -1, now + MIN, now)),
        );
        expect(await store.increment(key, 0, now + MIN, now)).toBe(12);
        expect(await store.increment(key, -12, now + MIN, now)).toBe(0);
        expect(await store.increment(key, 2, now + MIN, now)).toBe(2);
        expect(await store.increment(key, -5, now + MIN, now)).toBe(0);
        expect(await store.increment(key, 0, now + MIN, now)).toBe(0);
        expect(await store.increment(key, 1, now + 5 * MIN, now)).toBe(1); // still the same counter: its first expiry holds
        expect(await store.increment(key, 0, now + 5 * MIN, now + MIN)).toBe(0);
      });

      it('a negative `by` never creates a counter: absent or expired, it stays so', async () => {
        const absent = fresh('counter');
        const now = Date.now();
        expect(await store.increment(absent, -1, now + MIN, now)).toBe(0);
        expect(await store.increment(absent, 1, now + MIN, now)).toBe(1); // created by this increment, not below it
        const expired = fresh('counter');
        expect(await store.increment(expired, 4, now + MIN, now)).toBe(4);
        expect(await store.increment(expired, -1, now + 3 * MIN, now + MIN)).toBe(0);
        expect(await store.increment(expired, 0, now + 3 * MIN, now + MIN)).toBe(0);
        // Had the take-back revived it (at 3, or -1 from 0), this would not be 1; nor would it reset after `now + MIN`.
        expect(await store.increment(expired, 1, now + 2 * MIN, now + MIN)).toBe(1);
        expect(await store.increment(expired, 0, now + 3 * MIN, now + 2 * MIN)).toBe(0);
      });

      it('keeps keys apart', async () => {
        const a = fresh('counter');
        const b = fresh('counter');
        const now = Date.now();
        await store.increment(a, 3, now + MIN, now);
        expect(await store.increment(b, 1, now + MIN, now)).toBe(1);
        expect(await store.increment(a, 0, now + MIN, now)).toBe(3);
      });
    });

    describe('records', () => {
      it('round trip; null for a key never put', async () => {
        const key = fresh('record');
        const now = Date.now();
        expect(await store.getRecord(key, now)).toBeNull();
        await store.putRecord(key, 'token-1', now + MIN, now);
        expect(await store.getRecord(key, now)).toBe('token-1');
        expect(await store.getRecord(key, now)).toBe('token-1');
      });

      it('put replaces the value and the expiry', async () => {
        const key = fresh('record');
        const now = Date.now();
        await store.putRecord(key, 'token-1', now + 10 * MIN, now);
        await store.putRecord(key, 'token-2', now + MIN, now);
        expect(await store.getRecord(key, now + MIN - 1)).toBe('token-2');
        expect(await store.getRecord(key, now + MIN)).toBeNull(); // the new, shorter expiry
      });

      it("expires by the caller's now: expiresAt > now is live, expiresAt <= now is gone", async () => {
        const key = fresh('record');
        const now = Date.now();
        await store.putRecord(key, 'v', now + MIN, now);
        expect(await store.getRecord(key, now)).toBe('v');
        expect(await store.getRecord(key, now + MIN - 1)).toBe('v');
        expect(await store.getRecord(key, now + MIN)).toBeNull();
        expect(await store.getRecord(key, now + 2 * MIN)).toBeNull();
        // a put that is expired already replaces a live record all the same
        const dead = fresh('record');
        await store.putRecord(dead, 'live', now + MIN, now);
        await store.putRecord(dead, 'dead', now - 1, now);
        expect(await store.getRecord(dead, now)).toBeNull();
        // and so does one that expires at the very `now` it is put
        await store.putRecord(dead, 'live', now + MIN, now);
        await store.putRecord(dead, 'dead-at-once', now, now);
        expect(await store.getRecord(dead, now)).toBeNull();
      });

      it("lives by the caller's clock: neither the host's clock nor another call's `now` shortens it", async () => {
        const behind = Date.now() - 86_400_000; // the caller's clock runs a day behind the host's
        const ahead = Date.now() + 365 * 86_400_000;
        const other = await open(); // a fresh instance: some adapters sweep on their first writes
        try {
          expect(await other.getRecord(fresh('record'), ahead)).toBeNull();
          expect(await other.insertIfAbsent(fresh('nonce'), ahead + MIN, ahead)).toBe(true);
          const keys = [fresh('record'), fresh('record'), fresh('record')];
          for (const k of keys) await other.putRecord(k, 'v', behind + MIN, behind);
          for (const k of keys) expect(await other.getRecord(k, behind + MIN - 1)).toBe('v');
        } finally {
          await other.close();
        }
      });

      it('delete removes the record, deleting an absent one is fine, and a later put works', async () => {
        const key = fresh('record');
        const now = Date.now();
        await store.putRecord(key, 'v', now + MIN, now);
        await store.deleteRecord(key);
        expect(await store.getRecord(key, now)).toBeNull();
        await expect(store.deleteRecord(key)).resolves.toBeUndefined();
        await expect(store.deleteRecord(fresh('record'))).resolves.toBeUndefined();
        await store.putRecord(key, 'again', now + MIN, now);
        expect(await store.getRecord(key, now)).toBe('again');
      });

      it('records and credentials, nonces, counters of the same key string stay apart', async () => {
        const now = Date.now();
        // a record first: it creates none of the others
        const a = fresh('shared');
        await store.putRecord(a, 'record-a', now + MIN, now);
        expect(await store.read(a)).toBeNull();
        expect(await store.increment(a, 0, now + MIN, now)).toBe(0);
        expect(await store.insertIfAbsent(a, now + MIN, now)).toBe(true);
        expect(await store.getRecord(a, now)).toBe('record-a');

        // the others first: the record is absent, then lives beside them, and goes alone
        const b = fresh('shared');
        await store.acquireLease(b, 'o');
        expect(await store.commit(b, 'o', 0, update('cred-b', now))).toBe(true);
        expect(await store.insertIfAbsent(b, now + MIN, now)).toBe(true);
        expect(await store.increment(b, 5, now + MIN, now)).toBe(5);
        expect(await store.getRecord(b, now)).toBeNull();
        await store.putRecord(b, 'record-b', now + MIN, now);
        expect(await store.getRecord(b, now)).toBe('record-b');
        await store.deleteRecord(b);
        expect(await store.read(b)).toMatchObject({ value: 'cred-b', version: 1 });
        expect(await store.insertIfAbsent(b, now + MIN, now)).toBe(false);
        expect(await store.increment(b, 0, now + MIN, now)).toBe(5);
        expect(await store.getRecord(b, now)).toBeNull();
      });

      it('values up to 64 KiB and of any Unicode come back byte for byte', async () => {
        const now = Date.now();
        // Every Unicode scalar value is fair; lone surrogates are not Unicode text and are not tried.
        const values = [
          '',
          ' ',
          ' padded \t\n',
          'x'.repeat(64 * 1024),
          '😀'.repeat(16 * 1024), // 64 KiB of 4-byte UTF-8
          `${'应用令牌'.repeat(5461)}abcd`, // 64 KiB: 3-byte UTF-8 and 4 ASCII
          'nul\u0000inside\u0000',
          '\u0001\u001f\u007f\u0080\u00ff',
          'e\u0301 \u202eright-to-left\u202c \u200d\ufeff',
          '\uffff\ufffe\ufffd\u{10ffff}\u{1f3f3}\u{fe0f}\u{200d}\u{1f308}',
          '12345:not-a-prefix',
          '{"key":"x","value":1,"expiresAt":2}',
          'it\'s "quoted" \\ back\\slashed; DROP TABLE records; --',
          'line\r\nbreaks\rand\nmore',
        ];
        const keys = values.map(() => fresh('record'));
        for (const [i, v] of values.entries()) await store.putRecord(keys[i]!, v, now + MIN, now);
        for (const [i, v] of values.entries()) {
          const got = await store.getRecord(keys[i]!, now);
          expect(got === null ? null : Buffer.from(got, 'utf8').equals(Buffer.from(v, 'utf8')), `value ${i}`).toBe(
            true,
          );
          expect(got, `value ${i}`).toBe(v);
        }
      });

      it('50 concurrent puts of different keys each land', async () => {
        const now = Date.now();
        const keys = Array.from({ length: 50 }, () => fresh('record'));
        await Promise.all(keys.map((k, i) => store.putRecord(k, `value-${i}`, now + MIN, now)));
        const got = await Promise.all(keys.map((k) => store.getRecord(k, now)));
        expect(got).toEqual(keys.map((_, i) => `value-${i}`));
      });

      it('20 concurrent puts of one key leave one of the values, whole', async () => {
        const key = fresh('record');
        const now = Date.now();
        const values = Array.from({ length: 20 }, (_, i) => `value-${i}-${String(i).repeat(1000)}`);
        await Promise.all(values.map((v) => store.putRecord(key, v, now + MIN, now)));
        expect(values).toContain(await store.getRecord(key, now));
      });
    });

    describe('concurrency', () => {
      it('50 concurrent acquireLease on one key: exactly one wins', async () => {
        const key = fresh();
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.acquireLease(key, `owner-${i}`)));
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect((await store.read(key))!.leaseOwner).toBe(winners[0]!.leaseOwner);
      });

      it('50 concurrent acquireLease on an existing, free row: exactly one wins', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'setup');
        expect(await store.commit(key, 'setup', 0, update('v', now))).toBe(true);
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.acquireLease(key, `owner-${i}`)));
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it('50 concurrent take-overs of one sighting of a lease: exactly one wins', async () => {
        const key = fresh();
        const held = await store.acquireLease(key, 'silent');
        const seen = { owner: 'silent', beat: held!.leaseBeat };
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.acquireLease(key, `owner-${i}`, seen)),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect(await store.read(key)).toMatchObject({ leaseOwner: winners[0]!.leaseOwner, leaseBeat: 2 });
      });

      it('50 concurrent renewals: every beat counts', async () => {
        const key = fresh();
        await store.acquireLease(key, 'a');
        const results = await Promise.all(Array.from({ length: 50 }, () => store.renewLease(key, 'a')));
        expect(results.every(Boolean)).toBe(true);
        expect(await store.read(key)).toMatchObject({ leaseOwner: 'a', leaseBeat: 51 });
      });

      it('a renewal racing a take-over of the same sighting: exactly one of them succeeds, 20 times over', async () => {
        const key = fresh();
        let holder = 'owner-0';
        await store.acquireLease(key, holder);
        for (let round = 1; round <= 20; round++) {
          const row = (await store.read(key))!;
          const contender = `owner-${round}`;
          const [renewed, taken] = await Promise.all([
            store.renewLease(key, holder),
            store.acquireLease(key, contender, { owner: holder, beat: row.leaseBeat }),
          ]);
          expect([renewed, taken !== null].filter(Boolean), `round ${round}`).toHaveLength(1);
          if (taken) holder = contender;
          expect(await store.read(key)).toMatchObject({ leaseOwner: holder, leaseBeat: row.leaseBeat + 1 });
        }
      });

      it('50 concurrent increments: every value 1..50 exactly once', async () => {
        const key = fresh('counter');
        const now = Date.now();
        const values = await Promise.all(Array.from({ length: 50 }, () => store.increment(key, 1, now + MIN, now)));
        expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(await store.increment(key, 0, now + MIN, now)).toBe(50);
      });

      it('20 concurrent commits of the same expected version: exactly one succeeds', async () => {
        const key = fresh();
        const now = Date.now();
        const leased = await store.acquireLease(key, 'a');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.commit(key, 'a', leased!.version, update(`value-${i}`, now))),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await store.read(key)).toMatchObject({ value: `value-${winner}`, version: 1, leaseOwner: '' });
      });

      it('20 concurrent commits of the right version, half by non-owners: exactly one succeeds, by the owner', async () => {
        const key = fresh();
        const now = Date.now();
        const leased = await store.acquireLease(key, 'a');
        const owners = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'a' : `intruder-${i}`));
        const results = await Promise.all(
          owners.map((o, i) => store.commit(key, o, leased!.version, update(`value-${i}`, now))),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(owners[winner]).toBe('a');
        expect(await store.read(key)).toMatchObject({ value: `value-${winner}`, version: 1, leaseOwner: '' });
      });

      it('50 concurrent insertIfAbsent of one key: exactly one true', async () => {
        const key = fresh('nonce');
        const now = Date.now();
        const results = await Promise.all(Array.from({ length: 50 }, () => store.insertIfAbsent(key, now + MIN, now)));
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('keys', () => {
      const odd = [
        'mp:wx1234567890abcdef:token',
        'work:ww123/456:1000002:agent_ticket',
        'with spaces and\ttabs',
        '应用:令牌/票据',
        'emoji:😀/🔑',
        'Case:Key',
        'case:key',
        'CASE:KEY',
        '.',
        '..',
        '../../../etc/passwd',
        'a\\b',
        'percent%2F_5f_',
        'x'.repeat(300),
        `${'x'.repeat(299)}y`,
      ];

      it("keeps keys with ':' '/' spaces, unicode, case and length differences apart", async () => {
        const prefix = fresh('odd');
        const now = Date.now();
        for (const [i, k] of odd.entries()) {
          const key = `${prefix}:${k}`;
          const leased = await store.acquireLease(key, 'a');
          expect(leased, k).not.toBeNull();
          expect(leased!.key).toBe(key);
          expect(await store.commit(key, 'a', 0, update(`value-${i}`, now))).toBe(true);
        }
        for (const [i, k] of odd.entries()) {
          const key = `${prefix}:${k}`;
          expect(await store.read(key), k).toMatchObject({ key, value: `value-${i}`, version: 1 });
        }
      });

      it('the bare odd keys work too (credentials, nonces, counters, records)', async () => {
        // Unprefixed keys may be shared with earlier runs against a persistent database, so
        // only relative behaviour is asserted.
        const now = Date.now();
        const tag = randomUUID();
        for (const k of odd) {
          expect(await store.read(`${k}${tag}:row`), k).toBeNull();
          expect(await store.acquireLease(`${k}${tag}:row`, 'a'), k).not.toBeNull();
          expect(await store.commit(`${k}${tag}:row`, 'a', 0, update('v', now)), k).toBe(true);
          expect(await store.insertIfAbsent(`${k}${tag}:nonce`, now + MIN, now), k).toBe(true);
          expect(await store.insertIfAbsent(`${k}${tag}:nonce`, now + MIN, now), k).toBe(false);
          expect(await store.increment(`${k}${tag}:counter`, 2, now + MIN, now), k).toBe(2);
          expect(await store.increment(`${k}${tag}:counter`, 1, now + MIN, now), k).toBe(3);
          await store.putRecord(`${k}${tag}:record`, k, now + MIN, now);
        }
        for (const k of odd) expect(await store.getRecord(`${k}${tag}:record`, now), k).toBe(k);
      });
    });

    describe('isolation of returned rows', () => {
      it('rows returned by read and acquireLease are copies', async () => {
        const key = fresh();
        const leased = await store.acquireLease(key, 'a');
        leased!.value = 'mutated';
        leased!.version = 42;
        leased!.leaseOwner = 'mallory';
        const read1 = await store.read(key);
        expect(read1).toMatchObject({ value: '', version: 0, leaseOwner: 'a' });
        read1!.value = 'mutated again';
        read1!.leaseBeat = 0;
        expect(await store.read(key)).toMatchObject({ value: '', version: 0, leaseOwner: 'a', leaseBeat: 1 });
        expect(await store.acquireLease(key, 'b')).toBeNull();
      });
    });

    if (options.twoInstances !== false) twoInstanceConformance(open);

    describe('close', () => {
      it('resolves (on a separately opened instance)', async () => {
        const other = await open();
        expect(typeof other.kind).toBe('string');
        await other.read(fresh());
        await expect(other.close()).resolves.toBeUndefined();
      });
    });
  });
}
