/**
 * The credential lifecycle (DESIGN §5): warm cache, store read, one lease-holding refresher
 * per credential across every process sharing the store, refresh-ahead, stale-guarded force
 * with cooldown, retries inside the request budget, and a breaker for exhausted quotas.
 *
 * Two clocks: `clock` (injectable, shared with the simulator in tests) decides expiry, leases
 * and days; `performance.now()` measures request budgets and timeouts, which are real time.
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import type { CredentialRow, CredentialUpdate, Store } from '../store/port';
import type { Logger } from '../log/logger';
import { crashFields } from '../log/crash';
import { guardStore, storeErrorFields } from '../store/guard';
import { classifyUpstream, UpstreamUnavailable, WechatError } from '../wechat/errors';
import { CredentialError, storeUnavailable } from './errors';
import type { CallContext, CredentialSource, Fetched } from './source';
import { beijingDay, clockHour, HOUR_MS, nextBeijingMidnight } from './day';

export type Clock = () => number;

export interface LifecycleOptions {
  refreshAheadMs: number;
  localCacheMs: number;
  leaseMs: number;
  forceCooldownMs: number;
  /** Per upstream attempt. */
  timeoutMs: number;
}

export interface Credential {
  value: string;
  expiresAt: number;
  refreshedAt: number;
}

export interface GetOptions {
  /** Refresh even if the stored value looks fine. */
  force?: boolean;
  /** With force: the value WeChat just rejected; refresh only if it is still the current one. */
  stale?: string;
  call: CallContext;
  /** performance.now() to finish by, when sooner than the request's (a ticket fetch getting its token). */
  deadline?: number;
}

/** Why an upstream fetch happened: the daily counters are kept per reason. */
export type FetchReason = 'refresh' | 'force' | 'rejected';
const FETCH_REASONS: readonly FetchReason[] = ['refresh', 'force', 'rejected'];

/**
 * A refresh may hand back the value we already have: WeChat re-issues a ticket (and a stable
 * token outside its last 5 minutes) unchanged until it expires. So a value refreshed this
 * recently counts as fresh while it lives, and such a value costs one fetch a minute, not one
 * per request, until WeChat replaces it. The same pause follows a failed refresh while the
 * old value still works.
 */
const MIN_REFRESH_INTERVAL_MS = 60_000;
/**
 * A value that replaced a rejected one less than this ago is not replaced again on a `stale`
 * report: WeChat only rotates stable tokens 30 s apart, and a fresh replacement rejected at
 * once points at another server fetching tokens with the same secret, which a further
 * rotation would not cure. It also bounds how fast reports can burn the daily quota.
 */
const STALE_MIN_AGE_MS = 30_000;
/** An upstream call with less time than this left is not worth starting. */
const MIN_ATTEMPT_MS = 20;
const COUNTER_TTL_MS = 3 * 86_400_000;
/** An hour's counter is read during the next hour too (see spendHourlyBudgets). */
const HOUR_COUNTER_TTL_MS = 3 * HOUR_MS;
/**
 * A refresh that failed on the deployment's configuration (wrong secret, IP not allowed, …)
 * with nothing usable left is answered again from memory for this long, in this process:
 * repeated wrong-secret calls get the server's IP banned for an hour (reference §4.1).
 */
export const CONFIG_FAULT_PAUSE_MS = 60_000;

/** An hourly budget's refusal, knowing when the budget lets the next call through. */
class BudgetRefusal extends CredentialError {
  constructor(
    message: string,
    readonly freesAt: number,
  ) {
    super('budget_exhausted', message);
  }
}

/** What to do with the row we see: hand it out, or (try to) refresh it. May throw. */
type Decide = (row: CredentialRow | null, now: number) => 'serve' | 'refresh';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
const processId = randomUUID().slice(0, 8);
let leaseSeq = 0;

