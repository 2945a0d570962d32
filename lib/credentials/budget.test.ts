/**
 * Hourly budgets enforced before calling upstream, and dropping a credential (Lifecycle). docs/design.md §5.7, §5.10.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger';
import { countStoreOps } from '../store/counting';
import { createMemoryStore } from '../store/memory';
import type { Store } from '../store/port';
import { Budgets } from './budget';
import { Lifecycle } from './lifecycle';
import type { CallContext, CredentialSource, FetchContext } from './source';
import { WechatError } from '../wechat/errors';

const OPTIONS = {
  refreshAheadMs: 300_000,
  localCacheMs: 30_000,
  leaseMs: 3_000,
  forceCooldownMs: 0,
  timeoutMs: 1000,
  budgetMs: 5000,
  storeTimeoutMs: 1000,
};
const HOUR = 3_600_000;
const START = Date.UTC(2025, 0, 6, 9, 0, 30);

/**
 * A ticket-like credential whose upstream hands out a new value per call; budgets as WeCom's.
 * `callsPerFetch` calls per fetch, each spending first (a ticket call retried after a rejected token).
 */
function budgeted(
  key: string,
  budgets: { scope: string; limit: number }[],
  expiresIn = 7200,
  callsPerFetch = 1,
): CredentialSource & { calls: number } {
  const src = {
    key,
    owner: 'ww-test',
    service: 'WeCom',
    eager: false,
    calls: 0,
    hourlyBudgets: budgets,
    quotaBlocksAll: () => true,
    fetch: async ({ spend }: FetchContext) => {
      for (let i = 0; i < callsPerFetch; i++) {
        await spend();
        ++src.calls;
      }
      return { value: `${key}#${src.calls}`, expiresIn };
    },
  };
  return src;
}

const call = (): CallContext => ({ caller: 't', upstreamCalls: 0, deadline: performance.now() + 5000 });
const used = async (manager: Lifecycle, src: CredentialSource) =>
  (await manager.budgets.hourlyUse(src)).map((b) => b.used);

