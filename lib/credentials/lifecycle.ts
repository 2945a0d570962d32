/**
 * The credential lifecycle (docs/design.md §5): warm cache, store read, one lease-holding refresher per credential
 * across every process sharing the store, fenced commits, degraded service while the store is away. Two clocks:
 * `clock` (injectable, the simulator's in tests) decides expiry and days; `performance.now()` measures budgets,
 * timeouts and leases, which are real time. Over 400 lines: the one orchestrator of §5 (read, decide, lease, probe,
 * fetch, commit) kept whole so its order reads top to bottom; its rules live in policy, lease, budget and retry.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { crashFields } from '../log/crash';
import type { Logger } from '../log/logger';
import { type MetricsSink, NO_METRICS } from '../metrics/sink';
import { storeErrorFields } from '../store/guard';
import { parseJsonObject } from '../store/row';
import { StoreHealth } from '../store/health';
import type { CredentialRow, CredentialUpdate, ReleaseOutcome, Store } from '../store/port';
import { classifyUpstream, UpstreamUnavailable, WechatError } from '../wechat/errors';
import { BudgetRefusal, Budgets } from './budget';
import { nextBeijingMidnight } from './day';
import { CredentialError, storeUnavailable } from './errors';
import { Leases, newOwner, stillRefreshing, type WaitOutcome } from './lease';
import { CONFIG_FAULT_PAUSE_MS, holdMs, isFresh, isUsable, type Mode, type Policy, policyFor } from './policy';
import { attemptTimeout, retryWithin } from './retry';
import type { CallContext, Clock, CredentialSource, Fetched } from './source';

export interface LifecycleOptions {
  refreshAheadMs: number;
  localCacheMs: number;
  /** How long a lease outlives its holder's last heartbeat. */
  leaseMs: number;
  forceCooldownMs: number;
  /** Per upstream attempt: every attempt gets all of it (a call that may rotate a token is never cut short). */
  timeoutMs: number;
  /** A refresh's own budget: attempts start within it, whatever the request that started it does. */
  budgetMs: number;
  /** Per store call; a store that does not answer in time is unavailable. */
  storeTimeoutMs: number;
  /** A realm's daily allowance of forced refreshes per credential (undefined: no limit of its own). */
  forceAllowance?(caller: string): number | undefined;
  /** Counts refreshes and lease waits. */
  metrics?: MetricsSink;
}

export interface Credential {
  value: string;
  expiresAt: number;
  refreshedAt: number;
}

export interface GetOptions {
  call: CallContext;
  /** Default `read` (see policy.ts). */
  mode?: Mode;
  /** With mode `stale`: the value that was rejected. */
  stale?: string;
  /** With mode `stale`: WeChat itself rejected the value in our hands (no probe needed). */
  confirmed?: boolean;
  /** performance.now() to finish by, when sooner than the request's (a ticket fetch getting its token). */
  deadline?: number;
}

/** A credential's last failed refresh, as `status` shows it. */
export interface LastError {
  /** Clock ms. */
  at: number;
  code: string;
  errcode?: number;
  message: string;
  /** The IP to allow-list, when upstream named it (40164, 61004, 60020). */
  ip?: string;
}

const lastErrorKey = (key: string) => `lasterror:${key}`;

/** A resolution under way in this process, and what it is doing (to say why a request ran out of time). */
interface FlightState {
  phase: 'store' | 'lease' | 'upstream';
}
interface Flight {
  promise: Promise<Credential>;
  state: FlightState;
}

/** What the lifecycle knows of a lease it holds. */
interface Lease {
  row: CredentialRow;
  owner: string;
  /** performance.now() until which attempts may start: the refresh's own budget. */
  until: number;
}

/** A probe's verdict on a reported value is shared by every report of it for this long. */
const PROBE_VERDICT_MS = 60_000;
/** Transient failures are tried this many times per refresh at most (docs/design.md §5.6). */
const MAX_ATTEMPTS = 3;

