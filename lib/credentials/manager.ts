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
import { classifyUpstream, UpstreamUnavailable, WechatError } from '../wechat/errors';
import { CredentialError } from './errors';
import type { CallContext, CredentialSource, Fetched } from './source';
import { beijingDay, nextBeijingMidnight } from './day';

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
}

/** Why an upstream fetch happened: the daily counters are kept per reason. */
export type FetchReason = 'refresh' | 'force' | 'rejected';
export const FETCH_REASONS: readonly FetchReason[] = ['refresh', 'force', 'rejected'];

/**
 * A refresh may hand back the value we already have: WeChat re-issues a ticket (and a stable
 * token outside its last 5 minutes) unchanged until it expires. So a value refreshed this
 * recently counts as fresh while it lives, and such a value costs one fetch a minute, not one
 * per request, until WeChat replaces it.
 */
const MIN_REFRESH_INTERVAL_MS = 60_000;
const COUNTER_TTL_MS = 3 * 86_400_000;

/** What to do with the row we see: hand it out, or (try to) refresh it. May throw. */
type Decide = (row: CredentialRow | null, now: number) => 'serve' | 'refresh';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
const processId = randomUUID().slice(0, 8);
let leaseSeq = 0;

export class CredentialManager {
  private readonly cache = new Map<string, { cred: CredentialRow; readAt: number }>();
  private readonly flights = new Map<string, Promise<Credential>>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly o: LifecycleOptions,
    private readonly log: Logger,
  ) {}

  /** The current value of a credential, refreshing it when needed (see DESIGN §5). */
  get(src: CredentialSource, opts: GetOptions): Promise<Credential> {
    if (!opts.force) {
      const hit = this.cache.get(src.key);
      const now = this.clock();
      if (hit && now - hit.readAt < this.o.localCacheMs && this.isFresh(hit.cred, now)) return Promise.resolve(hit.cred);
    }
    // Concurrent callers in this process share one resolution: one store read, one lease attempt.
    const flightKey = opts.force ? `${src.key}\0force\0${opts.stale ?? ''}` : src.key;
    let flight = this.flights.get(flightKey);
    if (!flight) {
      const decide = opts.force ? (opts.stale !== undefined ? this.staleForce(src, opts.stale) : this.cooldownForce(src)) : this.normal(src);
      const reason: FetchReason = opts.force ? (opts.stale !== undefined ? 'rejected' : 'force') : 'refresh';
      flight = this.obtain(src, decide, reason, opts.call).finally(() => this.flights.delete(flightKey));
      this.flights.set(flightKey, flight);
    }
    return flight;
  }

  /** The stored row, without refreshing (refresher, status). */
  peek(key: string): Promise<CredentialRow | null> {
    return this.guard(() => this.store.read(key));
  }

  /** True when the row holds a value that needs no refresh yet. */
  isFresh(row: CredentialRow, now: number): boolean {
    return this.isUsable(row, now) && (row.expiresAt - this.o.refreshAheadMs > now || now - row.refreshedAt < MIN_REFRESH_INTERVAL_MS);
  }

  /** Today's upstream fetches of a credential, per reason (and per caller for the callers given). */
  async countsToday(key: string, callers: string[]): Promise<Record<FetchReason, { total: number; byCaller: Record<string, number> }>> {
    const now = this.clock();
    const out = {} as Record<FetchReason, { total: number; byCaller: Record<string, number> }>;
    for (const reason of FETCH_REASONS) {
      const total = await this.guard(() => this.store.increment(this.counterKey(now, key, reason), 0, now + COUNTER_TTL_MS, now));
      const byCaller: Record<string, number> = {};
      if (total > 0) {
        for (const caller of callers) {
          const n = await this.guard(() => this.store.increment(this.counterKey(now, key, reason, caller), 0, now + COUNTER_TTL_MS, now));
          if (n > 0) byCaller[caller] = n;
        }
      }
      out[reason] = { total, byCaller };
    }
    return out;
  }

  /** Still valid upstream. Handed out to the last second when no refresh can replace it: the caller sees expires_in. */
  private isUsable(row: CredentialRow, now: number): boolean {
    return row.value !== '' && row.expiresAt > now;
  }

  // ---- the three ways of deciding --------------------------------------------------------

  private normal(src: CredentialSource): Decide {
    return (row, now) => {
      if (row && this.isFresh(row, now)) return 'serve';
      if (row && row.blockedUntil > now) {
        if (this.isUsable(row, now)) return 'serve';
        throw this.blocked(src, row);
      }
      return 'refresh';
    };
  }

  /** Force with the value WeChat rejected: refresh only while that value is still current. */
  private staleForce(src: CredentialSource, stale: string): Decide {
    return (row, now) => {
      if (row && row.value !== stale && this.isUsable(row, now)) return 'serve';
      if (row && row.blockedUntil > now && src.quotaBlocksAll(true)) throw this.blocked(src, row);
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
      if (row && row.blockedUntil > now && src.quotaBlocksAll(true)) throw this.blocked(src, row);
      return 'refresh';
    };
  }

  private blocked(src: CredentialSource, row: CredentialRow): CredentialError {
    return new CredentialError('quota_exhausted', `${src.key}: WeChat's daily quota is exhausted; no further calls until ${new Date(row.blockedUntil).toISOString()}`, 45009);
  }

  // ---- the lifecycle ------------------------------------------------------------------

  private async obtain(src: CredentialSource, decide: Decide, reason: FetchReason, call: CallContext): Promise<Credential> {
    for (;;) {
      const now = this.clock();
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
        return this.refreshAsWinner(src, leased, owner, reason, call);
      }
      // Somebody else is refreshing. A plain read can use what is there while it still works.
      if (reason === 'refresh' && row && this.isUsable(row, now)) return this.remember(row);
      await this.waitForChange(src.key, row, call.deadline);
    }
  }

  private async refreshAsWinner(src: CredentialSource, leased: CredentialRow, owner: string, reason: FetchReason, call: CallContext): Promise<Credential> {
    const force = reason !== 'refresh';
    // Finish inside our lease, so that nobody else starts a second fetch while ours is under way.
    const deadline = Math.min(call.deadline, performance.now() + this.o.leaseMs - 250);
    let fetched: Fetched;
    try {
      if (force && src.forceBudget !== undefined) await this.checkForceBudget(src);
      fetched = await this.fetchWithRetry(src, force, reason, call, deadline);
    } catch (err) {
      const failure = this.toCredentialError(err, src);
      const blockAll = failure.code === 'quota_exhausted' && failure.errcode === 45009 && src.quotaBlocksAll(force);
      await this.release(src.key, owner, blockAll ? nextBeijingMidnight(this.clock()) : undefined);
      this.log.log('warn', 'refresh_failed', { key: src.key, reason, code: failure.code, errcode: failure.errcode, caller: call.caller });
      // A failed refresh never replaces a good value, and a plain read keeps serving it.
      if (!force && this.isUsable(leased, this.clock())) return this.remember(leased);
      throw failure;
    }
    const t = this.clock();
    const update: CredentialUpdate = {
      value: fetched.value,
      expiresAt: t + fetched.expiresIn * 1000,
      refreshedAt: t,
      forcedAt: force ? t : leased.forcedAt,
    };
    const committed = await this.guard(() => this.store.commit(src.key, leased.version, update));
    this.log.log('info', 'refreshed', { key: src.key, reason, caller: call.caller, expiresIn: fetched.expiresIn, committed });
    if (committed) return this.remember({ ...leased, ...update, version: leased.version + 1, leaseOwner: '', leaseUntil: 0 });
    // Our lease ran out and somebody else committed first: theirs is the value everyone sees.
    const current = await this.guard(() => this.store.read(src.key));
    if (current && this.isUsable(current, t)) return this.remember(current);
    return { value: update.value, expiresAt: update.expiresAt, refreshedAt: update.refreshedAt };
  }

  private async fetchWithRetry(src: CredentialSource, force: boolean, reason: FetchReason, call: CallContext, deadline: number): Promise<Fetched> {
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - performance.now();
      call.upstreamCalls++;
      await this.countFetch(src.key, reason, call.caller);
      try {
        return await src.fetch({ force, timeoutMs: Math.max(1, Math.min(this.o.timeoutMs, remaining)), call });
      } catch (err) {
        const backoff = Math.min(2000, 100 * 2 ** attempt) * (0.5 + Math.random());
        const retryable = !(err instanceof CredentialError) && classifyUpstream(err) === 'retry';
        if (!retryable || deadline - performance.now() < backoff + 100) throw err;
        this.log.log('info', 'upstream_retry', { key: src.key, attempt: attempt + 1, error: (err as Error).message });
        await sleep(backoff);
      }
    }
  }

  private async checkForceBudget(src: CredentialSource): Promise<void> {
    const now = this.clock();
    let used = 0;
    for (const reason of ['force', 'rejected'] as const) {
      used += await this.guard(() => this.store.increment(this.counterKey(now, src.key, reason), 0, now + COUNTER_TTL_MS, now));
    }
    if (used >= src.forceBudget!) {
      throw new CredentialError('quota_exhausted', `${src.key}: the daily budget of ${src.forceBudget} forced refreshes is used up`);
    }
  }

  private async countFetch(key: string, reason: FetchReason, caller: string): Promise<void> {
    const now = this.clock();
    try {
      await this.store.increment(this.counterKey(now, key, reason), 1, now + COUNTER_TTL_MS, now);
      await this.store.increment(this.counterKey(now, key, reason, caller), 1, now + COUNTER_TTL_MS, now);
    } catch (err) {
      // Counting must never stop a refresh.
      this.log.log('warn', 'counter_failed', { key, error: (err as Error).message });
    }
  }

  private counterKey(now: number, key: string, reason: FetchReason, caller?: string): string {
    return `count:${beijingDay(now)}:${key}:${reason}${caller === undefined ? '' : `:${caller}`}`;
  }

  /** Sleep until the row changes (a commit) or its lease is free, polling the store. */
  private async waitForChange(key: string, seen: CredentialRow | null, deadline: number): Promise<void> {
    for (;;) {
      if (performance.now() >= deadline) {
        throw new CredentialError('busy', `${key} is being refreshed by another instance that did not finish in time; retry shortly`);
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
      this.log.log('warn', 'release_failed', { key, error: (err as Error).message });
    }
  }

  private remember(row: CredentialRow): Credential {
    this.cache.set(row.key, { cred: row, readAt: this.clock() });
    return { value: row.value, expiresAt: row.expiresAt, refreshedAt: row.refreshedAt };
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof CredentialError) throw err;
      this.log.log('error', 'store_failed', { error: (err as Error).message });
      throw new CredentialError('store_unavailable', 'the credential store is unavailable');
    }
  }

  private toCredentialError(err: unknown, src: CredentialSource): CredentialError {
    if (err instanceof CredentialError) return err;
    if (err instanceof UpstreamUnavailable) {
      return new CredentialError('upstream_unavailable', `WeChat did not answer ${err.endpoint} for ${src.owner} (${err.reason}) within the request budget`);
    }
    if (err instanceof WechatError) {
      const what = `${err.endpoint} for ${src.owner} answered errcode ${err.errcode}`;
      switch (classifyUpstream(err)) {
        case 'retry':
          return new CredentialError('upstream_unavailable', `${what} until the request budget ran out`, err.errcode);
        case 'config':
          return new CredentialError('config_fault', `${what}: check the app's secret, appid and WeChat's IP allow-list`, err.errcode);
        case 'quota':
          return new CredentialError('quota_exhausted', `${what}: WeChat's daily quota is exhausted`, err.errcode);
        default:
          return new CredentialError('upstream_error', what, err.errcode);
      }
    }
    this.log.log('error', 'refresh_crashed', { key: src.key, error: String(err) });
    return new CredentialError('upstream_error', `refreshing ${src.key} failed unexpectedly`);
  }
}
