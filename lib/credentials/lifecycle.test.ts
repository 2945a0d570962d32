/**
 * The credential lifecycle (docs/design.md §5) on the memory store, with sources the tests script and a clock they
 * move: joins, leases, holds, forced refreshes, stale reports, budgets and a failing store.
 * Over 400 lines: each invariant of §5 is its own case.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger';
import { NO_METRICS } from '../metrics/sink';
import { countStoreOps } from '../store/counting';
import { createMemoryStore } from '../store/memory';
import type { Store } from '../store/port';
import { switchable } from '../../test/support/switchable-store';
import { WechatError, UpstreamUnavailable } from '../wechat/errors';
import { nextBeijingMidnight } from './day';
import { CredentialError } from './errors';
import { Lifecycle } from './lifecycle';
import type { CallContext, CredentialSource, FetchContext, Fetched } from './source';

const OPTIONS = {
  refreshAheadMs: 300_000,
  localCacheMs: 30_000,
  leaseMs: 3_000,
  forceCooldownMs: 60_000,
  timeoutMs: 1000,
  budgetMs: 5000,
  storeTimeoutMs: 1000,
};

/** A credential whose upstream answers are scripted by the test (a unit fixture for the source port). */
function scripted(answer: (ctx: FetchContext, n: number) => Promise<Fetched>): CredentialSource & { calls: number } {
  const src = {
    key: 'test:cred',
    owner: 'wx-test',
    service: 'WeChat',
    eager: true,
    calls: 0,
    quotaBlocksAll: () => true,
    fetch: (ctx: FetchContext) => answer(ctx, ++src.calls),
  };
  return src;
}

const call = (budgetMs: number): CallContext => ({
  caller: 't',
  upstreamCalls: 0,
  deadline: performance.now() + budgetMs,
});

/** A store, a clock the test moves, and a lifecycle over them. */
function setup(start = 1_000_000) {
  const store = createMemoryStore();
  const t = { now: start };
  const lifecycle = new Lifecycle(store, () => t.now, OPTIONS, silentLogger);
  return { store, t, lifecycle };
}

/** A new value per call, `v<n>`, valid two hours. */
const counting = () => scripted(async (_ctx, n) => ({ value: `v${n}`, expiresIn: 7200 }));
const bad = (errcode: number) => new WechatError('cgi-bin/token', errcode, 'refused');

/**
 * A scheduled refresh whose fetch waits for `release()`, its lease taken over meanwhile by another instance that
 * watched its beat stand still (a frozen process, say).
 */
async function takenOverMidRefresh() {
  const { store, t, lifecycle } = setup();
  let answer!: () => void;
  const src = scripted(async (_ctx, n) => {
    if (n === 2) await new Promise<void>((r) => (answer = r));
    return { value: `v${n}`, expiresIn: 7200 };
  });
  await lifecycle.get(src, { call: call(5000) });
  t.now += 7200_000 - 100_000;
  const slow = lifecycle.get(src, { mode: 'scheduled', call: call(20_000) });
  await new Promise((r) => setTimeout(r, 50));
  const ours = (await store.read(src.key))!;
  const theirs = (await store.acquireLease(src.key, 'elsewhere', { owner: ours.leaseOwner, beat: ours.leaseBeat }))!;
  return { store, t, src, slow, theirs, release: () => answer() };
}