export class Lifecycle {
  readonly budgets: Budgets;
  private readonly metrics: MetricsSink;
  private readonly leases: Leases;
  private readonly cache = new Map<string, { cred: CredentialRow; readAt: number }>();
  private readonly flights = new Map<string, Flight>();
  /** Credentials with a refresh running beside the requests that served their working value. */
  private readonly besides = new Set<string>();
  /**
   * Per credential: a configuration fault or an hourly budget's refusal, answered from memory until
   * `until` (clock ms) while the stored row is still at `version` (another instance's commit, e.g.
   * work.register_agent dropping the agent's token, ends it); a read keeps serving a working value.
   */
  private readonly refusals = new Map<string, { error: CredentialError; until: number; version: number }>();
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly o: LifecycleOptions,
    private readonly log: Logger,
    /** Shared with the other users of the store (signed calls' nonces). */
    readonly health: StoreHealth = new StoreHealth(clock, log),
  ) {
    this.budgets = new Budgets(store, clock, log);
    this.metrics = o.metrics ?? NO_METRICS;
    this.leases = new Leases(store, o.leaseMs, log, (op, deadline) => this.storeCall(op, deadline));
  }

  /** The current value of a credential, refreshed as its mode says. */
  async get(src: CredentialSource, opts: GetOptions): Promise<Credential> {
    const mode = opts.mode ?? 'read';
    const deadline = Math.min(opts.call.deadline, opts.deadline ?? Number.POSITIVE_INFINITY);
    const hit = this.cache.get(src.key);
    if (mode === 'read' && hit) {
      const now = this.clock();
      if (now - hit.readAt < this.o.localCacheMs && this.isFresh(hit.cred, now)) return hit.cred;
      // The store is away: a value outside its refresh window is served at once; one read a second,
      // beside the requests, tries the store again.
      if (this.health.since() !== null && this.servesDegraded(hit.cred, now)) {
        if (this.health.due()) this.storeCall(() => this.store.read(src.key), this.budgetEnd()).catch(() => undefined);
        return hit.cred;
      }
    }
    // Concurrent callers in this process share one resolution; each answers by its own deadline,
    // and one that still has time when a resolution runs out of its own starts another.
    const flightKey = mode === 'read' ? src.key : `${src.key}\0${mode}\0${opts.stale ?? ''}`;
    for (let round = 1; ; round++) {
      const flight = this.flight(flightKey, (state) =>
        this.resolve(src, mode, opts, Math.min(opts.deadline ?? Number.POSITIVE_INFINITY, this.budgetEnd()), state),
      );
      try {
        return await raceDeadline(flight.promise, deadline, () => this.outOfTime(src, flight.state));
      } catch (err) {
        if (mode === 'read' && hit && isStoreFailure(err) && this.servesDegraded(hit.cred, this.clock())) {
          return hit.cred;
        }
        if (!isTimeBound(err) || round >= 3 || deadline - performance.now() < 50) throw err;
      }
    }
  }

  /** The stored row, without refreshing. */
  peek(key: string): Promise<CredentialRow | null> {
    return this.storeCall(() => this.store.read(key), this.budgetEnd());
  }

  /** True when the row holds a value that needs no refresh yet. */
  isFresh(row: CredentialRow, now: number): boolean {
    return isFresh(row, now, this.o.refreshAheadMs);
  }

  /**
   * Drop a credential's value (a WeCom agent's secret was replaced): under the lease, commit an
   * empty, expired value, so that every instance's next store read fetches anew. The commit is
   * made on an empty row too: its new version ends other instances' remembered refusals. A
   * refresh under way elsewhere is waited for, then dropped too. Other instances' warm caches may
   * still hand out the old value for up to localCacheSeconds.
   */
  async invalidate(key: string, call: CallContext): Promise<void> {
    for (;;) {
      const row = await this.storeCall(() => this.store.read(key), call.deadline);
      if (!row) break;
      const owner = newOwner();
      const seen = await this.takeLease(key, row, owner, call.deadline);
      if (!seen) continue;
      const update: CredentialUpdate = { value: '', expiresAt: 0, refreshedAt: 0, forcedAt: seen.forcedAt };
      if (await this.storeCall(() => this.store.commit(key, owner, seen.version, update), call.deadline)) break;
    }
    this.cache.delete(key);
    this.refusals.delete(key);
  }

  /**
   * End a credential's 45009 breaker (WeChat's quota was cleared: quota.clear): the stored
   * blockedUntil goes back to 0, whoever holds the lease, today's budget counts start again, and a
   * recorded quota failure is dropped; other instances see it at their next store read (§5.12).
   * False when no breaker was set.
   */
  async unblock(src: CredentialSource): Promise<boolean> {
    const end = performance.now() + this.o.storeTimeoutMs;
    await this.storeCall(() => this.budgets.restartDay(src), end);
    const row = await this.storeCall(() => this.store.read(src.key), end);
    this.cache.delete(src.key);
    // The quota failure status shows is over; any other kind of failure stays on record.
    const last = await this.lastError(src.key);
    if (last?.code === 'quota_exhausted')
      await this.storeCall(() => this.store.deleteRecord(lastErrorKey(src.key)), end);
    if (!row || row.blockedUntil === 0) return false;
    await this.storeCall(() => this.store.releaseLease(src.key, newOwner(), { blockedUntil: 0 }), end);
    return true;
  }

  /** Start a resolution, or join the one under way. */
  private flight(key: string, start: (state: FlightState) => Promise<Credential>): Flight {
    let flight = this.flights.get(key);
    if (!flight) {
      const state: FlightState = { phase: 'store' };
      const promise = start(state).finally(() => this.flights.delete(key));
      flight = { promise, state };
      this.flights.set(key, flight);
    }
    return flight;
  }

  private async resolve(
    src: CredentialSource,
    mode: Mode,
    opts: GetOptions,
    deadline: number,
    state: FlightState,
  ): Promise<Credential> {
    const policy = policyFor(mode, {
      key: src.key,
      service: src.service,
      refreshAheadMs: this.o.refreshAheadMs,
      forceCooldownMs: this.o.forceCooldownMs,
      stale: opts.stale,
      startedAt: this.clock(),
    });
    return this.obtain(src, policy, opts, deadline, state);
  }

  /** Read the row; serve it, or take the lease and refresh, or wait for whoever holds the lease. */
  private async obtain(
    src: CredentialSource,
    policy: Policy,
    opts: GetOptions,
    deadline: number,
    state: FlightState,
  ): Promise<Credential> {
    for (;;) {
      const now = this.clock();
      state.phase = 'store';
      const row = await this.storeCall(() => this.store.read(src.key), deadline);
      const refused = this.refusal(src.key, row, now);
      if (refused) {
        if (policy.settlesForUsable && row && isUsable(row, now)) return this.remember(row);
        throw refused;
      }
      if (policy.decide(row, now) === 'serve') return this.remember(row!);
      if (policy.settlesForUsable && row && isUsable(row, now)) {
        // A working value answers at once; its refresh runs beside the request.
        this.refreshBeside(src, policy, opts.call);
        return this.remember(row);
      }
      const owner = newOwner();
      state.phase = 'lease';
      const leased = await this.takeLease(src.key, row, owner, deadline);
      state.phase = 'upstream';
      if (leased) return this.holdLease(src, policy, opts, { row: leased, owner, until: deadline });
    }
  }

  /**
   * Take the lease of `row`'s credential, or wait while somebody else holds it: null once the row
   * changed (read it again), the lease row once taken (directly, or from a holder gone silent).
   */
  private async takeLease(
    key: string,
    row: CredentialRow | null,
    owner: string,
    deadline: number,
  ): Promise<CredentialRow | null> {
    if (!row || row.leaseOwner === '') {
      return this.storeCall(() => this.store.acquireLease(key, owner), deadline);
    }
    const waited = await this.waitLease(key, row, deadline);
    if (waited.changed) return null;
    this.log.log('warn', 'lease_taken_over', { key, beat: waited.takeOver.beat });
    return this.storeCall(() => this.store.acquireLease(key, owner, waited.takeOver), deadline);
  }

  /** Leases.wait, its outcome and duration counted. */
  private async waitLease(key: string, row: CredentialRow, deadline: number): Promise<WaitOutcome> {
    const started = performance.now();
    let outcome = 'failed';
    try {
      const waited = await this.leases.wait(key, row, deadline);
      outcome = waited.changed ? 'released' : 'taken_over';
      return waited;
    } catch (err) {
      if (err instanceof CredentialError && err.code === 'busy') outcome = 'timed_out';
      throw err;
    } finally {
      this.metrics.leaseWait(outcome, (performance.now() - started) / 1000);
    }
  }

  /**
   * A refresh nobody waits for (a read served a working value): only when the lease is free right
   * now, one per credential and process; its failures are logged and held like any other.
   */
  private refreshBeside(src: CredentialSource, policy: Policy, call: CallContext): void {
    if (this.besides.has(src.key)) return;
    this.besides.add(src.key);
    const bg: CallContext = { caller: call.caller, upstreamCalls: 0, deadline: this.budgetEnd() };
    const run = async () => {
      const row = await this.storeCall(() => this.store.read(src.key), bg.deadline);
      if (row?.leaseOwner !== '' || policy.decide(row, this.clock()) === 'serve') return;
      const owner = newOwner();
      const leased = await this.storeCall(() => this.store.acquireLease(src.key, owner), bg.deadline);
      if (leased) await this.holdLease(src, policy, { call: bg }, { row: leased, owner, until: bg.deadline });
    };
    run()
      .catch(() => undefined) // logged where it failed
      .finally(() => this.besides.delete(src.key));
  }

  /** The lease row is the latest state: somebody may have refreshed between our read and our lease. */
  private async holdLease(src: CredentialSource, policy: Policy, opts: GetOptions, lease: Lease): Promise<Credential> {
    const { call } = opts;
    let verdict: 'serve' | 'refresh';
    try {
      verdict = policy.decide(lease.row, this.clock());
    } catch (err) {
      await this.release(src.key, lease.owner);
      throw err;
    }
    if (verdict === 'serve') {
      await this.release(src.key, lease.owner);
      return this.remember(lease.row);
    }
    const heartbeat = this.leases.heartbeat(src.key, lease.owner);
    const callsBefore = call.upstreamCalls;
    try {
      if (policy.mode === 'stale' && !opts.confirmed && src.probe && lease.row.value === opts.stale) {
        if ((await this.probe(src, opts.stale, lease, call)) === 'live') {
          await this.release(src.key, lease.owner);
          return this.remember(lease.row);
        }
      }
      await this.checkBudgets(src, policy, call);
      const fetched = await this.fetch(src, policy, lease, call);
      return await this.commit(src, policy, lease, call, fetched);
    } catch (err) {
      return await this.failed(src, policy, lease, call, callsBefore, err);
    } finally {
      heartbeat.stop();
    }
  }

  /** Refuse a fetch our own budgets do not allow, before asking upstream. */
  private async checkBudgets(src: CredentialSource, policy: Policy, call: CallContext): Promise<void> {
    await this.budgets.checkDaily(src, policy.reason);
    if (!policy.forced) return;
    await this.budgets.checkForce(src);
    const allowance = this.o.forceAllowance?.(call.caller);
    if (allowance !== undefined) await this.budgets.checkAllowance(src, call.caller, allowance);
  }

  /**
   * Whether WeChat still accepts a reported value: one cheap call with it, its verdict shared
   * through the store by every report of the same value for a minute.
   */
  private async probe(
    src: CredentialSource,
    value: string,
    lease: Lease,
    call: CallContext,
  ): Promise<'live' | 'rejected'> {
    const key = `probe:${src.key}:${createHash('sha256').update(value).digest('hex').slice(0, 32)}`;
    const now = this.clock();
    if ((await this.storeCall(() => this.store.getRecord(key, now), lease.until)) === 'live') {
      await this.budgets.countReport(src.key, call.caller, 'live');
      return 'live';
    }
    attemptTimeout(lease.until, this.o.timeoutMs, src.owner)();
    call.upstreamCalls++;
    await this.budgets.countFetch(src.key, 'probe', call.caller);
    const verdict = await src.probe!(value, this.o.timeoutMs);
    await this.budgets.countReport(src.key, call.caller, verdict);
    if (verdict === 'live') {
      const t = this.clock();
      await this.storeCall(() => this.store.putRecord(key, 'live', t + PROBE_VERDICT_MS, t), lease.until);
    }
    return verdict;
  }

  /**
   * Attempts under the lease, each given its whole timeout and started only while the refresh's
   * budget lasts: one where retrying costs more than it saves (a forced refresh: each try may
   * rotate the token and counts against the force budget; a working value to fall back on; a
   * credential already failing), else up to MAX_ATTEMPTS.
   */
  private fetch(
    src: CredentialSource,
    policy: Policy,
    lease: Lease,
    call: CallContext,
  ): Promise<Fetched & { startedAt: number }> {
    const single = policy.forced || lease.row.failures > 0 || isUsable(lease.row, this.clock());
    const startBy = attemptTimeout(lease.until, Number.POSITIVE_INFINITY, src.owner);
    // Every upstream call gets its whole timeout, and none starts after the refresh's budget.
    const timeoutMs = () => {
      startBy();
      return this.o.timeoutMs;
    };
    const attempt = async () => {
      startBy(); // nothing is started, or counted, after the refresh's budget
      await src.ready?.();
      const startedAt = this.clock();
      // A fetch is counted once it calls upstream: a budgeted one at its first spend that passed
      // (a refused one called nobody), any other now.
      let counted = false;
      const count = async () => {
        if (counted) return;
        counted = true;
        call.upstreamCalls++;
        await this.budgets.countFetch(src.key, policy.reason, call.caller);
      };
      if (!src.hourlyBudgets?.length) await count();
      const spend = async () => {
        await this.budgets.spendHourly(src);
        await count();
      };
      const fetched = await src.fetch({ force: policy.forced, deadline: lease.until, timeoutMs, call, spend });
      return { ...fetched, startedAt };
    };
    return retryWithin(lease.until, attempt, {
      attempts: single ? 1 : MAX_ATTEMPTS,
      retryable: (err) => !(err instanceof CredentialError) && classifyUpstream(err) === 'retry',
      onRetry: (n, err) =>
        this.log.log('info', 'upstream_retry', { key: src.key, attempt: n, error: (err as Error).message }),
    });
  }

  /** A failed refresh never replaces a good value: release with what it taught us, then serve the old value or throw. */
  private async failed(
    src: CredentialSource,
    policy: Policy,
    lease: Lease,
    call: CallContext,
    callsBefore: number,
    err: unknown,
  ): Promise<Credential> {
    const failure = this.toCredentialError(err, src);
    this.metrics.refresh(policy.reason, failure.code);
    const now = this.clock();
    const usable = isUsable(lease.row, now) && !policy.forced;
    const outcome: ReleaseOutcome = {};
    // Only WeChat's own answer for this credential trips its breaker (not, say, its token's).
    const quota = err instanceof WechatError && err.errcode === 45009;
    const blocksAll = quota && src.quotaBlocksAll(policy.forced);
    if (blocksAll) outcome.blockedUntil = (src.quotaResetsAt ?? nextBeijingMidnight)(now);
    else if (failure.code === 'config_fault' || failure instanceof BudgetRefusal) {
      // Asking again could not succeed sooner: answered from memory in this process, at no store write.
      const until = failure instanceof BudgetRefusal ? failure.freesAt : now + CONFIG_FAULT_PAUSE_MS;
      this.refusals.set(src.key, { error: failure, until, version: lease.row.version });
    } else if (call.upstreamCalls > callsBefore) {
      // Upstream failed: held for every instance, a minute with a working value, seconds without.
      outcome.failures = lease.row.failures + 1;
      outcome.retryAt = now + holdMs(outcome.failures, usable);
    }
    await this.release(src.key, lease.owner, Object.keys(outcome).length > 0 ? outcome : undefined);
    if (quota && !blocksAll) await this.budgets.spendForce(src);
    const ip = err instanceof WechatError ? callerIp(err.errmsg) : undefined;
    this.log.log('warn', 'refresh_failed', {
      key: src.key,
      reason: policy.reason,
      code: failure.code,
      errcode: failure.errcode,
      ...(ip ? { ip } : {}),
      caller: call.caller,
      failures: outcome.failures,
    });
    // What upstream said goes to status; our own refusals (budgets, allowances) are the caller's answer only.
    if (call.upstreamCalls > callsBefore) await this.recordFailure(src.key, failure, now, ip);
    if (usable && policy.settlesForUsable) return this.remember(lease.row);
    throw failure;
  }

  /** Write the new value, fenced by the version we leased and by our ownership of the lease. */
  private async commit(
    src: CredentialSource,
    policy: Policy,
    lease: Lease,
    call: CallContext,
    fetched: Fetched & { startedAt: number },
  ): Promise<Credential> {
    const { row: leased, owner } = lease;
    this.refusals.delete(src.key);
    const t = this.clock();
    // expires_in counts from when WeChat answered, which is no earlier than when we asked.
    let expiresAt = fetched.startedAt + fetched.expiresIn * 1000;
    // The same value again: WeChat did not renew it, and a full expires_in would not make it live longer.
    if (fetched.value === leased.value && leased.expiresAt > t) expiresAt = Math.min(expiresAt, leased.expiresAt);
    const update: CredentialUpdate = {
      value: fetched.value,
      expiresAt,
      refreshedAt: t,
      forcedAt: policy.forced ? t : leased.forcedAt,
    };
    // The fetch is done (and may have rotated the token upstream): its commit is not cut short by any request.
    const committed = await this.storeCall(
      () => this.store.commit(src.key, owner, leased.version, update),
      performance.now() + this.o.storeTimeoutMs,
    );
    this.metrics.refresh(policy.reason, 'ok');
    this.log.log('info', 'refreshed', {
      key: src.key,
      reason: policy.reason,
      caller: call.caller,
      expiresIn: fetched.expiresIn,
      committed,
    });
    const row = { ...leased, ...update, version: leased.version + 1, leaseOwner: '', failures: 0, retryAt: 0 };
    if (committed) return this.remember(row);
    // Our lease was taken over: the new holder's value is the one everyone sees.
    const current = await this.storeCall(() => this.store.read(src.key), this.budgetEnd());
    if (current && isUsable(current, t) && current.version > leased.version) return this.remember(current);
    return { value: update.value, expiresAt: update.expiresAt, refreshedAt: update.refreshedAt };
  }

  /** The last failure of a credential, for `status` (every instance's): kept a day, never holding a secret. */
  private async recordFailure(key: string, failure: CredentialError, now: number, ip?: string): Promise<void> {
    const { code, errcode, message } = failure;
    const text = JSON.stringify({ at: now, code, errcode, message, ip });
    try {
      await this.storeCall(
        () => this.store.putRecord(lastErrorKey(key), text, now + 86_400_000, now),
        performance.now() + this.o.storeTimeoutMs,
      );
    } catch {
      // only status misses it
    }
  }

  /** The last failure `recordFailure` kept, if any. */
  async lastError(key: string): Promise<LastError | null> {
    const text = await this.storeCall(() => this.store.getRecord(lastErrorKey(key), this.clock()), this.budgetEnd());
    const r = text === null ? null : parseJsonObject(text);
    if (!r || typeof r.at !== 'number' || typeof r.code !== 'string' || typeof r.message !== 'string') return null;
    return {
      at: r.at,
      code: r.code,
      message: r.message,
      ...(typeof r.errcode === 'number' ? { errcode: r.errcode } : {}),
      ...(typeof r.ip === 'string' ? { ip: r.ip } : {}),
    };
  }

  private async release(key: string, owner: string, outcome?: ReleaseOutcome): Promise<void> {
    try {
      await this.storeCall(
        () => this.store.releaseLease(key, owner, outcome),
        performance.now() + this.o.storeTimeoutMs,
      );
    } catch (err) {
      // The lease is taken over once its heartbeat stops; a failed release only delays the next refresh.
      this.log.log('warn', 'release_failed', { key, ...storeErrorFields(err) });
    }
  }

  private remember(row: CredentialRow): Credential {
    this.cache.set(row.key, { cred: row, readAt: this.clock() });
    return { value: row.value, expiresAt: row.expiresAt, refreshedAt: row.refreshedAt };
  }

  /** One store call, bounded by `deadline` and the store timeout; a failure (or no answer in time) is store_unavailable. */
  private async storeCall<T>(op: () => Promise<T>, deadline: number): Promise<T> {
    try {
      return await this.health.call(op, Math.min(this.o.storeTimeoutMs, deadline - performance.now()));
    } catch {
      throw storeUnavailable();
    }
  }

  /** Served from memory while the store is away: usable and outside its refresh window (nobody rotates it yet). */
  private servesDegraded(row: CredentialRow, now: number): boolean {
    return isUsable(row, now) && row.expiresAt - this.o.refreshAheadMs > now;
  }

  private budgetEnd(): number {
    return performance.now() + this.o.budgetMs;
  }

  /** Why a request's budget ran out while its resolution went on. */
  private outOfTime(src: CredentialSource, state: FlightState): CredentialError {
    switch (state.phase) {
      case 'store':
        return storeUnavailable();
      case 'lease':
        return stillRefreshing(src.key);
      case 'upstream':
        return new CredentialError(
          'upstream_unavailable',
          `${src.service} has not answered for ${src.owner} within this request's budget; the refresh of ${src.key} goes on, retry shortly`,
        );
    }
  }

  /** The refusal this credential is still answered with, if any: until it frees, and while its row has not moved on. */
  private refusal(key: string, row: CredentialRow | null, now: number): CredentialError | undefined {
    const r = this.refusals.get(key);
    if (!r) return undefined;
    if (r.until > now && (row?.version ?? 0) === r.version) return r.error;
    this.refusals.delete(key);
    return undefined;
  }

  /** What an upstream failure means for the caller (a message naming the endpoint and owner, never a secret). */
  toCredentialError(err: unknown, src: Pick<CredentialSource, 'key' | 'service' | 'owner'>): CredentialError {
    if (err instanceof CredentialError) return err;
    if (err instanceof UpstreamUnavailable) {
      const why =
        err.reason === 'circuit'
          ? 'not tried: its host failed to answer several times in a row just now; it is tried again within seconds'
          : err.reason;
      return new CredentialError(
        'upstream_unavailable',
        `${src.service} did not answer ${err.endpoint} for ${src.owner} (${why})`,
      );
    }
    if (err instanceof WechatError) {
      const what = `${err.endpoint} for ${src.owner} answered errcode ${err.errcode}`;
      switch (classifyUpstream(err)) {
        case 'retry':
          return new CredentialError('upstream_unavailable', `${what}, a transient fault`, err.errcode);
        case 'config':
          return new CredentialError('config_fault', `${what}: ${configHint(err, src)}`, err.errcode);
        case 'quota':
          return new CredentialError('quota_exhausted', `${what}: ${src.service}'s quota is exhausted`, err.errcode);
        default:
          return new CredentialError('upstream_error', what, err.errcode);
      }
    }
    this.log.log('error', 'refresh_crashed', { key: src.key, ...crashFields(err) });
    return new CredentialError('upstream_error', `refreshing ${src.key} failed unexpectedly`);
  }
}