export class CredentialManager {
  private readonly cache = new Map<string, { cred: CredentialRow; readAt: number }>();
  private readonly flights = new Map<string, Promise<Credential>>();
  /** Per credential: no new attempt before this (clock ms) while the stored value still works. */
  private readonly pauseUntil = new Map<string, number>();
  /**
   * Per credential, with nothing usable left: a configuration fault or an hourly budget's refusal,
   * answered from memory until `until` (clock ms) while the stored row is still at `version`
   * (another instance's commit, e.g. work.register_agent dropping the agent's token, ends it).
   */
  private readonly refusals = new Map<string, { error: CredentialError; until: number; version: number }>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly o: LifecycleOptions,
    private readonly log: Logger,
  ) {}

  /** The current value of a credential, refreshing it when needed (see DESIGN §5). */
  async get(src: CredentialSource, opts: GetOptions): Promise<Credential> {
    if (!opts.force) {
      const hit = this.cache.get(src.key);
      const now = this.clock();
      if (hit && now - hit.readAt < this.o.localCacheMs && this.isFresh(hit.cred, now)) return hit.cred;
    }
    // Concurrent callers in this process share one resolution: one store read, one lease attempt.
    const flightKey = opts.force ? `${src.key}\0force\0${opts.stale ?? ''}` : src.key;
    const deadline = Math.min(opts.call.deadline, opts.deadline ?? Infinity);
    return this.flight(flightKey, deadline, async () => {
      await this.rethrowRefusal(src.key);
      const decide = opts.force
        ? opts.stale !== undefined
          ? this.staleForce(src, opts.stale)
          : this.cooldownForce(src)
        : this.normal(src, true);
      const reason: FetchReason = opts.force ? (opts.stale !== undefined ? 'rejected' : 'force') : 'refresh';
      return this.obtain(src, decide, reason, opts.call, deadline, false);
    });
  }

  /**
   * The scheduled refresh of one credential: like a plain read, but a failure is thrown even
   * when the old value still works, so the refresher can report it.
   */
  async refresh(src: CredentialSource, call: CallContext): Promise<Credential> {
    return this.flight(`${src.key}\0refresh`, call.deadline, async () => {
      await this.rethrowRefusal(src.key);
      return this.obtain(src, this.normal(src, false), 'refresh', call, call.deadline, true);
    });
  }

  /** The stored row, without refreshing (refresher, status). */
  peek(key: string): Promise<CredentialRow | null> {
    return this.guard(() => this.store.read(key));
  }

  /**
   * Drop a credential's value (a WeCom agent's secret was replaced): under the lease, commit an
   * empty, expired value, so that every instance's next store read fetches anew. The commit is
   * made on an empty row too: its new version ends other instances' remembered refusals (a wrong
   * secret). A refresh under way elsewhere is waited for, then dropped too. Other instances' warm
   * caches may still hand out the old value for up to localCacheSeconds.
   */
  async invalidate(key: string, call: CallContext): Promise<void> {
    for (;;) {
      const now = this.clock();
      const row = await this.guard(() => this.store.read(key));
      if (!row) break;
      const owner = `${processId}:${++leaseSeq}`;
      const leased = await this.guard(() => this.store.acquireLease(key, owner, now + this.o.leaseMs, now));
      if (!leased) {
        await this.waitForChange(key, row, call.deadline);
        continue;
      }
      const update: CredentialUpdate = { value: '', expiresAt: 0, refreshedAt: 0, forcedAt: leased.forcedAt };
      if (await this.guard(() => this.store.commit(key, owner, leased.version, update))) break;
    }
    this.cache.delete(key);
    this.pauseUntil.delete(key);
    this.refusals.delete(key);
  }

  /** True when the row holds a value that needs no refresh yet. */
  isFresh(row: CredentialRow, now: number): boolean {
    return (
      this.isUsable(row, now) &&
      (row.expiresAt - this.o.refreshAheadMs > now || now - row.refreshedAt < MIN_REFRESH_INTERVAL_MS)
    );
  }

  /** Today's upstream fetches of a credential, per reason (and per caller for the callers given). */
  async countsToday(
    key: string,
    callers: string[],
  ): Promise<Record<FetchReason, { total: number; byCaller: Record<string, number> }>> {
    const now = this.clock();
    const out = {} as Record<FetchReason, { total: number; byCaller: Record<string, number> }>;
    for (const reason of FETCH_REASONS) {
      const total = await this.readCounter(this.counterKey(now, key, reason));
      const byCaller: Record<string, number> = {};
      if (total > 0) {
        for (const caller of callers) {
          const n = await this.readCounter(this.counterKey(now, key, reason, caller));
          if (n > 0) byCaller[caller] = n;
        }
      }
      out[reason] = { total, byCaller };
    }
    return out;
  }

  /** Each of the credential's hourly budgets: its calls this clock hour and the previous one, as spend() counts them (status). */
  async hourlyUse(src: CredentialSource): Promise<{ scope: string; limit: number; used: number }[]> {
    const now = this.clock();
    return Promise.all(
      (src.hourlyBudgets ?? []).map(async ({ scope, limit }) => {
        const [previous, current] = await Promise.all([
          this.hourCount(now - HOUR_MS, scope, 0, now),
          this.hourCount(now, scope, 0, now),
        ]);
        return { scope, limit, used: current + previous };
      }),
    );
  }

  /** Start a resolution, or join the one under way; a joiner still answers by its own deadline. */
  private flight(key: string, deadline: number, start: () => Promise<Credential>): Promise<Credential> {
    const running = this.flights.get(key);
    if (!running) {
      const flight = start().finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
      return flight;
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new CredentialError(
              'busy',
              `${key.split('\0')[0]} is being refreshed and did not finish within this request's budget; retry shortly`,
            ),
          ),
        Math.max(0, deadline - performance.now()),
      );
      running.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }

  /** Still valid upstream. Handed out to the last second when no refresh can replace it: the caller sees expires_in. */
  private isUsable(row: CredentialRow, now: number): boolean {
    return row.value !== '' && row.expiresAt > now;
  }

  // ---- the three ways of deciding --------------------------------------------------------

  private normal(src: CredentialSource, honourPause: boolean): Decide {
    return (row, now) => {
      if (row && this.isFresh(row, now)) return 'serve';
      const usable = !!row && this.isUsable(row, now);
      if (usable && honourPause && (this.pauseUntil.get(src.key) ?? 0) > now) return 'serve';
      if (row && row.blockedUntil > now) {
        if (usable) return 'serve';
        throw this.blocked(src, row);
      }
      return 'refresh';
    };
  }

  /** Force with the value WeChat rejected: refresh only while that value is still current. */
  private staleForce(src: CredentialSource, stale: string): Decide {
    return (row, now) => {
      if (row && row.value !== stale && this.isUsable(row, now)) return 'serve';
      if (row && row.value === stale && now - row.forcedAt < STALE_MIN_AGE_MS) {
        throw new CredentialError(
          'force_refused',
          `${src.key} replaced a rejected value ${Math.round((now - row.forcedAt) / 1000)}s ago and is not replaced again so soon; if WeChat keeps rejecting fresh tokens, another server may be fetching tokens with this app's secret`,
        );
      }
      if (row && row.blockedUntil > now) throw this.blocked(src, row);
      return 'refresh';
    };
  }

  /** Force without `stale`: at most one per cooldown; a concurrent force that finished after we started serves us too. */
  private cooldownForce(src: CredentialSource): Decide {
    const startedAt = this.clock();
    return (row, now) => {
      if (row && row.forcedAt >= startedAt && this.isUsable(row, now)) return 'serve';
      if (row && row.forcedAt > 0 && now - row.forcedAt < this.o.forceCooldownMs) {
        const ago = Math.round((now - row.forcedAt) / 1000);
        throw new CredentialError(
          'force_refused',
          `forced refresh of ${src.key} refused: the last one was ${ago}s ago (cooldown ${this.o.forceCooldownMs / 1000}s); send the rejected value as "stale" instead`,
        );
      }
      if (row && row.blockedUntil > now) throw this.blocked(src, row);
      return 'refresh';
    };
  }

  private blocked(src: CredentialSource, row: CredentialRow): CredentialError {
    return new CredentialError(
      'quota_exhausted',
      `${src.key}: WeChat's quota is exhausted (45009); no further calls until ${new Date(row.blockedUntil).toISOString()}`,
      45009,
    );
  }

  // ---- the lifecycle ------------------------------------------------------------------

  private async obtain(
    src: CredentialSource,
    decide: Decide,
    reason: FetchReason,
    call: CallContext,
    deadline: number,
    strict: boolean,
  ): Promise<Credential> {
    for (;;) {
      const now = this.clock();
      const leaseStart = performance.now();
      const row = await this.guard(() => this.store.read(src.key));
      if (decide(row, now) === 'serve') return this.remember(row!);
      const owner = `${processId}:${++leaseSeq}`;
      const leased = await this.guard(() => this.store.acquireLease(src.key, owner, now + this.o.leaseMs, now));
      if (leased) {
        // The lease row is the latest state: somebody may have refreshed between our read and our lease.
        let verdict: 'serve' | 'refresh';
        try {
          verdict = decide(leased, now);
        } catch (err) {
          await this.release(src.key, owner);
          throw err;
        }
        if (verdict === 'serve') {
          await this.release(src.key, owner);
          return this.remember(leased);
        }
        // Finish inside our lease (measured from before we asked for it), so that nobody else
        // starts a second fetch while ours is under way.
        const until = Math.min(deadline, leaseStart + this.o.leaseMs - 250);
        return this.refreshAsWinner(src, leased, owner, reason, call, until, strict);
      }
      // Somebody else is refreshing. A plain read can use what is there while it still works.
      if (reason === 'refresh' && !strict && row && this.isUsable(row, now)) return this.remember(row);
      await this.waitForChange(src.key, row, deadline);
    }
  }

  private async refreshAsWinner(
    src: CredentialSource,
    leased: CredentialRow,
    owner: string,
    reason: FetchReason,
    call: CallContext,
    deadline: number,
    strict: boolean,
  ): Promise<Credential> {
    const force = reason !== 'refresh';
    // One attempt where retrying costs more than it saves: a forced refresh (each try may rotate
    // the token upstream, and counts against the force budget) and a refresh while the old value
    // still works (the request is not kept waiting on a failing WeChat).
    const attempts = force || (!strict && this.isUsable(leased, this.clock())) ? 1 : Infinity;
    const callsBefore = call.upstreamCalls;
    let fetched: Fetched & { startedAt: number };
    try {
      if (force && src.forceBudget !== undefined) await this.checkForceBudget(src);
      fetched = await this.fetchWithRetry(src, force, reason, call, deadline, attempts);
    } catch (err) {
      const failure = this.toCredentialError(err, src);
      // Only WeChat's own answer for this credential trips its breaker (not, say, its token's).
      const quota = err instanceof WechatError && err.errcode === 45009;
      await this.release(
        src.key,
        owner,
        quota && src.quotaBlocksAll(force) ? (src.quotaResetsAt ?? nextBeijingMidnight)(this.clock()) : undefined,
      );
      if (quota && !src.quotaBlocksAll(force)) await this.spendForceBudget(src);
      this.log.log('warn', 'refresh_failed', {
        key: src.key,
        reason,
        code: failure.code,
        errcode: failure.errcode,
        caller: call.caller,
      });
      // A failed refresh never replaces a good value, and a plain read keeps serving it for a while.
      const now = this.clock();
      if (!force && !strict && this.isUsable(leased, now)) {
        if (call.upstreamCalls > callsBefore || failure.code === 'budget_exhausted')
          this.pauseUntil.set(src.key, now + MIN_REFRESH_INTERVAL_MS);
        return this.remember(leased);
      }
      if (!this.isUsable(leased, now)) {
        // Asking again could not succeed sooner: answer from memory, at no store write.
        if (failure.code === 'config_fault')
          this.refusals.set(src.key, { error: failure, until: now + CONFIG_FAULT_PAUSE_MS, version: leased.version });
        if (failure instanceof BudgetRefusal)
          this.refusals.set(src.key, { error: failure, until: failure.freesAt, version: leased.version });
      }
      throw failure;
    }
    this.pauseUntil.delete(src.key);
    this.refusals.delete(src.key);
    const t = this.clock();
    // expires_in counts from when WeChat answered, which is no earlier than when we asked.
    let expiresAt = fetched.startedAt + fetched.expiresIn * 1000;
    // The same value again: WeChat did not renew it, and an expires_in of a full lifetime would not make it live longer.
    if (fetched.value === leased.value && leased.expiresAt > t) expiresAt = Math.min(expiresAt, leased.expiresAt);
    const update: CredentialUpdate = {
      value: fetched.value,
      expiresAt,
      refreshedAt: t,
      forcedAt: force ? t : leased.forcedAt,
    };
    const committed = await this.guard(() => this.store.commit(src.key, owner, leased.version, update));
    this.log.log('info', 'refreshed', {
      key: src.key,
      reason,
      caller: call.caller,
      expiresIn: fetched.expiresIn,
      committed,
    });
    if (committed)
      return this.remember({ ...leased, ...update, version: leased.version + 1, leaseOwner: '', leaseUntil: 0 });
    // Our lease ran out and somebody else took over: theirs is the value everyone sees.
    const current = await this.guard(() => this.store.read(src.key));
    if (current && this.isUsable(current, t) && current.version > leased.version) return this.remember(current);
    return { value: update.value, expiresAt: update.expiresAt, refreshedAt: update.refreshedAt };
  }

  private async fetchWithRetry(
    src: CredentialSource,
    force: boolean,
    reason: FetchReason,
    call: CallContext,
    deadline: number,
    attempts: number,
  ): Promise<Fetched & { startedAt: number }> {
    const timeoutMs = attemptTimeout(deadline, this.o.timeoutMs, src.owner);
    for (let attempt = 1; ; attempt++) {
      timeoutMs(); // nothing is started, or counted, without time to finish it
      const startedAt = this.clock();
      // A fetch is counted once it calls upstream: a budgeted one at its first spend that passed
      // (a refused one called nobody), any other now.
      let counted = false;
      const count = async () => {
        if (counted) return;
        counted = true;
        call.upstreamCalls++;
        await this.countFetch(src.key, reason, call.caller);
      };
      if (!src.hourlyBudgets?.length) await count();
      const spend = async () => {
        await this.spendHourlyBudgets(src);
        await count();
      };
      try {
        return { ...(await src.fetch({ force, deadline, timeoutMs, call, spend })), startedAt };
      } catch (err) {
        const backoff = Math.min(2000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random());
        const retryable = !(err instanceof CredentialError) && classifyUpstream(err) === 'retry';
        if (!retryable || attempt >= attempts || deadline - performance.now() < backoff + 100) throw err;
        this.log.log('info', 'upstream_retry', { key: src.key, attempt: attempt + 1, error: (err as Error).message });
        await sleep(backoff);
      }
    }
  }

  private async checkForceBudget(src: CredentialSource): Promise<void> {
    const now = this.clock();
    let used = 0;
    for (const reason of ['force', 'rejected'] as const)
      used += await this.readCounter(this.counterKey(now, src.key, reason));
    used += await this.readCounter(this.forceSpentKey(now, src.key));
    if (used >= src.forceBudget!) {
      throw new CredentialError(
        'quota_exhausted',
        `${src.key}: the daily budget of ${src.forceBudget} forced refreshes is used up`,
      );
    }
  }

  /**
   * Spend one call of each hourly budget, refusing before upstream once one is used up. WeCom
   * does not document its window, so the hour is counted so as never to see fewer calls than
   * any window of 60 minutes could: this clock hour's calls plus the whole previous hour's.
   * Counted before asking (one atomic increment each), so calls of different credentials sharing
   * a budget (a corp's agents, in any process) cannot overshoot it together. A refused call takes
   * back the increments it made (the very keys it raised), so the counters hold calls made only.
   */
  private async spendHourlyBudgets(src: CredentialSource): Promise<void> {
    const now = this.clock();
    const budgets = src.hourlyBudgets ?? [];
    // Every scope at once: this hour's counter raised, the previous hour's read.
    const [raised, previous] = await Promise.all([
      Promise.allSettled(budgets.map(({ scope }) => this.hourCount(now, scope, 1, now))),
      Promise.allSettled(budgets.map(({ scope }) => this.hourCount(now - HOUR_MS, scope, 0, now))),
    ]);
    const failed = [...raised, ...previous].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const counts = budgets.map((b, i) => ({
      ...b,
      before: fulfilled(raised[i]!) - 1,
      previous: fulfilled(previous[i]!),
    }));
    const refusal: unknown = failed ? failed.reason : budgetRefusal(src, now, counts);
    if (refusal === undefined) return;
    await Promise.all(
      budgets.map(({ scope }, i) => {
        if (raised[i]!.status !== 'fulfilled') return undefined;
        const key = this.hourKey(now, scope);
        return this.store
          .increment(key, -1, now + HOUR_COUNTER_TTL_MS, now)
          .catch((e: unknown) => this.log.log('warn', 'counter_failed', { key, ...storeErrorFields(e) }));
      }),
    );
    throw refusal;
  }

  /** A budget's count for the clock hour containing `hour`, after adding `by` (0 reads it). */
  private hourCount(hour: number, scope: string, by: number, now: number): Promise<number> {
    return this.guard(() => this.store.increment(this.hourKey(hour, scope), by, now + HOUR_COUNTER_TTL_MS, now));
  }

  private hourKey(now: number, scope: string): string {
    return `hour:${clockHour(now)}:${scope}`;
  }

  /** WeChat said the forced quota is gone (it counts calls we did not see): spend ours for today too. */
  private async spendForceBudget(src: CredentialSource): Promise<void> {
    if (src.forceBudget === undefined) return;
    const now = this.clock();
    await this.store
      .increment(this.forceSpentKey(now, src.key), src.forceBudget, now + COUNTER_TTL_MS, now)
      .catch(() => undefined);
  }

  private forceSpentKey(now: number, key: string): string {
    return `count:${beijingDay(now)}:${key}:force-spent`;
  }

  private readCounter(key: string): Promise<number> {
    const now = this.clock();
    return this.guard(() => this.store.increment(key, 0, now + COUNTER_TTL_MS, now));
  }

  /** Count a fetch for today, per reason and per caller. */
  private async countFetch(key: string, reason: FetchReason, caller: string): Promise<void> {
    const now = this.clock();
    try {
      await this.store.increment(this.counterKey(now, key, reason), 1, now + COUNTER_TTL_MS, now);
      await this.store.increment(this.counterKey(now, key, reason, caller), 1, now + COUNTER_TTL_MS, now);
    } catch (err) {
      // Counting must never stop a refresh.
      this.log.log('warn', 'counter_failed', { key, ...storeErrorFields(err) });
    }
  }

  private counterKey(now: number, key: string, reason: FetchReason, caller?: string): string {
    return `count:${beijingDay(now)}:${key}:${reason}${caller === undefined ? '' : `:${caller}`}`;
  }

  /** Sleep until the row changes (a commit) or its lease is free, polling the store. */
  private async waitForChange(key: string, seen: CredentialRow | null, deadline: number): Promise<void> {
    for (;;) {
      if (performance.now() >= deadline) {
        throw new CredentialError(
          'busy',
          `${key} is being refreshed by another instance that did not finish in time; retry shortly`,
        );
      }
      await sleep(15 + Math.random() * 25);
      const row = await this.guard(() => this.store.read(key));
      if (!row || !seen || row.version !== seen.version || row.leaseUntil <= this.clock()) return;
    }
  }

  private async release(key: string, owner: string, blockedUntil?: number): Promise<void> {
    try {
      await this.store.releaseLease(key, owner, blockedUntil);
    } catch (err) {
      // The lease expires on its own; a failed release only delays the next refresh.
      this.log.log('warn', 'release_failed', { key, ...storeErrorFields(err) });
    }
  }

  private remember(row: CredentialRow): Credential {
    this.cache.set(row.key, { cred: row, readAt: this.clock() });
    return { value: row.value, expiresAt: row.expiresAt, refreshedAt: row.refreshedAt };
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    return guardStore(this.log, op, storeUnavailable);
  }

  /** Throw the refusal this credential is still answered with, if any: one store read, to see whether its row moved on. */
  private async rethrowRefusal(key: string): Promise<void> {
    const r = this.refusals.get(key);
    if (!r) return;
    if (r.until > this.clock()) {
      const row = await this.guard(() => this.store.read(key));
      if (row?.version === r.version) throw r.error;
    }
    this.refusals.delete(key);
  }

  private toCredentialError(err: unknown, src: CredentialSource): CredentialError {
    if (err instanceof CredentialError) return err;
    if (err instanceof UpstreamUnavailable) {
      return new CredentialError(
        'upstream_unavailable',
        `WeChat did not answer ${err.endpoint} for ${src.owner} (${err.reason}) within the request budget`,
      );
    }
    if (err instanceof WechatError) {
      const what = `${err.endpoint} for ${src.owner} answered errcode ${err.errcode}`;
      switch (classifyUpstream(err)) {
        case 'retry':
          return new CredentialError('upstream_unavailable', `${what} until the request budget ran out`, err.errcode);
        case 'config':
          return new CredentialError(
            'config_fault',
            `${what}: check the app's secret, appid and WeChat's IP allow-list`,
            err.errcode,
          );
        case 'quota':
          return new CredentialError('quota_exhausted', `${what}: WeChat's quota is exhausted`, err.errcode);
        default:
          return new CredentialError('upstream_error', what, err.errcode);
      }
    }
    this.log.log('error', 'refresh_crashed', { key: src.key, ...crashFields(err) });
    return new CredentialError('upstream_error', `refreshing ${src.key} failed unexpectedly`);
  }
}