describe('Lifecycle', () => {
  it('a caller joining a resolution under way still answers by its own deadline', async () => {
    const clock = 1_000_000;
    const manager = new Lifecycle(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const src = scripted(
      () => new Promise((resolve) => setTimeout(() => resolve({ value: 'v1', expiresIn: 7200 }), 600)),
    );
    const long = manager.get(src, { call: call(5000) });
    const started = performance.now();
    const short = manager.get(src, { call: call(150) });
    await expect(short).rejects.toMatchObject({
      code: 'upstream_unavailable',
      message: expect.stringMatching(
        /WeChat has not answered for wx-test within this request's budget; the refresh of test:cred goes on/,
      ),
    });
    expect(performance.now() - started).toBeLessThan(450);
    await expect(long).resolves.toMatchObject({ value: 'v1' });
    expect(src.calls).toBe(1);
  });

  it('a fetch costs the row one read, one lease and one commit, and reads nothing back', async () => {
    const counted = countStoreOps(createMemoryStore());
    const lifecycle = new Lifecycle(counted.store, () => 1_000_000, OPTIONS, silentLogger);
    expect((await lifecycle.get(counting(), { call: call(5000) })).value).toBe('v1');
    expect(counted.byOp()).toMatchObject({ read: 1, acquireLease: 1, commit: 1, releaseLease: 0 });
  });

  it('serves from memory for localCacheSeconds, then reads the store again', async () => {
    const counted = countStoreOps(createMemoryStore());
    const t = { now: 1_000_000 };
    const lifecycle = new Lifecycle(counted.store, () => t.now, OPTIONS, silentLogger);
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    counted.reset();
    t.now += OPTIONS.localCacheMs - 1;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(counted.ops()).toBe(0);
    t.now += 1;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(counted.byOp().read).toBe(1);
  });

  it('concurrent reports of different values are each answered for their own value', async () => {
    const { t, lifecycle } = setup();
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    t.now += 60_000;
    const [older, current] = await Promise.all([
      lifecycle.get(src, { mode: 'stale', stale: 'some-older-token', confirmed: true, call: call(5000) }),
      lifecycle.get(src, { mode: 'stale', stale: 'v1', confirmed: true, call: call(5000) }),
    ]);
    expect(current.value).toBe('v2');
    expect(['v1', 'v2']).toContain(older.value);
    expect(src.calls).toBe(2);
  });

  it('expires_in counts from when the fetch started, not from when it answered', async () => {
    const { store, t, lifecycle } = setup();
    const src = scripted(async () => {
      t.now += 5_000; // WeChat took five seconds to answer
      return { value: `v${t.now}`, expiresIn: 7200 };
    });
    const got = await lifecycle.get(src, { call: call(5000) });
    expect(got).toEqual({ value: 'v1005000', expiresAt: 1_000_000 + 7200_000, refreshedAt: 1_005_000 });
    expect(await store.read(src.key)).toMatchObject({ expiresAt: 1_000_000 + 7200_000, refreshedAt: 1_005_000 });
  });

  it('reads of a value inside its refresh window are answered at once, and one refresh runs beside them', async () => {
    const { store, ...counted } = countStoreOps(createMemoryStore());
    const t = { now: 1_000_000 };
    const lifecycle = new Lifecycle(store, () => t.now, OPTIONS, silentLogger);
    let release!: () => void;
    const src = scripted(async (_ctx, n) => {
      if (n === 2) await new Promise<void>((r) => (release = r));
      return { value: `v${n}`, expiresIn: 7200 };
    });
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    const calls = Array.from({ length: 20 }, () => call(5000));
    const answers = await Promise.all(calls.map((c) => lifecycle.get(src, { call: c })));
    expect(answers.every((a) => a.value === 'v1')).toBe(true);
    expect(calls.every((c) => c.upstreamCalls === 0)).toBe(true);
    await expect.poll(() => src.calls).toBe(2);
    t.now += OPTIONS.localCacheMs; // past the cache: a read while the refresh beside is still on
    counted.reset();
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(counted.byOp().read).toBe(1); // its own: no second refresh beside
    release();
    await expect.poll(async () => (await store.read(src.key))?.value).toBe('v2');
    expect(src.calls).toBe(2);
  });

  it('a refresh beside reads the row first: one another instance refreshed, or is refreshing, is left alone', async () => {
    for (const meanwhile of ['refreshed', 'leased'] as const) {
      const inner = createMemoryStore();
      let gate: Promise<void> | undefined;
      let open!: () => void;
      let readsBeforeGate = 0;
      const counted = countStoreOps({
        ...inner,
        read: async (key) => {
          if (gate && readsBeforeGate-- <= 0) await gate;
          return inner.read(key);
        },
      });
      const t = { now: 1_000_000 };
      const ours = new Lifecycle(counted.store, () => t.now, OPTIONS, silentLogger);
      const src = counting();
      await ours.get(src, { call: call(5000) });
      t.now += 7200_000 - 100_000;
      gate = new Promise((r) => (open = r));
      readsBeforeGate = 1; // the read's own; the refresh beside it waits at the gate
      expect((await ours.get(src, { call: call(5000) })).value).toBe('v1');
      if (meanwhile === 'refreshed')
        await new Lifecycle(inner, () => t.now, OPTIONS, silentLogger).get(src, {
          mode: 'scheduled',
          call: call(5000),
        });
      else await inner.acquireLease(src.key, 'elsewhere');
      counted.reset();
      open();
      await new Promise((r) => setTimeout(r, 50));
      expect(counted.byOp()).toMatchObject({ acquireLease: 0, commit: 0 });
      expect(src.calls).toBe(meanwhile === 'refreshed' ? 2 : 1);
    }
  });

  it('a value handed back unchanged keeps its first expiry, but one already past it takes the new one', async () => {
    let clock = 1_000_000;
    const store = createMemoryStore();
    const manager = new Lifecycle(store, () => clock, OPTIONS, silentLogger);
    const src = scripted(async () => ({ value: 'same', expiresIn: 7200 }));
    const first = await manager.get(src, { call: call(5000) });
    expect(first.expiresAt).toBe(1_000_000 + 7200_000);
    clock += 7200_000 - 200_000; // inside the refresh window: WeChat says "7200" again for the same value
    expect((await manager.get(src, { call: call(5000) })).expiresAt).toBe(first.expiresAt);
    clock = first.expiresAt + 1000; // past it (a lagging clock wrote it, or WeChat renewed it after all)
    const later = await manager.get(src, { call: call(5000) });
    expect(later.expiresAt).toBe(clock + 7200_000);
  });

  it('a forced refresh makes a single attempt, whatever the error', async () => {
    let clock = 1_000_000;
    const manager = new Lifecycle(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const src = scripted(async (_ctx, n) => {
      if (n === 1) return { value: 'v1', expiresIn: 7200 };
      throw new UpstreamUnavailable('cgi-bin/token', 'http', 502);
    });
    await manager.get(src, { call: call(5000) });
    clock += 120_000;
    const err = await manager.get(src, { mode: 'stale', stale: 'v1', call: call(5000) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialError);
    expect((err as CredentialError).code).toBe('upstream_unavailable');
    expect(src.calls).toBe(2);
  });

  it('a read takes a usable value at once while another instance holds the lease; it fetches nothing', async () => {
    const { store, t, lifecycle } = setup();
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000; // inside the refresh window
    await store.acquireLease(src.key, 'elsewhere');
    const started = performance.now();
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(performance.now() - started).toBeLessThan(100);
    expect(src.calls).toBe(1);
  });

  it('with nothing usable, a read waits for the holder and serves what it commits, fetching nothing itself', async () => {
    const { store, t, lifecycle } = setup();
    const src = counting();
    const held = await store.acquireLease(src.key, 'elsewhere');
    const waiting = lifecycle.get(src, { call: call(5000) });
    await new Promise((r) => setTimeout(r, 100));
    await store.commit(src.key, 'elsewhere', held!.version, {
      value: 'theirs',
      expiresAt: t.now + 7200_000,
      refreshedAt: t.now,
      forcedAt: 0,
    });
    expect((await waiting).value).toBe('theirs');
    expect(src.calls).toBe(0);
  });

  it('a failed refresh of a working value costs one attempt; the value is served and the refresh held a minute', async () => {
    const { store, t, lifecycle } = setup();
    const src = scripted(async (_ctx, n) => {
      if (n === 1) return { value: 'v1', expiresIn: 7200 };
      throw new UpstreamUnavailable('cgi-bin/token', 'http', 502);
    });
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    await expect.poll(async () => (await store.read(src.key))?.retryAt).toBe(t.now + 60_000);
    expect(src.calls).toBe(2);
    expect((await store.read(src.key))!.failures).toBe(1);
    t.now += 59_000;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    await new Promise((r) => setTimeout(r, 30));
    expect(src.calls).toBe(2);
    t.now += 1_000;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    await expect.poll(() => src.calls).toBe(3);
  });

  it('with nothing usable, failed refreshes are held 1 s, 2 s, 4 s …: requests meanwhile are answered at once, and shared through the store', async () => {
    const { store, t, lifecycle } = setup();
    const other = new Lifecycle(store, () => t.now, OPTIONS, silentLogger); // another instance
    const src = scripted(async () => {
      throw new WechatError('cgi-bin/token', -1, 'system error');
    });
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(src.calls).toBe(3); // a few attempts for the first refresh
    for (const held of [1000, 2000, 4000]) {
      const started = performance.now();
      await expect(other.get(src, { call: call(5000) })).rejects.toThrow(/WeChat is failing for test:cred/);
      expect(performance.now() - started).toBeLessThan(200);
      const before = src.calls;
      t.now += held;
      await expect(other.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'upstream_unavailable' });
      expect(src.calls).toBe(before + 1); // one attempt once a credential is failing
    }
    const recovered = scripted(async () => ({ value: 'back', expiresIn: 7200 }));
    recovered.key = src.key;
    t.now += 8000;
    expect((await lifecycle.get(recovered, { call: call(5000) })).value).toBe('back');
    expect(await store.read(src.key)).toMatchObject({ failures: 0, retryAt: 0 });
  });

  it('with nothing usable, a read retries a transient failure inside its budget, each retry one info line', async () => {
    const lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      log: (level: string, event: string, fields?: Record<string, unknown>) =>
        void lines.push({ level, event, fields }),
    };
    const lifecycle = new Lifecycle(createMemoryStore(), () => 1_000_000, OPTIONS, log);
    const src = scripted(async (_ctx, n) => {
      if (n < 3) throw bad(-1);
      return { value: 'v3', expiresIn: 7200 };
    });
    const c = call(5000);
    expect((await lifecycle.get(src, { call: c })).value).toBe('v3');
    expect(src.calls).toBe(3);
    expect(c.upstreamCalls).toBe(3);
    expect(lines.filter((l) => l.event === 'upstream_retry')).toEqual(
      [2, 3].map((attempt) => ({
        level: 'info',
        event: 'upstream_retry',
        fields: { key: 'test:cred', attempt, error: 'cgi-bin/token answered errcode -1: refused' },
      })),
    );
  });

  it('a value handed back unchanged exactly at its expiry takes the new expiry', async () => {
    const { t, lifecycle } = setup();
    const src = scripted(async () => ({ value: 'same', expiresIn: 7200 }));
    const first = await lifecycle.get(src, { call: call(5000) });
    t.now = first.expiresAt;
    expect((await lifecycle.get(src, { call: call(5000) })).expiresAt).toBe(first.expiresAt + 7200_000);
  });

  it('the refresher is told of a failure although the old value works, and of a held refresh without asking again', async () => {
    const { t, lifecycle } = setup();
    const src = scripted(async (_ctx, n) => {
      if (n === 1) return { value: 'v1', expiresIn: 7200 };
      throw bad(-1);
    });
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    await expect(lifecycle.get(src, { mode: 'scheduled', call: call(5000) })).rejects.toMatchObject({
      code: 'upstream_unavailable',
      errcode: -1,
    });
    expect(src.calls).toBe(2);
    await expect(lifecycle.get(src, { mode: 'scheduled', call: call(5000) })).rejects.toThrow(
      /WeChat is failing for test:cred \(the last refresh failed\)/,
    );
    expect(src.calls).toBe(2);
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
  });

  it('a configuration fault is answered from memory in this process while the value works, and reported to the refresher', async () => {
    const { t, lifecycle } = setup();
    const src = scripted(async (_ctx, n) => {
      if (n === 1) return { value: 'v1', expiresIn: 7200 };
      throw bad(40164);
    });
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    await expect(lifecycle.get(src, { mode: 'scheduled', call: call(5000) })).rejects.toMatchObject({
      code: 'config_fault',
      errcode: 40164,
    });
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    await expect(lifecycle.get(src, { mode: 'scheduled', call: call(5000) })).rejects.toMatchObject({
      code: 'config_fault',
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(src.calls).toBe(2);
  });

  it('the refresher waits for another holder instead of settling for the usable value', async () => {
    const { store, t, lifecycle } = setup();
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    const held = await store.acquireLease(src.key, 'elsewhere');
    const scheduled = lifecycle.get(src, { mode: 'scheduled', call: call(5000) });
    await new Promise((r) => setTimeout(r, 100));
    await store.commit(src.key, 'elsewhere', held!.version, {
      value: 'theirs',
      expiresAt: t.now + 7200_000,
      refreshedAt: t.now,
      forcedAt: 0,
    });
    expect((await scheduled).value).toBe('theirs');
    expect(src.calls).toBe(1);
  });

  it('force: one per cooldown, counted as forced; concurrent forces share one fetch', async () => {
    const { t, lifecycle } = setup();
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    const forced = await Promise.all(
      Array.from({ length: 5 }, () => lifecycle.get(src, { mode: 'force', call: call(5000) })),
    );
    expect(new Set(forced.map((c) => c.value))).toEqual(new Set(['v2']));
    t.now += 30_000;
    await expect(lifecycle.get(src, { mode: 'force', call: call(5000) })).rejects.toMatchObject({
      code: 'force_refused',
    });
    t.now += 30_000;
    expect((await lifecycle.get(src, { mode: 'force', call: call(5000) })).value).toBe('v3');
    expect((await lifecycle.budgets.countsToday(src.key, ['t'])).force).toEqual({ total: 2, byCaller: { t: 2 } });
  });

  it('stale: a report of an old value costs nothing; reports of the current one rotate it once', async () => {
    const { t, lifecycle } = setup();
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    t.now += 60_000;
    const reports = await Promise.all(
      Array.from({ length: 10 }, () => lifecycle.get(src, { mode: 'stale', stale: 'v1', call: call(5000) })),
    );
    expect(reports.every((c) => c.value === 'v2')).toBe(true);
    expect((await lifecycle.get(src, { mode: 'stale', stale: 'v1', call: call(5000) })).value).toBe('v2');
    expect(src.calls).toBe(2);
    expect((await lifecycle.budgets.countsToday(src.key, [])).rejected.total).toBe(1);
  });

  it('the force budget refuses a forced fetch before upstream once spent', async () => {
    const { t, lifecycle } = setup();
    const src = Object.assign(counting(), { forceBudget: 2 });
    await lifecycle.get(src, { call: call(5000) });
    for (let i = 0; i < 2; i++) {
      t.now += 61_000;
      await lifecycle.get(src, { mode: 'force', call: call(5000) });
    }
    t.now += 61_000;
    await expect(lifecycle.get(src, { mode: 'force', call: call(5000) })).rejects.toThrow(
      /daily budget of 2 forced refreshes/,
    );
    expect(src.calls).toBe(3);
  });

  it('45009 stops calls until Beijing midnight, serving a working value meanwhile', async () => {
    const { store, t, lifecycle } = setup(Date.UTC(2025, 0, 6, 9, 0));
    const src = scripted(async (_ctx, n) => {
      if (n === 1) return { value: 'v1', expiresIn: 7200 };
      throw bad(45009);
    });
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    expect((await lifecycle.get(src, { mode: 'scheduled', call: call(5000) }).catch((e) => e)).code).toBe(
      'quota_exhausted',
    );
    expect((await store.read(src.key))!.blockedUntil).toBe(nextBeijingMidnight(t.now));
    t.now += 61_000;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    t.now += 100_000; // expired: nothing usable, still blocked
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({
      code: 'quota_exhausted',
      errcode: 45009,
    });
    expect(src.calls).toBe(2);
  });

  it("a refresh whose lease was taken over does not overwrite the new holder's value, and answers it", async () => {
    const { store, t, src, slow, theirs, release } = await takenOverMidRefresh();
    await store.commit(src.key, 'elsewhere', theirs.version, {
      value: 'theirs',
      expiresAt: t.now + 7200_000,
      refreshedAt: t.now,
      forcedAt: 0,
    });
    release();
    expect((await slow).value).toBe('theirs');
    expect((await store.read(src.key))!.value).toBe('theirs');
  });
});

describe('Lifecycle when the store fails', () => {
  it('a hung store is store_unavailable within the store timeout, not "busy"', async () => {
    const { store, state } = switchable(createMemoryStore());
    const lifecycle = new Lifecycle(store, () => 1_000_000, { ...OPTIONS, storeTimeoutMs: 200 }, silentLogger);
    state.down = 'hang';
    const started = performance.now();
    await expect(lifecycle.get(counting(), { call: call(5000) })).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('keeps serving a value in memory outside its refresh window, fetches nothing, and is back at the first good store call', async () => {
    const { store, state } = switchable(createMemoryStore());
    const t = { now: 1_000_000 };
    const lines: string[] = [];
    const log = { log: (_l: string, event: string) => lines.push(event) };
    const lifecycle = new Lifecycle(store, () => t.now, { ...OPTIONS, storeTimeoutMs: 200 }, log);
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    state.down = 'error';
    t.now += OPTIONS.localCacheMs + 1; // past the warm cache: the store would be read
    for (let i = 0; i < 50; i++) expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(lifecycle.health.since()).toBe(1_000_000 + OPTIONS.localCacheMs + 1);
    expect(lines.filter((e) => e === 'store_degraded')).toHaveLength(1);
    // a credential with nothing in memory fails, in time
    await expect(lifecycle.get({ ...counting(), key: 'other' }, { call: call(5000) })).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    // from the refresh window's first millisecond the value is not served from memory: another instance may rotate it
    t.now = 1_000_000 + 7200_000 - OPTIONS.refreshAheadMs;
    await new Promise((r) => setTimeout(r, 1000));
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(src.calls).toBe(1);
    state.down = false;
    t.now = 1_000_000 + OPTIONS.localCacheMs + 2;
    await new Promise((r) => setTimeout(r, 1000));
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1'); // from memory, trying the store beside it
    await expect.poll(() => lifecycle.health.since()).toBeNull();
    expect(lines.filter((e) => e === 'store_recovered')).toHaveLength(1);
  });
});

describe('Lifecycle while the store is known to be away', () => {
  it('once the store is seen hanging, reads are answered from memory at once, and it is tried once a second', async () => {
    const { store, state } = switchable(createMemoryStore());
    let reads = 0;
    const counted = {
      ...store,
      read: (key: string) => {
        reads++;
        return store.read(key);
      },
    };
    const t = { now: 1_000_000 };
    const lifecycle = new Lifecycle(counted, () => t.now, { ...OPTIONS, storeTimeoutMs: 600 }, silentLogger);
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    state.down = 'hang';
    t.now += OPTIONS.localCacheMs; // the warm cache is over: the store would be read
    const first = performance.now();
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(performance.now() - first).toBeGreaterThanOrEqual(550); // waited for the store this once
    reads = 0;
    const started = performance.now();
    for (let i = 0; i < 20; i++) expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(performance.now() - started).toBeLessThan(200);
    expect(reads).toBeLessThanOrEqual(1);
  });

  it('with the store answering, a read past the warm cache sees what another instance committed', async () => {
    const { store, t, lifecycle } = setup();
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    const held = (await store.acquireLease(src.key, 'elsewhere'))!;
    await store.commit(src.key, 'elsewhere', held.version, {
      value: 'theirs',
      expiresAt: t.now + 7200_000,
      refreshedAt: t.now,
      forcedAt: 0,
    });
    t.now += OPTIONS.localCacheMs;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('theirs');
  });
});

describe('Lifecycle leases', () => {
  it('a holder that went silent is taken over after the lease, and the survivor fetches once', async () => {
    const { store, t, lifecycle } = setup();
    const src = counting();
    await store.acquireLease(src.key, 'crashed-process'); // took the lease, never beats, never commits
    const started = performance.now();
    expect((await lifecycle.get(src, { call: call(8000) })).value).toBe('v1');
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(OPTIONS.leaseMs - 50);
    expect(waited).toBeLessThan(OPTIONS.leaseMs + 800);
    expect(src.calls).toBe(1);
    expect(await store.read(src.key)).toMatchObject({ value: 'v1', leaseOwner: '' });
    expect(t.now).toBe(1_000_000);
  });

  it('our holder renews its lease while it works, so nobody takes it over', async () => {
    const { store, lifecycle } = setup();
    const src = scripted(async () => {
      await new Promise((r) => setTimeout(r, OPTIONS.leaseMs * 1.5));
      return { value: 'slow', expiresIn: 7200 };
    });
    const slow = lifecycle.get(src, { call: call(10_000) });
    await expect.poll(async () => (await store.read(src.key))?.leaseOwner ?? '').not.toBe('');
    const first = (await store.read(src.key))!;
    await new Promise((r) => setTimeout(r, OPTIONS.leaseMs));
    const later = (await store.read(src.key))!;
    expect(later.leaseOwner).toBe(first.leaseOwner);
    expect(later.leaseBeat).toBeGreaterThanOrEqual(first.leaseBeat + 2);
    expect(
      await store.acquireLease(src.key, 'contender', { owner: first.leaseOwner, beat: first.leaseBeat }),
    ).toBeNull();
    expect((await slow).value).toBe('slow');
  });

  it('a request whose budget runs out mid-fetch is answered; the fetch goes on and is committed', async () => {
    const { store, lifecycle } = setup();
    const src = scripted(async () => {
      await new Promise((r) => setTimeout(r, 600));
      return { value: 'late', expiresIn: 7200 };
    });
    await expect(lifecycle.get(src, { call: call(200) })).rejects.toMatchObject({ code: 'upstream_unavailable' });
    await expect.poll(async () => (await store.read(src.key))?.value, { timeout: 2000 }).toBe('late');
    expect((await lifecycle.get(src, { call: call(200) })).value).toBe('late');
    expect(src.calls).toBe(1);
  });

  it('a request that joined a resolution which ran out of its own time resolves on its own while it has time', async () => {
    const { store, lifecycle } = setup();
    const src = counting();
    await store.acquireLease(src.key, 'crashed-process');
    // the first caller's resolution is bounded by a short deadline of its own (a ticket's token)
    const short = lifecycle.get(src, { call: call(8000), deadline: performance.now() + 300 });
    const patient = lifecycle.get(src, { call: call(8000) });
    await expect(short).rejects.toMatchObject({ code: 'busy' });
    expect((await patient).value).toBe('v1');
  });
});

describe('Lifecycle lease waits, as metrics and log lines tell them', () => {
  /** A lifecycle whose metrics and log lines the test reads. */
  function observed(budgetMs = OPTIONS.budgetMs, store: Store = createMemoryStore()) {
    const waits: [string, number][] = [];
    const refreshes: [string, string][] = [];
    const lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
    const metrics = {
      ...NO_METRICS,
      leaseWait: (o: string, s: number) => void waits.push([o, s]),
      refresh: (r: string, c: string) => void refreshes.push([r, c]),
    };
    const log = {
      log: (level: string, event: string, fields?: Record<string, unknown>) =>
        void lines.push({ level, event, fields }),
    };
    const t = { now: 1_000_000 };
    const lifecycle = new Lifecycle(store, () => t.now, { ...OPTIONS, leaseMs: 600, budgetMs, metrics }, log);
    return { store, t, lifecycle, waits, refreshes, lines };
  }

  it('a wait ended by the holder is "released"; one on a holder gone silent is "taken_over" and logged with its beat', async () => {
    const { store, t, lifecycle, waits, refreshes, lines } = observed();
    const src = counting();
    const held = (await store.acquireLease(src.key, 'elsewhere'))!;
    setTimeout(() => {
      store.commit(src.key, 'elsewhere', held.version, {
        value: 'theirs',
        expiresAt: t.now + 7200_000,
        refreshedAt: t.now,
        forcedAt: 0,
      });
    }, 200);
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('theirs');
    expect(waits).toHaveLength(1);
    expect(waits[0]![0]).toBe('released');
    expect(waits[0]![1]).toBeGreaterThanOrEqual(0.15);
    expect(waits[0]![1]).toBeLessThan(1);

    const other = { ...counting(), key: 'test:silent' };
    const silent = (await store.acquireLease(other.key, 'crashed'))!;
    expect((await lifecycle.get(other, { call: call(5000) })).value).toBe('v1');
    expect(waits[1]![0]).toBe('taken_over');
    expect(waits[1]![1]).toBeGreaterThanOrEqual(0.55);
    expect(lines.filter((l) => l.event === 'lease_taken_over')).toEqual([
      { level: 'warn', event: 'lease_taken_over', fields: { key: 'test:silent', beat: silent.leaseBeat } },
    ]);
    expect(refreshes).toEqual([['refresh', 'ok']]);
  });

  it('a wait that outlasts the refresh budget is "timed_out"', async () => {
    const { store, lifecycle, waits } = observed(400);
    const src = counting();
    await store.acquireLease(src.key, 'elsewhere');
    const beating = setInterval(() => store.renewLease(src.key, 'elsewhere'), 100);
    await expect(lifecycle.get(src, { call: call(300) })).rejects.toMatchObject({ code: 'busy' });
    await expect.poll(() => waits.length).toBeGreaterThan(0);
    clearInterval(beating);
    expect(waits[0]![0]).toBe('timed_out');
  });

  it('a caller with time to spare starts another resolution when one runs out of its budget, three in all', async () => {
    const { store, lifecycle, waits } = observed(300);
    const src = counting();
    await store.acquireLease(src.key, 'elsewhere');
    const beating = setInterval(() => store.renewLease(src.key, 'elsewhere'), 100);
    const started = performance.now();
    await expect(lifecycle.get(src, { call: call(10_000) })).rejects.toMatchObject({ code: 'busy' });
    const took = performance.now() - started;
    clearInterval(beating);
    expect(waits.map(([outcome]) => outcome)).toEqual(['timed_out', 'timed_out', 'timed_out']);
    expect(took).toBeGreaterThanOrEqual(900 - 15);
    expect(took).toBeLessThan(2000);
    expect(src.calls).toBe(0);
  });

  it('a wait the store fails is "failed"', async () => {
    const { store, state } = switchable(createMemoryStore());
    const { lifecycle, waits } = observed(OPTIONS.budgetMs, store);
    const src = counting();
    await store.acquireLease(src.key, 'elsewhere');
    setTimeout(() => (state.down = 'error'), 100);
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(waits.map(([outcome]) => outcome)).toEqual(['failed']);
  });
});

describe('Lifecycle stale reports', () => {
  /** A token source whose upstream probe says whether a value is still accepted. */
  function probed(live: Set<string>) {
    const src = Object.assign(counting(), {
      probes: 0,
      probe: async (value: string) => {
        src.probes++;
        return live.has(value) ? ('live' as const) : ('rejected' as const);
      },
    });
    return src;
  }

  it('reports of a value WeChat still accepts rotate nothing: one probe per value, its verdict shared', async () => {
    const { t, lifecycle } = setup();
    const live = new Set(['v1']);
    const src = probed(live);
    await lifecycle.get(src, { call: call(5000) });
    for (let i = 0; i < 20; i++) {
      t.now += 2_000;
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => lifecycle.get(src, { mode: 'stale', stale: 'v1', call: call(5000) })),
      );
      expect(answers.every((a) => a.value === 'v1')).toBe(true);
    }
    expect(src.calls).toBe(1);
    expect(src.probes).toBe(1);
    const counts = await lifecycle.budgets.countsToday(src.key, ['t']);
    expect(counts.probe.total).toBe(1);
    expect(counts.rejected.total).toBe(0);
  });

  it("a probe's verdict is shared for exactly a minute, per value, and counted on the request that made it", async () => {
    const { t, lifecycle } = setup();
    const live = new Set(['v1', 'elsewhere-live']);
    const src = probed(live);
    await lifecycle.get(src, { call: call(5000) });
    t.now += 60_000;
    const c = call(5000);
    expect((await lifecycle.get(src, { mode: 'stale', stale: 'v1', call: c })).value).toBe('v1');
    expect([src.probes, c.upstreamCalls]).toEqual([1, 1]);
    t.now += 59_999;
    await lifecycle.get(src, { mode: 'stale', stale: 'v1', call: call(5000) });
    expect(src.probes).toBe(1);
    t.now += 1;
    await lifecycle.get(src, { mode: 'stale', stale: 'v1', call: call(5000) });
    expect(src.probes).toBe(2);
    // Another value's report is probed on its own: WeChat rejected v1 meanwhile.
    live.delete('v1');
    const counts = await lifecycle.budgets.countsToday(src.key, ['t']);
    expect(counts.reports.live).toEqual({ total: 3, byCaller: { t: 3 } });
    t.now += 60_000;
    expect((await lifecycle.get(src, { mode: 'stale', stale: 'v1', call: call(5000) })).value).toBe('v2');
    expect(src.probes).toBe(3);
    // A rejected verdict is not kept: a later report of the (now current) v2 is probed again.
    t.now += 31_000;
    expect((await lifecycle.get(src, { mode: 'stale', stale: 'v2', call: call(5000) })).value).toBe('v3');
    expect(src.probes).toBe(4);
    expect((await lifecycle.budgets.countsToday(src.key, ['t'])).reports.rejected.total).toBe(2);
  });

  it("one credential's live verdict says nothing of another's value", async () => {
    const { t, lifecycle } = setup();
    const a = probed(new Set(['v1']));
    const b = Object.assign(probed(new Set()), { key: 'test:other' });
    await lifecycle.get(a, { call: call(5000) });
    await lifecycle.get(b, { call: call(5000) });
    t.now += 60_000;
    expect((await lifecycle.get(a, { mode: 'stale', stale: 'v1', call: call(5000) })).value).toBe('v1');
    expect((await lifecycle.get(b, { mode: 'stale', stale: 'v1', call: call(5000) })).value).toBe('v2');
    expect([a.probes, b.probes]).toEqual([1, 1]);
  });

  it('a report of a value that is not the current one is answered with the current value, with no probe', async () => {
    const { t, lifecycle } = setup();
    const src = probed(new Set(['v1']));
    await lifecycle.get(src, { call: call(5000) });
    t.now += 60_000;
    expect((await lifecycle.get(src, { mode: 'stale', stale: 'some-older-token', call: call(5000) })).value).toBe('v1');
    expect([src.probes, src.calls]).toEqual([0, 1]);
  });

  it('a reported value WeChat rejects is replaced exactly once', async () => {
    const { t, lifecycle } = setup();
    const src = probed(new Set());
    await lifecycle.get(src, { call: call(5000) });
    t.now += 60_000;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => lifecycle.get(src, { mode: 'stale', stale: 'v1', call: call(5000) })),
    );
    expect(answers.every((a) => a.value === 'v2')).toBe(true);
    expect(src.calls).toBe(2);
    expect(src.probes).toBe(1);
  });

  it('a value WeChat itself rejected in our hands is replaced without a probe', async () => {
    const { t, lifecycle } = setup();
    const src = probed(new Set(['v1']));
    await lifecycle.get(src, { call: call(5000) });
    t.now += 60_000;
    expect((await lifecycle.get(src, { mode: 'stale', stale: 'v1', confirmed: true, call: call(5000) })).value).toBe(
      'v2',
    );
    expect(src.probes).toBe(0);
  });

  it('a caller over its daily allowance of forced refreshes is refused; other callers are not', async () => {
    const store = createMemoryStore();
    const t = { now: 1_000_000 };
    const options = { ...OPTIONS, forceAllowance: (caller: string) => (caller === 'admin' ? undefined : 2) };
    const lifecycle = new Lifecycle(store, () => t.now, options, silentLogger);
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    const as = (caller: string): CallContext => ({ ...call(5000), caller });
    for (let i = 0; i < 2; i++) {
      t.now += 61_000;
      await lifecycle.get(src, { mode: 'force', call: as('noisy') });
    }
    t.now += 61_000;
    await expect(lifecycle.get(src, { mode: 'force', call: as('noisy') })).rejects.toMatchObject({
      code: 'quota_exhausted',
      message: expect.stringMatching(/noisy has used its daily allowance of 2 forced refreshes/),
    });
    expect((await lifecycle.get(src, { mode: 'force', call: as('quiet') })).value).toBe('v4');
    t.now += 61_000;
    expect((await lifecycle.get(src, { mode: 'force', call: as('admin') })).value).toBe('v5');
  });
});

describe('Lifecycle daily budget', () => {
  it('stops fetches before the daily budget, keeping a reserve for replacing rejected values', async () => {
    const { t, lifecycle } = setup(Date.UTC(2025, 0, 6, 1, 0));
    const src = Object.assign(counting(), { dailyBudget: 40 });
    await lifecycle.get(src, { call: call(5000) });
    for (let i = 1; i < 38; i++) {
      t.now += 61_000;
      await lifecycle.get(src, { mode: 'force', call: call(5000) });
    }
    expect(src.calls).toBe(38); // 40 less a reserve of 2
    t.now += 61_000;
    await expect(lifecycle.get(src, { mode: 'force', call: call(5000) })).rejects.toThrow(
      /38 of the daily budget of 40 fetches are used \(the last 2 are kept for replacing rejected values\)/,
    );
    const last = `v${src.calls}`;
    t.now += 31_000;
    expect((await lifecycle.get(src, { mode: 'stale', stale: last, confirmed: true, call: call(5000) })).value).toBe(
      'v39',
    );
  });
});

describe('callerIp', () => {
  it("reads the IP to allow-list from WeChat's and WeCom's refusals, and nothing else", async () => {
    const { callerIp } = await import('./lifecycle');
    expect(callerIp('invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: 64d20329-254dc72d')).toBe('1.2.3.4');
    expect(callerIp('invalid ip 119.253.43.19, not in whitelist')).toBe('119.253.43.19');
    expect(callerIp('not allow to access from your ip, hint: [1564], from ip: 203.0.113.9, more info at …')).toBe(
      '203.0.113.9',
    );
    expect(callerIp('invalid credential, hint: [x], from ip: 2001:db8::5, more info at …')).toBe('2001:db8::5');
    expect(callerIp('access clientip is not registered, not in ip-white-list rid: 1')).toBeUndefined(); // 61004
    expect(callerIp('invalid appsecret rid: 1')).toBeUndefined();
  });
});

describe('Lifecycle.toCredentialError', () => {
  const src = { key: 'test:cred', service: 'WeChat', owner: 'wx-test' };
  const lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
  const lifecycle = new Lifecycle(createMemoryStore(), () => 1_000_000, OPTIONS, {
    log: (level, event, fields) => lines.push({ level, event, fields }),
  });
  const convert = (err: unknown) => {
    const e = lifecycle.toCredentialError(err, src);
    return { code: e.code, message: e.message, errcode: e.errcode };
  };

  it('names the endpoint, the owner and what to do, never more', () => {
    const own = new CredentialError('busy', 'mine');
    expect(lifecycle.toCredentialError(own, src)).toBe(own);
    expect(convert(new UpstreamUnavailable('cgi-bin/token', 'circuit'))).toEqual({
      code: 'upstream_unavailable',
      message:
        'WeChat did not answer cgi-bin/token for wx-test (not tried: its host failed to answer several times in a row just now; it is tried again within seconds)',
      errcode: undefined,
    });
    expect(convert(new UpstreamUnavailable('cgi-bin/token', 'timeout')).message).toBe(
      'WeChat did not answer cgi-bin/token for wx-test (timeout)',
    );
    expect(convert(bad(-1))).toEqual({
      code: 'upstream_unavailable',
      message: 'cgi-bin/token for wx-test answered errcode -1, a transient fault',
      errcode: -1,
    });
    expect(convert(bad(40013))).toEqual({
      code: 'config_fault',
      message:
        "cgi-bin/token for wx-test answered errcode 40013: check the app's secret, appid and WeChat's IP allow-list",
      errcode: 40013,
    });
    expect(
      convert(new WechatError('cgi-bin/token', 40164, 'invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7')).message,
    ).toBe(
      "cgi-bin/token for wx-test answered errcode 40164: 203.0.113.7 is not on WeChat's IP allow-list of wx-test: add it",
    );
    expect(convert(bad(45009))).toEqual({
      code: 'quota_exhausted',
      message: "cgi-bin/token for wx-test answered errcode 45009: WeChat's quota is exhausted",
      errcode: 45009,
    });
    expect(convert(bad(40003))).toEqual({
      code: 'upstream_error',
      message: 'cgi-bin/token for wx-test answered errcode 40003',
      errcode: 40003,
    });
    expect(lines).toEqual([]);
  });

  it('a crash in a source is logged with its stack and answered without its message', () => {
    const crash = new TypeError("Cannot read properties of undefined (reading 'access_token')");
    expect(convert(crash)).toEqual({
      code: 'upstream_error',
      message: 'refreshing test:cred failed unexpectedly',
      errcode: undefined,
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', event: 'refresh_crashed', fields: { key: 'test:cred' } });
  });
});

describe('Lifecycle failure lines', () => {
  it('a failed refresh is one warn line: what, why, who asked, how many in a row, and the IP only when named', async () => {
    const lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      log: (level: string, event: string, fields?: Record<string, unknown>) => lines.push({ level, event, fields }),
    };
    const t = { now: 1_000_000 };
    const lifecycle = new Lifecycle(createMemoryStore(), () => t.now, OPTIONS, log);
    let answer: Error = new WechatError('cgi-bin/token', 40164, 'invalid ip 203.0.113.7, not in whitelist');
    const src = scripted(async () => {
      throw answer;
    });
    await expect(lifecycle.get(src, { mode: 'scheduled', call: call(5000) })).rejects.toMatchObject({
      code: 'config_fault',
    });
    const failed = () => lines.filter((l) => l.event === 'refresh_failed');
    expect(failed()).toEqual([
      {
        level: 'warn',
        event: 'refresh_failed',
        fields: {
          key: 'test:cred',
          reason: 'refresh',
          code: 'config_fault',
          errcode: 40164,
          ip: '203.0.113.7',
          caller: 't',
          failures: undefined,
        },
      },
    ]);
    answer = new UpstreamUnavailable('cgi-bin/token', 'timeout');
    src.key = 'test:other';
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(failed()[1]!.fields).toEqual({
      key: 'test:other',
      reason: 'refresh',
      code: 'upstream_unavailable',
      errcode: undefined,
      caller: 't',
      failures: 1,
    });
  });
});

describe('Lifecycle refresh lines', () => {
  it('a refresh is one info line: what, why, who asked, the lifetime WeChat gave, and whether it was committed', async () => {
    const lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      log: (level: string, event: string, fields?: Record<string, unknown>) =>
        void lines.push({ level, event, fields }),
    };
    const lifecycle = new Lifecycle(createMemoryStore(), () => 1_000_000, OPTIONS, log);
    await lifecycle.get(counting(), { call: call(5000) });
    expect(lines).toEqual([
      {
        level: 'info',
        event: 'refreshed',
        fields: { key: 'test:cred', reason: 'refresh', caller: 't', expiresIn: 7200, committed: true },
      },
    ]);
  });
});

describe('Lifecycle on a store that takes its time', () => {
  it('a failed refresh gives its lease back and records the failure, each store call given its whole timeout', async () => {
    const inner = createMemoryStore();
    const slow = Object.fromEntries(
      Object.entries(inner).map(([k, v]) => [
        k,
        typeof v === 'function'
          ? async (...args: unknown[]) => {
              await new Promise((r) => setTimeout(r, 30));
              return (v as (...a: unknown[]) => unknown).apply(inner, args);
            }
          : v,
      ]),
    ) as unknown as typeof inner;
    const lines: string[] = [];
    const log = { log: (_l: string, event: string) => void lines.push(event) };
    const lifecycle = new Lifecycle(slow, () => 1_000_000, OPTIONS, log);
    const src = scripted(async () => {
      throw bad(-1);
    });
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(lines).not.toContain('release_failed');
    expect(await inner.read(src.key)).toMatchObject({ leaseOwner: '', failures: 1 });
    expect(await lifecycle.lastError(src.key)).toMatchObject({ code: 'upstream_unavailable', errcode: -1 });
  });
});

describe('Lifecycle.lastError', () => {
  it('keeps what upstream said, with the IP to allow-list, for a day; not our own refusals', async () => {
    const { store, t, lifecycle } = setup();
    const src = scripted(async () => {
      throw new WechatError('cgi-bin/token', 40164, 'invalid ip 203.0.113.7, not in whitelist');
    });
    expect(await lifecycle.lastError(src.key)).toBeNull();
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'config_fault' });
    const at = t.now;
    expect(await lifecycle.lastError(src.key)).toEqual({
      at,
      code: 'config_fault',
      errcode: 40164,
      ip: '203.0.113.7',
      message: expect.stringMatching(/^cgi-bin\/token for wx-test answered errcode 40164: 203\.0\.113\.7 is not on/),
    });
    t.now += 86_400_000 - 1;
    expect(await lifecycle.lastError(src.key)).not.toBeNull();
    t.now += 1;
    expect(await lifecycle.lastError(src.key)).toBeNull();

    const timeout = scripted(async () => {
      throw new UpstreamUnavailable('cgi-bin/token', 'timeout');
    });
    timeout.key = 'test:other';
    await expect(lifecycle.get(timeout, { call: call(5000) })).rejects.toMatchObject({ code: 'upstream_unavailable' });
    const last = await lifecycle.lastError(timeout.key);
    expect(last).toEqual({ at: t.now, code: 'upstream_unavailable', message: expect.any(String) });
    expect(JSON.stringify(Object.keys(last!))).toBe('["at","code","message"]');

    const budgeted = Object.assign(counting(), { key: 'test:budget', forceBudget: 0 });
    await lifecycle.get(budgeted, { call: call(5000) });
    t.now += 61_000;
    await expect(lifecycle.get(budgeted, { mode: 'force', call: call(5000) })).rejects.toThrow(/forced refreshes/);
    expect(await lifecycle.lastError(budgeted.key)).toBeNull();
    expect(await store.getRecord('lasterror:test:budget', t.now)).toBeNull();
  });

  it('a record that is not what recordFailure writes reads as none', async () => {
    const { store, t, lifecycle } = setup();
    for (const text of [
      'not json',
      '[1]',
      '{"code":"x","message":"m"}',
      '{"at":"1","code":"x","message":"m"}',
      '{"at":1,"code":2,"message":"m"}',
      '{"at":1,"code":"x","message":3}',
    ]) {
      await store.putRecord('lasterror:k', text, t.now + 1000, t.now);
      expect(await lifecycle.lastError('k')).toBeNull();
    }
    await store.putRecord('lasterror:k', '{"at":1,"code":"x","message":"m","errcode":"7","ip":5}', t.now + 1000, t.now);
    expect(await lifecycle.lastError('k')).toEqual({ at: 1, code: 'x', message: 'm' });
  });
});

