/**
 * The credential lifecycle (docs/design.md §5): warm cache, store read, one lease-holding
 * refresher per credential across every process sharing the store, fenced commits.
 * Two clocks: `clock` (injectable, shared with the simulator in tests) decides expiry, leases and
 * days; `performance.now()` measures request budgets and timeouts, which are real time.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { crashFields } from '../log/crash';
import type { Logger } from '../log/logger';
import { guardStore, storeErrorFields } from '../store/guard';
import type { CredentialRow, CredentialUpdate, Store } from '../store/port';
import { classifyUpstream, UpstreamUnavailable, WechatError } from '../wechat/errors';
import { BudgetRefusal, Budgets } from './budget';
import { nextBeijingMidnight } from './day';
import { CredentialError, storeUnavailable } from './errors';
import {
  CONFIG_FAULT_PAUSE_MS,
  isFresh,
  isUsable,
  MIN_REFRESH_INTERVAL_MS,
  type Mode,
  type Policy,
  policyFor,
} from './policy';
import { attemptTimeout, retryWithin } from './retry';
import type { CallContext, Clock, CredentialSource, Fetched } from './source';

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
  call: CallContext;
  /** Default `read` (see policy.ts). */
  mode?: Mode;
  /** With mode `stale`: the value WeChat just rejected. */
  stale?: string;
  /** performance.now() to finish by, when sooner than the request's (a ticket fetch getting its token). */
  deadline?: number;
}

/** What the lifecycle needs of a lease it holds. */
interface Lease {
  row: CredentialRow;
  owner: string;
  /** performance.now() by which our refresh must be over: inside the lease and the request budget. */
  deadline: number;
}