/**
 * When, with no further calls, this hour's `current` calls plus the previous hour's drop below
 * `limit`: at the next hour, when only this hour's then count; else the hour after.
 */
function budgetFreesAt(now: number, current: number, limit: number): number {
  const nextHour = now - (now % HOUR_MS) + HOUR_MS;
  return current < limit ? nextHour : nextHour + HOUR_MS;
}

/** The first budget this call overshoots (`before`: this hour's calls before it), as a refusal; undefined when none. */
function budgetRefusal(
  src: CredentialSource,
  now: number,
  counts: { scope: string; limit: number; before: number; previous: number }[],
): BudgetRefusal | undefined {
  const over = counts.find((c) => c.before + c.previous >= c.limit);
  if (!over) return undefined;
  const freesAt = budgetFreesAt(now, over.before, over.limit);
  return new BudgetRefusal(
    `${src.key}: the budget of ${over.limit} calls per hour for ${over.scope} is used up; no further calls before ${new Date(freesAt).toISOString()}`,
    freesAt,
  );
}

/** A settled result's value; only read once none was rejected. */
const fulfilled = (r: PromiseSettledResult<number>) => (r.status === 'fulfilled' ? r.value : 0);

/**
 * An upstream attempt's timeout: what is left of the request budget, at most `timeoutMs`. It
 * throws upstream_unavailable when less than MIN_ATTEMPT_MS is left, so nothing is started
 * (or counted) without time to finish.
 */
export function attemptTimeout(deadline: number, timeoutMs: number, owner: string): () => number {
  return () => {
    const left = Math.min(timeoutMs, deadline - performance.now());
    if (left < MIN_ATTEMPT_MS)
      throw new CredentialError(
        'upstream_unavailable',
        `no time left in the request budget to reach upstream for ${owner}`,
      );
    return left;
  };
}
