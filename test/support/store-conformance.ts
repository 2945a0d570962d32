/**
 * The Store conformance suite: every adapter (memory, file, mysql, dynamodb, redis) calls
 * `storeConformance('name', open)` from its test file and must pass it unchanged.
 *
 * It tests only the contract of `port.ts`. Every test uses fresh random keys, so the suite can
 * run against a shared database that other runs (or other suites) also use. Times are passed
 * explicitly, based on the real clock so adapters with native TTLs keep rows alive.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialRow, CredentialUpdate, Store } from '../../lib/store/port';

export function storeConformance(name: string, open: () => Promise<Store>): void {
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

    describe('acquireLease', () => {
      it('creates an absent row (version 0, no value) with the lease taken, and returns it', async () => {
        const key = fresh();
        const now = Date.now();
        const row = await store.acquireLease(key, 'owner-a', now + 10_000, now);
        const expected: CredentialRow = {
          key,
          value: '',
          expiresAt: 0,
          refreshedAt: 0,
          version: 0,
          leaseOwner: 'owner-a',
          leaseUntil: now + 10_000,
          forcedAt: 0,
          blockedUntil: 0,
        };
        expect(row).toEqual(expected);
        expect(await store.read(key)).toEqual(expected);
      });

      it('returns null while somebody holds the lease (leaseUntil > now), the holder included, and changes nothing', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'owner-a', now + 10_000, now);
        const before = await store.read(key);
        expect(await store.acquireLease(key, 'owner-b', now + 20_000, now)).toBeNull();
        expect(await store.acquireLease(key, 'owner-b', now + 20_000, now + 9_999)).toBeNull();
        expect(await store.acquireLease(key, 'owner-a', now + 20_000, now + 1)).toBeNull();
        expect(await store.read(key)).toEqual(before);
      });

      it('lets another owner win once leaseUntil <= now (a dead holder blocks nobody)', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'owner-a', now + 10_000, now);
        const row = await store.acquireLease(key, 'owner-b', now + 30_000, now + 10_000);
        expect(row).not.toBeNull();
        expect(row!.leaseOwner).toBe('owner-b');
        expect(row!.leaseUntil).toBe(now + 30_000);
        expect((await store.read(key))!.leaseOwner).toBe('owner-b');
        const later = await store.acquireLease(key, 'owner-c', now + 99_000, now + 60_000);
        expect(later!.leaseOwner).toBe('owner-c');
      });

      it('returns the latest value and version of an existing row', async () => {
        const key = fresh();
        const now = Date.now();
        const first = await store.acquireLease(key, 'a', now + 10_000, now);
        const u = update('value-1', now);
        expect(await store.commit(key, 'a', first!.version, u)).toBe(true);
        const row = await store.acquireLease(key, 'b', now + 10_000, now);
        expect(row).toMatchObject({
          key,
          value: 'value-1',
          version: 1,
          expiresAt: u.expiresAt,
          refreshedAt: u.refreshedAt,
          forcedAt: u.forcedAt,
          leaseOwner: 'b',
        });
      });
    });

    describe('commit', () => {
      it('with the expected version: true, version + 1, fields stored, lease cleared', async () => {
        const key = fresh();
        const now = Date.now();
        const leased = await store.acquireLease(key, 'a', now + 10_000, now);
        const u = update('token-1', now);
        expect(await store.commit(key, 'a', leased!.version, u)).toBe(true);
        expect(await store.read(key)).toEqual({
          key,
          value: 'token-1',
          expiresAt: u.expiresAt,
          refreshedAt: u.refreshedAt,
          version: 1,
          leaseOwner: '',
          leaseUntil: 0,
          forcedAt: u.forcedAt,
          blockedUntil: 0,
        });
        // the commit consumed the lease: the same owner cannot commit again without retaking it
        expect(await store.commit(key, 'a', 1, update('token-again', now + 1))).toBe(false);
        // and again: each commit moves the version on by one
        await store.acquireLease(key, 'b', now + 10_000, now);
        expect(await store.commit(key, 'b', 1, update('token-2', now + 1))).toBe(true);
        expect(await store.read(key)).toMatchObject({ value: 'token-2', version: 2, leaseOwner: '', leaseUntil: 0 });
      });

      it('with a stale version: false and nothing changes, even for the lease owner', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'a', now + 10_000, now);
        expect(await store.commit(key, 'a', 0, update('token-1', now))).toBe(true);
        await store.acquireLease(key, 'b', now + 10_000, now);
        const before = await store.read(key);
        expect(await store.commit(key, 'b', 0, update('token-stale', now + 5))).toBe(false);
        expect(await store.commit(key, 'b', 7, update('token-future', now + 5))).toBe(false);
        expect(await store.read(key)).toEqual(before);
      });

      it('by a non-owner with the right version while the lease is held: false and nothing changes', async () => {
        const key = fresh();
        const now = Date.now();
        const leased = await store.acquireLease(key, 'a', now + 10_000, now);
        const before = await store.read(key);
        expect(await store.commit(key, 'b', leased!.version, update('token-intruder', now))).toBe(false);
        expect(await store.read(key)).toEqual(before);
        // the holder still commits
        expect(await store.commit(key, 'a', leased!.version, update('token-a', now))).toBe(true);
        expect(await store.read(key)).toMatchObject({ value: 'token-a', version: 1, leaseOwner: '', leaseUntil: 0 });
      });

      it('by an owner whose lease expired and was taken over: false and nothing changes; the new owner commits', async () => {
        const key = fresh();
        const now = Date.now();
        const stale = await store.acquireLease(key, 'a', now + 10_000, now);
        const taken = await store.acquireLease(key, 'b', now + 40_000, now + 10_000); // a's lease lapsed
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
          leaseUntil: 0,
        });
        // and a's late commit still changes nothing
        expect(await store.commit(key, 'a', stale!.version, update('token-stale', now + 25_000))).toBe(false);
        expect((await store.read(key))!.value).toBe('token-b');
      });

      it('by the owner after its lease expired by time but nobody took it: true', async () => {
        const key = fresh();
        const now = Date.now();
        // taken 20 s ago for 10 s: expired by time now, still owned by a
        const leased = await store.acquireLease(key, 'a', now - 10_000, now - 20_000);
        expect(leased).not.toBeNull();
        expect(await store.read(key)).toMatchObject({ leaseOwner: 'a', leaseUntil: now - 10_000 });
        const u = update('token-late', now);
        expect(await store.commit(key, 'a', leased!.version, u)).toBe(true);
        expect(await store.read(key)).toMatchObject({
          value: 'token-late',
          expiresAt: u.expiresAt,
          version: 1,
          leaseOwner: '',
          leaseUntil: 0,
        });
      });

      it("on an absent row, with owner '', or after the owner released the lease: false and nothing changes", async () => {
        const absent = fresh();
        const now = Date.now();
        expect(await store.commit(absent, 'a', 0, update('v', now))).toBe(false);
        expect(await store.read(absent)).toBeNull();

        // a row nobody holds (leaseOwner ''): owner '' must not match it
        const key = fresh();
        await store.acquireLease(key, 'a', now + 10_000, now);
        expect(await store.commit(key, 'a', 0, update('v1', now))).toBe(true);
        const free = await store.read(key);
        expect(free).toMatchObject({ leaseOwner: '', version: 1 });
        expect(await store.commit(key, '', 1, update('v-empty-owner', now))).toBe(false);
        expect(await store.read(key)).toEqual(free);

        // released: the former owner can no longer commit
        await store.acquireLease(key, 'a', now + 10_000, now);
        await store.releaseLease(key, 'a');
        const released = await store.read(key);
        expect(await store.commit(key, 'a', 1, update('v-after-release', now))).toBe(false);
        expect(await store.read(key)).toEqual(released);
      });
    });

    describe('releaseLease', () => {
      it('with blockedUntil on a key never written creates the row blocked; without it creates nothing', async () => {
        const now = Date.now();
        const blocked = fresh();
        await store.releaseLease(blocked, 'owner-a', now + 60_000);
        expect(await store.read(blocked)).toMatchObject({
          key: blocked,
          value: '',
          version: 0,
          leaseOwner: '',
          blockedUntil: now + 60_000,
        });
        const untouched = fresh();
        await store.releaseLease(untouched, 'owner-a');
        expect(await store.read(untouched)).toBeNull();
      });

      it('by the owner clears the lease and nothing else', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'a', now + 10_000, now);
        expect(await store.commit(key, 'a', 0, update('v', now))).toBe(true);
        await store.acquireLease(key, 'a', now + 10_000, now);
        const before = await store.read(key);
        await store.releaseLease(key, 'a');
        expect(await store.read(key)).toEqual({ ...before, leaseOwner: '', leaseUntil: 0 });
      });

      it('by a non-owner changes nothing', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'a', now + 10_000, now);
        const before = await store.read(key);
        await store.releaseLease(key, 'b');
        expect(await store.read(key)).toEqual(before);
        expect(await store.acquireLease(key, 'b', now + 10_000, now)).toBeNull();
      });

      it('lets the lease be retaken at once', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'a', now + 10_000, now);
        await store.releaseLease(key, 'a');
        const row = await store.acquireLease(key, 'b', now + 10_000, now + 1);
        expect(row).not.toBeNull();
        expect(row!.leaseOwner).toBe('b');
      });

      it('stores blockedUntil whoever holds the lease; reads and commits keep it', async () => {
        const key = fresh();
        const now = Date.now();
        const blocked = now + 3_600_000;
        await store.acquireLease(key, 'a', now + 10_000, now);
        await store.releaseLease(key, 'b', blocked); // non-owner: stored, lease untouched
        let row = await store.read(key);
        expect(row).toMatchObject({ blockedUntil: blocked, leaseOwner: 'a', leaseUntil: now + 10_000 });
        expect(await store.read(key)).toEqual(row);

        await store.releaseLease(key, 'a', blocked + 1); // owner: stored and lease cleared
        row = await store.read(key);
        expect(row).toMatchObject({ blockedUntil: blocked + 1, leaseOwner: '', leaseUntil: 0 });

        const leased = await store.acquireLease(key, 'c', now + 10_000, now);
        expect(leased!.blockedUntil).toBe(blocked + 1);
        expect(await store.commit(key, 'c', leased!.version, update('v', now))).toBe(true);
        expect(await store.read(key)).toMatchObject({ value: 'v', version: 1, blockedUntil: blocked + 1 });
        await store.releaseLease(key, 'c'); // without blockedUntil: kept
        expect((await store.read(key))!.blockedUntil).toBe(blocked + 1);
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
        await store.acquireLease(b, 'o', now + 10_000, now);
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
        const now = Date.now();
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.acquireLease(key, `owner-${i}`, now + 10_000, now)),
        );
        const winners = results.filter((r) => r !== null);
        expect(winners).toHaveLength(1);
        expect((await store.read(key))!.leaseOwner).toBe(winners[0]!.leaseOwner);
      });

      it('50 concurrent acquireLease on an existing, free row: exactly one wins', async () => {
        const key = fresh();
        const now = Date.now();
        await store.acquireLease(key, 'setup', now + 10_000, now);
        expect(await store.commit(key, 'setup', 0, update('v', now))).toBe(true);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.acquireLease(key, `owner-${i}`, now + 10_000, now)),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(1);
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
        const leased = await store.acquireLease(key, 'a', now + 10_000, now);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.commit(key, 'a', leased!.version, update(`value-${i}`, now))),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await store.read(key)).toMatchObject({
          value: `value-${winner}`,
          version: 1,
          leaseOwner: '',
          leaseUntil: 0,
        });
      });

      it('20 concurrent commits of the right version, half by non-owners: exactly one succeeds, by the owner', async () => {
        const key = fresh();
        const now = Date.now();
        const leased = await store.acquireLease(key, 'a', now + 10_000, now);
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
          const leased = await store.acquireLease(key, 'a', now + 10_000, now);
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
          expect(await store.acquireLease(`${k}${tag}:row`, 'a', now + 10_000, now), k).not.toBeNull();
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
        const now = Date.now();
        const leased = await store.acquireLease(key, 'a', now + 10_000, now);
        leased!.value = 'mutated';
        leased!.version = 42;
        leased!.leaseOwner = 'mallory';
        const read1 = await store.read(key);
        expect(read1).toMatchObject({ value: '', version: 0, leaseOwner: 'a' });
        read1!.value = 'mutated again';
        read1!.leaseUntil = 0;
        expect(await store.read(key)).toMatchObject({
          value: '',
          version: 0,
          leaseOwner: 'a',
          leaseUntil: now + 10_000,
        });
        expect(await store.acquireLease(key, 'b', now + 10_000, now)).toBeNull();
      });
    });

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