describe('hourly budgets', () => {
  it('credentials sharing a scope share its budget; each has its own too; a refused call never reaches upstream nor raises a counter', async () => {
    let clock = START;
    const manager = new Lifecycle(createMemoryStore(), () => clock, OPTIONS, silentLogger);
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
      return manager.get(src, { mode: 'force', call: call() });
    };
    await manager.get(a, { call: call() });
    await force(a);
    await force(a);
    await expect(force(a)).rejects.toMatchObject({ code: 'budget_exhausted' }); // a's own 3
    expect(a.calls).toBe(3);
    expect(await used(manager, a)).toEqual([3, 3]);
    expect((await manager.budgets.countsToday(a.key, [])).force.total).toBe(2); // the refused one was no fetch
    await force(b); // the corp's 4th
    await expect(force(b)).rejects.toMatchObject({ code: 'budget_exhausted' }); // the corp's 4 are gone
    expect(b.calls).toBe(1);
    // b's own counter was raised and taken back when the corp's refused.
    expect(await used(manager, b)).toEqual([b.calls, a.calls + b.calls]);

    clock += 2 * HOUR; // the whole last hour is past
    await force(b);
    await force(a);
    expect([a.calls, b.calls]).toEqual([4, 2]);
    expect(await used(manager, a)).toEqual([1, 2]);
  });

  it('this clock hour and the whole previous one count: calls at 09:59 close the budget until 11:00, a full 11:00 hour until 13:00', async () => {
    let clock = Date.UTC(2025, 0, 6, 9, 59);
    const manager = new Lifecycle(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:agent_ticket', [{ scope: 'work:ww1:1:agent_ticket', limit: 4 }]);
    const force = () => manager.get(src, { mode: 'force', call: call() });
    for (let i = 0; i < 4; i++) {
      clock += 1000;
      await force();
    }
    for (const at of [Date.UTC(2025, 0, 6, 10, 0, 5), Date.UTC(2025, 0, 6, 10, 59, 59, 999)]) {
      clock = at;
      // Refused every time (never remembered: the stored ticket is still usable), and announced for 11:00.
      await expect(force()).rejects.toThrow(
        /the budget of 4 calls per hour for work:ww1:1:agent_ticket is used up; no further calls before 2025-01-06T11:00:00\.000Z/,
      );
      expect(await used(manager, src)).toEqual([4]);
    }
    expect(src.calls).toBe(4);
    clock = Date.UTC(2025, 0, 6, 11, 0, 0);
    for (let i = 0; i < 4; i++) {
      await force();
      clock += 1000;
    }
    expect(src.calls).toBe(8);
    // This hour alone is full, so the next hour still counts it whole.
    await expect(force()).rejects.toThrow(/no further calls before 2025-01-06T13:00:00\.000Z/);
    clock = Date.UTC(2025, 0, 6, 12, 30);
    await expect(force()).rejects.toMatchObject({ code: 'budget_exhausted' });
    expect(await used(manager, src)).toEqual([4]);
    clock = Date.UTC(2025, 0, 6, 13, 0, 0);
    await force();
    expect(src.calls).toBe(9);
    expect(await used(manager, src)).toEqual([1]);
  });

  it('a refusal with nothing usable left is answered from memory until the budget frees, at no store write', async () => {
    let clock = Date.UTC(2025, 0, 6, 9, 30);
    const counted = countStoreOps(createMemoryStore());
    const manager = new Lifecycle(counted.store, () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:agent_ticket', [{ scope: 'work:ww1:1:agent_ticket', limit: 1 }], 600);
    await manager.get(src, { call: call() });
    clock += 600_000; // expired: nothing usable is left
    await expect(manager.get(src, { call: call() })).rejects.toThrow(
      /no further calls before 2025-01-06T11:00:00\.000Z/,
    );
    counted.reset();
    for (let i = 0; i < 20; i++) {
      clock += 60_000;
      await expect(manager.get(src, { call: call() })).rejects.toMatchObject({ code: 'budget_exhausted' });
      await expect(manager.get(src, { mode: 'force', call: call() })).rejects.toMatchObject({
        code: 'budget_exhausted',
      });
    }
    await expect(manager.get(src, { mode: 'scheduled', call: call() })).rejects.toMatchObject({
      code: 'budget_exhausted',
    });
    expect(counted.byOp()).toMatchObject({ read: 41, acquireLease: 0, increment: 0, commit: 0, releaseLease: 0 }); // one read each, to see whether the row moved on
    expect(src.calls).toBe(1);
    clock = Date.UTC(2025, 0, 6, 11, 0, 0);
    await manager.get(src, { call: call() });
    expect(src.calls).toBe(2);
  });

  it('every call spends, a retry too; a call refused part-way leaves the counter at the calls made', async () => {
    const clock = START;
    const manager = new Lifecycle(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:ticket', [{ scope: 'work:ww1:1:ticket', limit: 3 }], 7200, 2);
    const first = call();
    await manager.get(src, { call: first });
    expect(await used(manager, src)).toEqual([2]);
    // one fetch, counted once for the day and on the request, however many calls it spent
    expect((await manager.budgets.countsToday(src.key, [])).refresh.total).toBe(1);
    expect(first.upstreamCalls).toBe(1);
    await expect(manager.get(src, { mode: 'force', call: call() })).rejects.toMatchObject({ code: 'budget_exhausted' });
    expect(src.calls).toBe(3);
    expect(await used(manager, src)).toEqual([3]);
  });

  it("a store failure on one scope refuses the call as store_unavailable and takes back the other scope's raise, not its own", async () => {
    let clock = START;
    let down = false;
    const inner = createMemoryStore();
    const store = {
      ...inner,
      kind: inner.kind,
      increment: (key: string, by: number, expiresAt: number, now: number) =>
        down && key.endsWith(':down') && by > 0
          ? Promise.reject(new Error('connection lost'))
          : inner.increment(key, by, expiresAt, now),
    };
    const manager = new Lifecycle(store, () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:ticket', [
      { scope: 'work:ww1:1:ticket', limit: 3 },
      { scope: 'work:ww1:down', limit: 4 },
    ]);
    await manager.get(src, { call: call() });
    expect(await used(manager, src)).toEqual([1, 1]);
    down = true;
    clock += 1000;
    await expect(manager.get(src, { mode: 'force', call: call() })).rejects.toMatchObject({
      code: 'store_unavailable',
      message: 'the credential store is unavailable',
    });
    expect(src.calls).toBe(1);
    // the raise that failed took nothing back: the call counted before it stays counted
    expect(await used(manager, src)).toEqual([1, 1]);
  });

  it('a plain read keeps serving the stored value while the budget refuses its refresh', async () => {
    let clock = START;
    const manager = new Lifecycle(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:agent_ticket', [{ scope: 'work:ww1:1:agent_ticket', limit: 1 }], 600);
    const first = await manager.get(src, { call: call() });
    clock += 400_000; // inside the refresh window (300 s ahead of expiry), same hour: the budget of 1 is spent
    expect(await manager.get(src, { call: call() })).toMatchObject({ value: first.value });
    expect(await manager.get(src, { call: call() })).toMatchObject({ value: first.value });
    expect(src.calls).toBe(1);
    // Forced: refused with its own code.
    await expect(manager.get(src, { mode: 'force', call: call() })).rejects.toMatchObject({ code: 'budget_exhausted' });
    expect(src.calls).toBe(1);
    expect(await used(manager, src)).toEqual([1]);
  });
});

describe('configuration faults', () => {
  /** A token source whose secret WeChat refuses (40125); `calls` counts its upstream attempts. */
  function wrongSecret() {
    const src = {
      calls: 0,
      key: 'mp:wx1:token',
      owner: 'wx1',
      service: 'WeChat',
      eager: true,
      quotaBlocksAll: () => true,
      fetch: async (): Promise<never> => {
        src.calls++;
        throw new WechatError('cgi-bin/token', 40125, 'invalid appsecret');
      },
    } satisfies CredentialSource & { calls: number };
    return src;
  }

  it('a refresh refused for a wrong secret with nothing usable left is answered from memory for 60 s, in every way of asking', async () => {
    let clock = START;
    const manager = new Lifecycle(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const src = wrongSecret();
    for (let i = 0; i < 50; i++)
      await expect(manager.get(src, { call: call() })).rejects.toMatchObject({ code: 'config_fault', errcode: 40125 });
    await expect(manager.get(src, { mode: 'force', call: call() })).rejects.toMatchObject({ code: 'config_fault' });
    await expect(manager.get(src, { mode: 'scheduled', call: call() })).rejects.toMatchObject({ code: 'config_fault' });
    expect(src.calls).toBe(1);
    clock += 60_000;
    await expect(manager.get(src, { call: call() })).rejects.toMatchObject({ code: 'config_fault' });
    expect(src.calls).toBe(2);
  });

  it('concurrent callers answered from a remembered refusal share one store read', async () => {
    const counted = countStoreOps(createMemoryStore());
    const manager = new Lifecycle(counted.store, () => START, OPTIONS, silentLogger);
    const src = wrongSecret();
    await expect(manager.get(src, { call: call() })).rejects.toMatchObject({ code: 'config_fault' });
    counted.reset();
    const answers = await Promise.allSettled(Array.from({ length: 20 }, () => manager.get(src, { call: call() })));
    expect(
      answers.every((a) => a.status === 'rejected' && (a.reason as { code: string }).code === 'config_fault'),
    ).toBe(true);
    expect(counted.byOp().read).toBe(1);
  });
});

describe('invalidate', () => {
  it('drops the stored value so the next read fetches anew; a key never written stays absent', async () => {
    const clock = START;
    const store = createMemoryStore();
    const manager = new Lifecycle(store, () => clock, OPTIONS, silentLogger);
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
    const manager = new Lifecycle(store, () => clock, OPTIONS, silentLogger);
    const src = budgeted('work:ww1:1:token', []);
    await manager.get(src, { call: call() });
    const other = await store.acquireLease(src.key, 'other-process');
    const dropped = manager.invalidate(src.key, call());
    await new Promise((r) => setTimeout(r, 80));
    expect(
      await store.commit(src.key, 'other-process', other!.version, {
        value: 'fetched-with-old-secret',
        expiresAt: clock + 7200_000,
        refreshedAt: clock,
        forcedAt: 0,
      }),
    ).toBe(true);
    await dropped;
    expect(await store.read(src.key)).toMatchObject({ value: '', expiresAt: 0 });
  });
});

describe('daily counters and budgets', () => {
  const make = () => new Budgets(createMemoryStore(), () => START, silentLogger);
  const source = (over: Partial<CredentialSource>) => ({ key: 'mp:wx1:token', ...over }) as CredentialSource;
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'allowed',
      (err: { code: string }) => err.code,
    );

  it('counts fetches per reason and per caller for the day; callers without fetches are not listed', async () => {
    const budgets = make();
    for (const caller of ['biz', 'biz', 'ops']) await budgets.countFetch('mp:wx1:token', 'refresh', caller);
    await budgets.countFetch('mp:wx1:token', 'force', 'ops');
    const today = await budgets.countsToday('mp:wx1:token', ['biz', 'ops', 'idle']);
    expect(today.refresh).toEqual({ total: 3, byCaller: { biz: 2, ops: 1 } });
    expect(today.force).toEqual({ total: 1, byCaller: { ops: 1 } });
    expect(today.rejected).toEqual({ total: 0, byCaller: {} });
  });

  it('counts stale reports by what upstream judged them, per caller, kept through the day', async () => {
    let now = START;
    const budgets = new Budgets(createMemoryStore(), () => now, silentLogger);
    await budgets.countReport('mp:wx1:token', 'biz', 'live');
    await budgets.countReport('mp:wx1:token', 'biz', 'live');
    await budgets.countReport('mp:wx1:token', 'ops', 'rejected');
    now += 3 * HOUR; // 20:00 in Beijing, the same day: still counted
    const today = await budgets.countsToday('mp:wx1:token', ['biz', 'ops']);
    expect(today.reports).toEqual({
      live: { total: 2, byCaller: { biz: 2 } },
      rejected: { total: 1, byCaller: { ops: 1 } },
    });
    expect(today.rejected).toEqual({ total: 0, byCaller: {} });
    expect(today.probe).toEqual({ total: 0, byCaller: {} });
  });

  it("quota.clear's restart of the day zeroes the totals the budgets read, and keeps each caller's allowance", async () => {
    const budgets = make();
    for (let i = 0; i < 95; i++) await budgets.countFetch('mp:wx1:token', 'refresh', 'biz');
    await budgets.countFetch('mp:wx1:token', 'force', 'biz');
    await budgets.countFetch('mp:wx1:token', 'rejected', 'biz');
    await budgets.spendForce(source({ forceBudget: 5 }));
    await budgets.countFetch('mp:wx2:token', 'refresh', 'biz');
    const src = source({ dailyBudget: 100, forceBudget: 5 });
    expect(await codeOf(budgets.checkDaily(src, 'refresh'))).toBe('quota_exhausted');
    expect(await codeOf(budgets.checkForce(src))).toBe('quota_exhausted');
    await budgets.restartDay(src);
    expect(await codeOf(budgets.checkDaily(src, 'refresh'))).toBe('allowed');
    expect(await codeOf(budgets.checkForce(src))).toBe('allowed');
    const today = await budgets.countsToday('mp:wx1:token', ['biz']);
    expect([today.refresh.total, today.force.total, today.rejected.total]).toEqual([0, 0, 0]);
    expect(await codeOf(budgets.checkAllowance(src, 'biz', 2))).toBe('quota_exhausted');
    expect((await budgets.countsToday('mp:wx2:token', [])).refresh.total).toBe(1);
    await budgets.restartDay(src); // nothing to restart: stays at 0, never below
    expect((await budgets.countsToday('mp:wx1:token', [])).refresh.total).toBe(0);
    await budgets.countFetch('mp:wx1:token', 'refresh', 'biz');
    expect((await budgets.countsToday('mp:wx1:token', [])).refresh.total).toBe(1);
  });

  it('refuses a fetch once the daily budget is used, keeping the last 5 % for rejected values; none without a budget', async () => {
    const budgets = make();
    for (let i = 0; i < 95; i++) await budgets.countFetch('mp:wx1:token', 'refresh', 'biz');
    expect(await codeOf(budgets.checkDaily(source({}), 'refresh'))).toBe('allowed');
    expect(await codeOf(budgets.checkDaily(source({ dailyBudget: 100 }), 'refresh'))).toBe('quota_exhausted');
    expect(await codeOf(budgets.checkDaily(source({ dailyBudget: 100 }), 'rejected'))).toBe('allowed');
    await expect(budgets.checkDaily(source({ dailyBudget: 100 }), 'force')).rejects.toThrow(
      'mp:wx1:token: 95 of the daily budget of 100 fetches are used (the last 5 are kept for replacing rejected values); no further fetches today',
    );
  });

  it('refuses a forced fetch once forced fetches reach the force budget; none without one', async () => {
    const budgets = make();
    await budgets.countFetch('mp:wx1:token', 'force', 'biz');
    await budgets.countFetch('mp:wx1:token', 'rejected', 'biz');
    expect(await codeOf(budgets.checkForce(source({ forceBudget: 3 })))).toBe('allowed');
    await budgets.countFetch('mp:wx1:token', 'force', 'ops');
    expect(await codeOf(budgets.checkForce(source({ forceBudget: 3 })))).toBe('quota_exhausted');
    expect(await codeOf(budgets.checkForce(source({})))).toBe('allowed');
    await expect(budgets.checkForce(source({ forceBudget: 3 }))).rejects.toThrow(
      'mp:wx1:token: the daily budget of 3 forced refreshes is used up',
    );
  });

  it('counting never stops a fetch: a store that fails is logged once per count, by class and code', async () => {
    const lines: unknown[] = [];
    const log = { log: (level: string, event: string, fields?: unknown) => void lines.push({ level, event, fields }) };
    const failing = {
      increment: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    } as unknown as Store;
    const budgets = new Budgets(failing, () => START, log);
    await budgets.countFetch('mp:wx1:token', 'refresh', 'biz');
    await budgets.countReport('mp:wx1:token', 'biz', 'live');
    const line = {
      level: 'warn',
      event: 'counter_failed',
      fields: { key: 'mp:wx1:token', error: 'Error', code: 'ECONNREFUSED' },
    };
    expect(lines).toEqual([line, line]);
  });

  it("WeChat's word that the forced quota is gone spends the force budget for the day", async () => {
    const budgets = make();
    await budgets.spendForce(source({}));
    await budgets.spendForce(source({ forceBudget: 5 }));
    expect(await codeOf(budgets.checkForce(source({ forceBudget: 5 })))).toBe('quota_exhausted');
    expect(await codeOf(budgets.checkForce(source({ key: 'mp:wx2:token', forceBudget: 5 })))).toBe('allowed');
  });

  it("a caller's daily allowance of forced refreshes counts its forced and rejected fetches, and only its own", async () => {
    const budgets = make();
    await budgets.countFetch('mp:wx1:token', 'force', 'biz');
    await budgets.countFetch('mp:wx1:token', 'refresh', 'biz');
    expect(await codeOf(budgets.checkAllowance(source({}), 'biz', 2))).toBe('allowed');
    await budgets.countFetch('mp:wx1:token', 'rejected', 'biz');
    await expect(budgets.checkAllowance(source({}), 'biz', 2)).rejects.toThrow(
      'biz has used its daily allowance of 2 forced refreshes of mp:wx1:token; other callers are not affected',
    );
    expect(await codeOf(budgets.checkAllowance(source({}), 'ops', 2))).toBe('allowed');
  });

  it('a rejected value may use the whole daily budget, and its refusal keeps nothing back', async () => {
    const budgets = make();
    for (let i = 0; i < 20; i++) await budgets.countFetch('mp:wx1:token', 'rejected', 'biz');
    await expect(budgets.checkDaily(source({ dailyBudget: 20 }), 'rejected')).rejects.toThrow(
      /^mp:wx1:token: 20 of the daily budget of 20 fetches are used; no further fetches today$/,
    );
  });
});