/** A store on which another instance acts just before our acquireLease lands (between our read and our lease). */
function racedStore(before: (inner: ReturnType<typeof createMemoryStore>, key: string) => Promise<void>) {
  const inner = createMemoryStore();
  let raced = false;
  const store = {
    ...inner,
    acquireLease: async (key: string, owner: string, seen?: { owner: string; beat: number }) => {
      if (!raced && owner !== 'elsewhere') {
        raced = true;
        await before(inner, key);
      }
      return inner.acquireLease(key, owner, seen);
    },
  };
  return { inner, store };
}

describe('Lifecycle under the lease', () => {
  const commitAs = async (
    inner: ReturnType<typeof createMemoryStore>,
    key: string,
    value: string,
    at: number,
    forcedAt = 0,
  ) => {
    const held = (await inner.acquireLease(key, 'elsewhere'))!;
    await inner.commit(key, 'elsewhere', held.version, { value, expiresAt: at + 7200_000, refreshedAt: at, forcedAt });
  };

  it('a value committed elsewhere between our read and our lease is served, and the lease given back', async () => {
    const t = { now: 1_000_000 };
    const { inner, store } = racedStore((s, key) => commitAs(s, key, 'theirs', t.now));
    const lifecycle = new Lifecycle(store, () => t.now, OPTIONS, silentLogger);
    const src = counting();
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('theirs');
    expect(src.calls).toBe(0);
    expect(await inner.read(src.key)).toMatchObject({ value: 'theirs', leaseOwner: '', version: 1 });
  });

  it('a refusal found on the leased row (45009 met elsewhere meanwhile) gives the lease back', async () => {
    const t = { now: 1_000_000 };
    const { inner, store } = racedStore(async (s, key) => {
      await s.acquireLease(key, 'elsewhere');
      await s.releaseLease(key, 'elsewhere', { blockedUntil: t.now + 3600_000 });
    });
    const lifecycle = new Lifecycle(store, () => t.now, OPTIONS, silentLogger);
    const src = counting();
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'quota_exhausted' });
    expect(src.calls).toBe(0);
    expect((await inner.read(src.key))!.leaseOwner).toBe('');
  });

  it('a refresh whose lease was taken over and released without a value answers what it fetched', async () => {
    const { store, t, src, slow, release } = await takenOverMidRefresh();
    await store.releaseLease(src.key, 'elsewhere');
    release();
    expect(await slow).toEqual({ value: 'v2', expiresAt: t.now + 7200_000, refreshedAt: t.now });
    expect((await store.read(src.key))!.value).toBe('v1');
  });
});