const processId = randomUUID().slice(0, 8);
let leaseSeq = 0;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export class Lifecycle {
  readonly budgets: Budgets;
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
  ) {
    this.budgets = new Budgets(store, clock, log);
  }

  /** The current value of a credential, refreshing it as its mode says. */
  async get(src: CredentialSource, opts: GetOptions): Promise<Credential> {
    const mode = opts.mode ?? 'read';
    if (mode === 'read') {
      const hit = this.cache.get(src.key);
      const now = this.clock();
      if (hit && now - hit.readAt < this.o.localCacheMs && this.isFresh(hit.cred, now)) return hit.cred;
    }
    // Concurrent callers in this process share one resolution: one store read, one lease attempt.
    const flightKey = mode === 'read' ? src.key : `${src.key}\0${mode}\0${opts.stale ?? ''}`;
    const deadline = Math.min(opts.call.deadline, opts.deadline ?? Number.POSITIVE_INFINITY);
    return this.flight(flightKey, deadline, async () => {
      await this.rethrowRefusal(src.key);
      const policy = policyFor(mode, {
        key: src.key,
        refreshAheadMs: this.o.refreshAheadMs,
        forceCooldownMs: this.o.forceCooldownMs,
        pausedUntil: this.pauseUntil.get(src.key) ?? 0,
        stale: opts.stale,
        startedAt: this.clock(),
      });
      return this.obtain(src, policy, opts.call, deadline);
    });
  }

  /** The stored row, without refreshing. */
  peek(key: string): Promise<CredentialRow | null> {
    return this.guard(() => this.store.read(key));
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
      const now = this.clock();
      const row = await this.guard(() => this.store.read(key));
      if (!row) break;
      const owner = newOwner();
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

  /** Start a resolution, or join the one under way; a joiner still answers by its own deadline. */
  private flight(key: string, deadline: number, start: () => Promise<Credential>): Promise<Credential> {
    const running = this.flights.get(key);
    if (!running) {
      const flight = start().finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
      return flight;
    }
    return new Promise((resolve, reject) => {
      const name = key.split('\0')[0];
      const timer = setTimeout(
        () =>
          reject(
            new CredentialError(
              'busy',
              `${name} is being refreshed and did not finish within this request's budget; retry shortly`,
            ),
          ),
        Math.max(0, deadline - performance.now()),
      );
      running.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }

  /** Read the row; serve it, or take the lease and refresh, or wait for whoever holds the lease. */
  private async obtain(
    src: CredentialSource,
    policy: Policy,
    call: CallContext,
    deadline: number,
  ): Promise<Credential> {
    for (;;) {
      const now = this.clock();
      const leaseStart = performance.now();
      const row = await this.guard(() => this.store.read(src.key));
      if (policy.decide(row, now) === 'serve') return this.remember(row!);
      const owner = newOwner();
      const leased = await this.guard(() => this.store.acquireLease(src.key, owner, now + this.o.leaseMs, now));
      if (leased) {
        // Finish inside our lease (measured from before we asked for it), so that nobody else
        // starts a second fetch while ours is under way.
        const lease = { row: leased, owner, deadline: Math.min(deadline, leaseStart + this.o.leaseMs - 250) };
        return this.holdLease(src, policy, lease, call, now);
      }
      if (policy.settlesForUsable && row && isUsable(row, now)) return this.remember(row);
      await this.waitForChange(src.key, row, deadline);
    }
  }

  /** The lease row is the latest state: somebody may have refreshed between our read and our lease. */
  private async holdLease(
    src: CredentialSource,
    policy: Policy,
    lease: Lease,
    call: CallContext,
    now: number,
  ): Promise<Credential> {
    let verdict: 'serve' | 'refresh';
    try {
      verdict = policy.decide(lease.row, now);
    } catch (err) {
      await this.release(src.key, lease.owner);
      throw err;
    }
    if (verdict === 'serve') {
      await this.release(src.key, lease.owner);
      return this.remember(lease.row);
    }
    const callsBefore = call.upstreamCalls;
    let fetched: Fetched & { startedAt: number };
    try {
      if (policy.forced) await this.budgets.checkForce(src);
      fetched = await this.fetch(src, policy, lease, call);
    } catch (err) {
      return this.failed(src, policy, lease, call, callsBefore, err);
    }
    return this.commit(src, policy, lease, call, fetched);
  }

  /**
   * Attempts inside the lease: one where retrying costs more than it saves (a forced refresh:
   * each try may rotate the token and counts against the force budget; a read with a working
   * value: the request is not kept waiting on a failing WeChat), else as many as fit.
   */
  private fetch(
    src: CredentialSource,
    policy: Policy,
    lease: Lease,
    call: CallContext,
  ): Promise<Fetched & { startedAt: number }> {
    const { deadline } = lease;
    const single = policy.forced || (policy.settlesForUsable && isUsable(lease.row, this.clock()));
    const timeoutMs = attemptTimeout(deadline, this.o.timeoutMs, src.owner);
    const attempt = async () => {
      timeoutMs(); // nothing is started, or counted, without time to finish it
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
      return { ...(await src.fetch({ force: policy.forced, deadline, timeoutMs, call, spend })), startedAt };
    };
    return retryWithin(deadline, attempt, {
      attempts: single ? 1 : Number.POSITIVE_INFINITY,
      retryable: (err) => !(err instanceof CredentialError) && classifyUpstream(err) === 'retry',
      onRetry: (n, err) =>
        this.log.log('info', 'upstream_retry', { key: src.key, attempt: n, error: (err as Error).message }),
    });
  }

  /** A failed refresh never replaces a good value: release, record the failure, then serve the old value or throw. */
  private async failed(
    src: CredentialSource,
    policy: Policy,
    lease: Lease,
    call: CallContext,
    callsBefore: number,
    err: unknown,
  ): Promise<Credential> {
    const failure = this.toCredentialError(err, src);
    // Only WeChat's own answer for this credential trips its breaker (not, say, its token's).
    const quota = err instanceof WechatError && err.errcode === 45009;
    const blocksAll = quota && src.quotaBlocksAll(policy.forced);
    const blockedUntil = blocksAll ? (src.quotaResetsAt ?? nextBeijingMidnight)(this.clock()) : undefined;
    await this.release(src.key, lease.owner, blockedUntil);
    if (quota && !blocksAll) await this.budgets.spendForce(src);
    this.log.log('warn', 'refresh_failed', {
      key: src.key,
      reason: policy.reason,
      code: failure.code,
      errcode: failure.errcode,
      caller: call.caller,
    });
    const now = this.clock();
    if (isUsable(lease.row, now)) {
      if (policy.settlesForUsable) {
        if (call.upstreamCalls > callsBefore || failure.code === 'budget_exhausted') {
          this.pauseUntil.set(src.key, now + MIN_REFRESH_INTERVAL_MS);
        }
        return this.remember(lease.row);
      }
    } else if (failure.code === 'config_fault' || failure instanceof BudgetRefusal) {
      // Asking again could not succeed sooner: answer from memory, at no store write.
      const until = failure instanceof BudgetRefusal ? failure.freesAt : now + CONFIG_FAULT_PAUSE_MS;
      this.refusals.set(src.key, { error: failure, until, version: lease.row.version });
    }
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
    this.pauseUntil.delete(src.key);
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
    const committed = await this.guard(() => this.store.commit(src.key, owner, leased.version, update));
    this.log.log('info', 'refreshed', {
      key: src.key,
      reason: policy.reason,
      caller: call.caller,
      expiresIn: fetched.expiresIn,
      committed,
    });
    if (committed)
      return this.remember({ ...leased, ...update, version: leased.version + 1, leaseOwner: '', leaseUntil: 0 });
    // Our lease ran out and somebody else took over: theirs is the value everyone sees.
    const current = await this.guard(() => this.store.read(src.key));
    if (current && isUsable(current, t) && current.version > leased.version) return this.remember(current);
    return { value: update.value, expiresAt: update.expiresAt, refreshedAt: update.refreshedAt };
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

const newOwner = () => `${processId}:${++leaseSeq}`;
