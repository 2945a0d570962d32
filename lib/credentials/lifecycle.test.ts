import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import { WechatError, UpstreamUnavailable } from '../wechat/errors';
import { nextBeijingMidnight } from './day';
import { CredentialError } from './errors';
import { Lifecycle } from './lifecycle';
import type { CallContext, CredentialSource, FetchContext, Fetched } from './source';

const OPTIONS = {
  refreshAheadMs: 300_000,
  localCacheMs: 30_000,
  leaseMs: 10_000,
  forceCooldownMs: 60_000,
  timeoutMs: 1000,
};

/** A credential whose upstream answers are scripted by the test (a unit fixture for the source port). */
function scripted(answer: (ctx: FetchContext, n: number) => Promise<Fetched>): CredentialSource & { calls: number } {
  const src = {
    key: 'test:cred',
    owner: 'wx-test',
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
    await expect(short).rejects.toMatchObject({ code: 'busy' });
    expect(performance.now() - started).toBeLessThan(450);
    await expect(long).resolves.toMatchObject({ value: 'v1' });
    expect(src.calls).toBe(1);
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
    await store.acquireLease(src.key, 'elsewhere', t.now + 10_000, t.now);
    const started = performance.now();
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(performance.now() - started).toBeLessThan(100);
    expect(src.calls).toBe(1);
  });

  it('with nothing usable, a read waits for the holder and serves what it commits, fetching nothing itself', async () => {
    const { store, t, lifecycle } = setup();
    const src = counting();
    const held = await store.acquireLease(src.key, 'elsewhere', t.now + 10_000, t.now);
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

  it('a read whose refresh of a working value fails makes one attempt, serves the old value and pauses a minute', async () => {
    const { t, lifecycle } = setup();
    const src = scripted(async (_ctx, n) => {
      if (n === 1) return { value: 'v1', expiresIn: 7200 };
      throw new UpstreamUnavailable('cgi-bin/token', 'http', 502);
    });
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(src.calls).toBe(2);
    t.now += 59_000;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(src.calls).toBe(2);
    t.now += 1_000;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1');
    expect(src.calls).toBe(3);
  });

  it('with nothing usable, a read retries a transient failure inside its budget', async () => {
    const { lifecycle } = setup();
    const src = scripted(async (_ctx, n) => {
      if (n < 3) throw bad(-1);
      return { value: 'v3', expiresIn: 7200 };
    });
    const c = call(5000);
    expect((await lifecycle.get(src, { call: c })).value).toBe('v3');
    expect(src.calls).toBe(3);
    expect(c.upstreamCalls).toBe(3);
  });

  it('the refresher is told of a failure although the old value works, and ignores the pause', async () => {
    const { t, lifecycle } = setup();
    const src = scripted(async (_ctx, n) => {
      if (n === 1) return { value: 'v1', expiresIn: 7200 };
      throw bad(40164);
    });
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    expect((await lifecycle.get(src, { call: call(5000) })).value).toBe('v1'); // a read: paused now
    await expect(lifecycle.get(src, { mode: 'scheduled', call: call(5000) })).rejects.toMatchObject({
      code: 'config_fault',
      errcode: 40164,
    });
    expect(src.calls).toBe(3);
  });

  it('the refresher waits for another holder instead of settling for the usable value', async () => {
    const { store, t, lifecycle } = setup();
    const src = counting();
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    const held = await store.acquireLease(src.key, 'elsewhere', t.now + 10_000, t.now);
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
    const { store, t, lifecycle } = setup();
    let release!: () => void;
    const src = scripted(async (_ctx, n) => {
      if (n === 2) await new Promise<void>((r) => (release = r));
      return { value: `v${n}`, expiresIn: 7200 };
    });
    await lifecycle.get(src, { call: call(5000) });
    t.now += 7200_000 - 100_000;
    const slow = lifecycle.get(src, { mode: 'scheduled', call: call(20_000) });
    await new Promise((r) => setTimeout(r, 50));
    t.now += OPTIONS.leaseMs; // our lease lapses; another instance takes it and commits
    const theirs = await store.acquireLease(src.key, 'elsewhere', t.now + 10_000, t.now);
    await store.commit(src.key, 'elsewhere', theirs!.version, {
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