describe('Lifecycle refusals from memory', () => {
  it('a configuration fault is answered from memory for a minute, unless another instance commits', async () => {
    const { store, t, lifecycle } = setup();
    const src = scripted(async () => {
      throw bad(40013);
    });
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'config_fault' });
    t.now += 59_999;
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'config_fault' });
    expect(src.calls).toBe(1);
    t.now += 1;
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'config_fault' });
    expect(src.calls).toBe(2);
    // another instance (with the secret fixed) commits a value: the remembered refusal ends at once
    const held = (await store.acquireLease(src.key, 'elsewhere'))!;
    await store.commit(src.key, 'elsewhere', held.version, {
      value: 'fixed',
      expiresAt: t.now + 7200_000,
      refreshedAt: t.now,
      forcedAt: 0,
    });
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('fixed');
    expect(src.calls).toBe(2);
  });
});

describe('Lifecycle.unblock and invalidate', () => {
  it('unblock ends a 45009 breaker and its recorded failure; with none set it changes nothing', async () => {
    const { store, state: slow } = switchable(createMemoryStore());
    const t = { now: Date.UTC(2025, 0, 6, 9, 0) };
    const lifecycle = new Lifecycle(store, () => t.now, OPTIONS, silentLogger);
    let quota = true;
    const src = scripted(async (_ctx, n) => {
      if (quota) throw bad(45009);
      return { value: `v${n}`, expiresIn: 7200 };
    });
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'quota_exhausted' });
    expect((await lifecycle.lastError(src.key))?.code).toBe('quota_exhausted');
    quota = false;
    t.now += 1000;
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'quota_exhausted' });
    slow.delayMs = 20; // each store call given its whole timeout, not whatever the request has left
    expect(await lifecycle.unblock(src)).toBe(true);
    slow.delayMs = 0;
    expect((await store.read(src.key))!.blockedUntil).toBe(0);
    expect(await lifecycle.lastError(src.key)).toBeNull();
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v2');
    expect(await lifecycle.unblock(src)).toBe(false);
    expect(await lifecycle.unblock({ ...src, key: 'never:seen' })).toBe(false);
  });

  it('unblock keeps a recorded failure of another kind', async () => {
    const { lifecycle } = setup();
    const src = scripted(async () => {
      throw bad(40013);
    });
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'config_fault' });
    expect(await lifecycle.unblock(src)).toBe(false);
    expect((await lifecycle.lastError(src.key))?.code).toBe('config_fault');
  });

  it('invalidate empties the value for every instance and ends a refusal remembered here', async () => {
    const { store, t, lifecycle } = setup();
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    await lifecycle.invalidate(src.key, call(5000));
    expect(await store.read(src.key)).toMatchObject({ value: '', expiresAt: 0, version: 2, leaseOwner: '' });
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v2');
    await lifecycle.invalidate('never:seen', call(5000));
    expect(await store.read('never:seen')).toBeNull();
    expect(t.now).toBe(1_000_000);
  });
});

