/**
 * The part of the Store conformance suite (store-conformance.ts) that needs two instances: two
 * handles on one store (two connections, as two wecred processes have) whose callers' clocks are
 * 30 s apart, first at the port, then under two Lifecycles. A lease depends on no clock at all:
 * a contender judges a holder gone by watching its beat stand still on its own monotonic clock
 * (docs/design.md §5.3, docs/decisions.md).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../../lib/credentials/lifecycle';
import type { CallContext, CredentialSource, Fetched } from '../../lib/credentials/source';
import { silentLogger } from '../../lib/log/logger';
import type { Store } from '../../lib/store/port';

const SKEW_MS = 30_000;
const LEASE_MS = 1_500;
/** A take-over comes a poll after the lease ran out, plus a read, the take-over, the fetch and the commit. */
const POLL_SLACK_MS = 700;
const MIN = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function twoInstanceConformance(open: () => Promise<Store>): void {
  describe(`two instances whose clocks are ${SKEW_MS / 1000} s apart`, () => {
    let a: Store;
    let b: Store;
    beforeAll(async () => {
      [a, b] = await Promise.all([open(), open()]);
    });
    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
    });

    const fresh = (label: string) => `two:${label}:${randomUUID()}`;

    describe('at the port', () => {
      it('a lease taken through one handle holds through the other, beat by beat, until its holder lets go', async () => {
        const key = fresh('lease');
        const held = await a.acquireLease(key, 'holder-a');
        expect(await b.read(key)).toEqual(held);
        expect(await b.acquireLease(key, 'holder-b')).toBeNull();
        expect(await b.renewLease(key, 'holder-b')).toBe(false);
        expect(await a.renewLease(key, 'holder-a')).toBe(true);
        // B saw beat 1 stand still, but the holder beat meanwhile: B's sighting is worth nothing
        expect(await b.acquireLease(key, 'holder-b', { owner: 'holder-a', beat: 1 })).toBeNull();
        expect(await b.read(key)).toMatchObject({ leaseOwner: 'holder-a', leaseBeat: 2 });
        const now = Date.now() + SKEW_MS; // A's clock, ahead
        const committed = { value: 'from-a', expiresAt: now + 120 * MIN, refreshedAt: now, forcedAt: 0 };
        expect(await b.commit(key, 'holder-a', 0, committed)).toBe(true); // any connection carries the holder's commit
        expect(await a.read(key)).toMatchObject({ value: 'from-a', version: 1, leaseOwner: '', leaseBeat: 2 });
        expect(await b.acquireLease(key, 'holder-b')).toMatchObject({ leaseOwner: 'holder-b', leaseBeat: 3 });
        expect(await a.acquireLease(key, 'holder-a')).toBeNull();
      });

      it("nonces, counters and records written through one handle are judged by the reader's own clock", async () => {
        const t = Date.now();
        for (const skew of [SKEW_MS, -SKEW_MS]) {
          const nonce = fresh('nonce');
          expect(await a.insertIfAbsent(nonce, t + 5 * MIN, t)).toBe(true);
          expect(await b.insertIfAbsent(nonce, t + skew + 5 * MIN, t + skew)).toBe(false);
          const counter = fresh('counter');
          expect(await a.increment(counter, 1, t + MIN, t)).toBe(1);
          expect(await b.increment(counter, 1, t + skew + MIN, t + skew)).toBe(2);
          expect(await b.increment(counter, 0, t + skew + MIN, t + MIN + SKEW_MS)).toBe(0); // over by B's clock
          const record = fresh('record');
          await a.putRecord(record, 'v', t + MIN, t);
          expect(await b.getRecord(record, t + skew)).toBe('v');
          expect(await b.getRecord(record, t + MIN + SKEW_MS)).toBeNull();
        }
      });
    });

    describe('under two Lifecycles', () => {
      const options = {
        refreshAheadMs: 300_000,
        localCacheMs: 30_000,
        leaseMs: LEASE_MS,
        forceCooldownMs: 60_000,
        timeoutMs: 10_000,
        budgetMs: 10_000,
        storeTimeoutMs: 5_000,
      };
      /** A on the right time, B 30 s ahead; the test moves both. */
      function instances() {
        const t = { now: Date.now() };
        const lifeA = new Lifecycle(a, () => t.now, options, silentLogger);
        const lifeB = new Lifecycle(b, () => t.now + SKEW_MS, options, silentLogger);
        const source = {
          key: `mp:${fresh('app')}:token`,
          owner: 'wx-two-instances',
          service: 'WeChat',
          eager: true,
          fetches: 0,
          /** How long each upstream call takes. */
          delayMs: 0,
          quotaBlocksAll: () => true,
          async fetch(): Promise<Fetched> {
            const n = ++source.fetches;
            await sleep(source.delayMs);
            return { value: `token-${n}`, expiresIn: 7200 };
          },
        } satisfies CredentialSource & Record<string, unknown>;
        const call = (): CallContext => ({ caller: 't', upstreamCalls: 0, deadline: performance.now() + 10_000 });
        return { t, lifeA, lifeB, source, call };
      }

      it('concurrent requests on both make one fetch per refresh: cold, expired, and refreshed ahead', async () => {
        const { t, lifeA, lifeB, source, call } = instances();
        source.delayMs = 100;
        const burst = () =>
          Promise.all(
            Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? lifeA : lifeB).get(source, { call: call() })),
          );
        const values = async () => new Set((await burst()).map((c) => c.value));

        expect(await values()).toEqual(new Set(['token-1']));
        expect(source.fetches).toBe(1);

        // expired for both (by 60 s on A's clock, 90 s on B's)
        t.now = (await lifeA.peek(source.key))!.expiresAt + MIN;
        expect(await values()).toEqual(new Set(['token-2']));
        expect(source.fetches).toBe(2);

        // inside both refresh windows, still usable: served at once, refreshed once beside the requests
        t.now = (await lifeA.peek(source.key))!.expiresAt - 200_000 - SKEW_MS;
        expect(await values()).toEqual(new Set(['token-2']));
        await expect.poll(async () => (await lifeA.peek(source.key))?.value, { timeout: 5_000 }).toBe('token-3');
        await sleep(200); // a second refresh, had one started, would have called upstream by now
        expect(source.fetches).toBe(3);
        expect(await lifeB.peek(source.key)).toMatchObject({ version: 3, leaseOwner: '' });
      });

      it("a holder that died is taken over within one lease on the survivor's monotonic clock, either way round", async () => {
        const { t, lifeA, lifeB, source, call } = instances();
        for (const [dead, survivor] of [
          [a, lifeB],
          [b, lifeA],
        ] as const) {
          // The dead instance took the lease and never beat again; the row holds nothing usable.
          await dead.acquireLease(source.key, `died-${randomUUID()}`);
          const before = source.fetches;
          const started = performance.now();
          const got = await survivor.get(source, { call: call() });
          const waited = performance.now() - started;
          expect(got.value).toBe(`token-${before + 1}`);
          expect(source.fetches).toBe(before + 1);
          expect(waited).toBeGreaterThanOrEqual(LEASE_MS - 50);
          expect(waited).toBeLessThan(LEASE_MS + POLL_SLACK_MS);
          expect(await dead.read(source.key)).toMatchObject({ value: got.value, leaseOwner: '' });
          t.now = got.expiresAt + MIN; // expired for both: the next round starts cold again
        }
      });

      it('a holder whose heartbeats stopped reaching the store is taken over, and its late answer never overwrites the newer one', async () => {
        const { t, source, call } = instances();
        // A stalled instance: its renewals no longer arrive, whatever else it does.
        const stalled: Store = Object.assign(Object.create(a) as Store, { renewLease: async () => false });
        const lifeA = new Lifecycle(stalled, () => t.now, options, silentLogger);
        const lifeB = new Lifecycle(b, () => t.now + SKEW_MS, options, silentLogger);
        let answerA!: (f: Fetched) => void;
        const first = lifeA.get(
          { ...source, fetch: () => new Promise<Fetched>((resolve) => (answerA = resolve)) },
          { call: call() },
        );
        await expect.poll(async () => (await b.read(source.key))?.leaseOwner ?? '', { interval: 10 }).not.toBe('');
        const started = performance.now();
        const newer = await lifeB.get(source, { call: call() });
        const waited = performance.now() - started;
        expect(newer.value).toBe('token-1');
        expect(waited).toBeGreaterThanOrEqual(LEASE_MS - 50);
        expect(waited).toBeLessThan(LEASE_MS + POLL_SLACK_MS);
        answerA({ value: 'older-token', expiresIn: 7200 });
        expect((await first).value).toBe('token-1');
        expect(await a.read(source.key)).toMatchObject({ value: 'token-1', version: 1, leaseOwner: '' });
      });

      it('a holder that is slow but alive keeps its lease by its heartbeat: no take-over, no second fetch', async () => {
        const { lifeA, lifeB, source, call } = instances();
        source.delayMs = LEASE_MS * 2.5;
        const first = lifeB.get(source, { call: call() });
        await expect.poll(async () => (await a.read(source.key))?.leaseOwner ?? '', { interval: 10 }).not.toBe('');
        const leased = (await a.read(source.key))!;
        const second = await lifeA.get(source, { call: call() });
        expect(second.value).toBe('token-1');
        expect((await first).value).toBe('token-1');
        expect(source.fetches).toBe(1);
        const done = (await a.read(source.key))!;
        expect(done).toMatchObject({ version: 1, leaseOwner: '' });
        expect(done.leaseBeat).toBeGreaterThanOrEqual(leased.leaseBeat + 4); // a beat every third of the lease
      });
    });
  });
}