/** What to check for a configuration fault: the IP to allow-list when the answer names it (40164, 60020). */
function configHint(err: WechatError, src: Pick<CredentialSource, 'service' | 'owner'>): string {
  const ip = callerIp(err.errmsg);
  if (ip) return `${ip} is not on ${src.service}'s IP allow-list of ${src.owner}: add it`;
  return `check the app's secret, appid and ${src.service}'s IP allow-list`;
}

/**
 * The caller's IP as WeChat and WeCom name it in a refusal, in the two forms docs/protocol.md records (§1, Conventions):
 * "invalid ip 1.2.3.4 …" and "…, from ip: 1.2.3.4, …". Not a secret.
 */
export function callerIp(errmsg: string): string | undefined {
  return /(?:invalid ip|from ip:) ([0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+)/i.exec(errmsg)?.[1];
}

/** Errors that only say a deadline came first: a caller with time left may ask again. */
function isTimeBound(err: unknown): boolean {
  return err instanceof CredentialError && (err.code === 'busy' || /no time left/.test(err.message));
}

function isStoreFailure(err: unknown): boolean {
  return err instanceof CredentialError && err.code === 'store_unavailable';
}

/** `p`, or `late()` thrown once `deadline` (performance.now()) passes first; `p` goes on either way. */
function raceDeadline<T>(p: Promise<T>, deadline: number, late: () => Error): Promise<T> {
  const ms = deadline - performance.now();
  if (ms === Number.POSITIVE_INFINITY) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), Math.max(0, ms));
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