describe('Lifecycle when the store fails mid-refresh', () => {
  it('a request whose budget ends while the store has not answered is store_unavailable, not busy', async () => {
    const { store, state } = switchable(createMemoryStore());
    const lifecycle = new Lifecycle(store, () => 1_000_000, { ...OPTIONS, storeTimeoutMs: 5000 }, silentLogger);
    state.down = 'hang';
    const started = performance.now();
    await expect(lifecycle.get(counting(), { call: call(150) })).rejects.toMatchObject({
      code: 'store_unavailable',
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a release the store refuses is logged; the caller still gets its answer', async () => {
    const inner = createMemoryStore();
    const store = { ...inner, releaseLease: async () => Promise.reject(new Error('connection reset')) };
    const lines: { level: string; event: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      log: (level: string, event: string, fields?: Record<string, unknown>) => lines.push({ level, event, fields }),
    };
    const lifecycle = new Lifecycle(store, () => 1_000_000, OPTIONS, log);
    const src = scripted(async () => {
      throw bad(40013);
    });
    await expect(lifecycle.get(src, { call: call(5000) })).rejects.toMatchObject({ code: 'config_fault' });
    expect(lines.find((l) => l.event === 'release_failed')).toMatchObject({ level: 'warn', fields: { key: src.key } });
  });
});
