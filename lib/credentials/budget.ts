/** Daily fetch counters, the daily force budget and the hourly budgets, shared through the store (docs/design.md §5.7, §13). */
import type { Logger } from '../log/logger';
import { guardStore, storeErrorFields } from '../store/guard';
import type { Store } from '../store/port';
import { beijingDay, clockHour, HOUR_MS } from './day';
import { CredentialError, storeUnavailable } from './errors';
import type { FetchReason } from './policy';
import type { Clock, CredentialSource } from './source';

/** What is counted per day: fetches by reason, and the probes of reported values. */
type Counted = FetchReason | 'probe';
const COUNTED: readonly Counted[] = ['refresh', 'force', 'rejected', 'probe'];
type CounterName = Counted | 'report-live' | 'report-rejected';
/** Of a daily budget, this share is kept for refreshes of rejected values (docs/design.md §5.7). */
const DAILY_RESERVE_SHARE = 0.05;
const COUNTER_TTL_MS = 3 * 86_400_000;
/** An hour's counter is read during the next hour too (see spendHourly). */
const HOUR_COUNTER_TTL_MS = 3 * HOUR_MS;

/** A day's count, in all and for each caller asked about that has one. */
export interface Tally {
  total: number;
  byCaller: Record<string, number>;
}
/** Today's fetches by reason, and the stale reports upstream judged live or rejected (docs/design.md §5.7). */
export type TodayCounts = Record<Counted, Tally> & { reports: Record<'live' | 'rejected', Tally> };

/** An hourly budget's refusal, knowing when the budget lets the next call through. */
export class BudgetRefusal extends CredentialError {
  constructor(
    message: string,
    readonly freesAt: number,
  ) {
    super('budget_exhausted', message);
  }
}

export class Budgets {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Count one upstream call for today, per reason and per caller; counting never stops a refresh. */
  countFetch(key: string, reason: Counted, caller: string): Promise<void> {
    return this.count(key, reason, caller);
  }

  /**
   * Refuse a fetch once today's fetches reach the credential's daily budget (WeChat's, e.g. 2000
   * classic tokens), before WeChat does; a share is kept for refreshes of rejected values.
   */
  async checkDaily(src: CredentialSource, reason: FetchReason): Promise<void> {
    if (src.dailyBudget === undefined) return;
    const now = this.clock();
    const counts = await Promise.all(
      (['refresh', 'force', 'rejected'] as const).map((r) => this.read(counterKey(now, src.key, r))),
    );
    const used = counts.reduce((a, b) => a + b, 0);
    const reserve = Math.ceil(src.dailyBudget * DAILY_RESERVE_SHARE);
    const limit = reason === 'rejected' ? src.dailyBudget : src.dailyBudget - reserve;
    if (used >= limit) {
      const kept = reason === 'rejected' ? '' : ` (the last ${reserve} are kept for replacing rejected values)`;
      throw new CredentialError(
        'quota_exhausted',
        `${src.key}: ${used} of the daily budget of ${src.dailyBudget} fetches are used${kept}; no further fetches today`,
      );
    }
  }

  /** Refuse a forced fetch once `caller` has made its daily allowance of them for this credential. */
  async checkAllowance(src: CredentialSource, caller: string, allowance: number): Promise<void> {
    const now = this.clock();
    const [force, rejected] = await Promise.all([
      this.read(counterKey(now, src.key, 'force', caller)),
      this.read(counterKey(now, src.key, 'rejected', caller)),
    ]);
    if (force + rejected >= allowance) {
      throw new CredentialError(
        'quota_exhausted',
        `${caller} has used its daily allowance of ${allowance} forced refreshes of ${src.key}; other callers are not affected`,
      );
    }
  }

  /** Count a report of a rejected value by what upstream said of it (a live one was not replaced). */
  countReport(key: string, caller: string, verdict: 'live' | 'rejected'): Promise<void> {
    return this.count(key, `report-${verdict}`, caller);
  }

  /** Refuse a forced fetch once today's forced fetches (ours, or WeChat's word for it) reach the budget. */
  async checkForce(src: CredentialSource): Promise<void> {
    if (src.forceBudget === undefined) return;
    const now = this.clock();
    const counts = await Promise.all([
      this.read(counterKey(now, src.key, 'force')),
      this.read(counterKey(now, src.key, 'rejected')),
      this.read(forceSpentKey(now, src.key)),
    ]);
    if (counts.reduce((a, b) => a + b, 0) >= src.forceBudget) {
      throw new CredentialError(
        'quota_exhausted',
        `${src.key}: the daily budget of ${src.forceBudget} forced refreshes is used up`,
      );
    }
  }

  /**
   * WeChat's daily counters of the credential were cleared (quota.clear): today's totals the daily
   * and force budgets read start again at 0. Per-caller allowances are ours, and stay.
   */
  async restartDay(src: CredentialSource): Promise<void> {
    const now = this.clock();
    const keys = [
      ...(['refresh', 'force', 'rejected'] as const).map((r) => counterKey(now, src.key, r)),
      forceSpentKey(now, src.key),
    ];
    await Promise.all(
      keys.map(async (key) => {
        const n = await this.store.increment(key, 0, now + COUNTER_TTL_MS, now);
        if (n > 0) await this.store.increment(key, -n, now + COUNTER_TTL_MS, now);
      }),
    );
  }

  /** WeChat said the forced quota is gone (it counts calls we did not see): spend ours for today too. */
  async spendForce(src: CredentialSource): Promise<void> {
    if (src.forceBudget === undefined) return;
    const now = this.clock();
    await this.store
      .increment(forceSpentKey(now, src.key), src.forceBudget, now + COUNTER_TTL_MS, now)
      .catch(() => undefined);
  }

  /**
   * Spend one call of each hourly budget, refusing before upstream once one is used up. WeCom does
   * not document its window, so an hour is counted as this clock hour's calls plus the whole
   * previous hour's, never fewer than any 60 minutes could hold. Counted before asking (one atomic
   * increment each), so credentials sharing a budget cannot overshoot it together; a refused call
   * takes back the increments it made, so the counters hold calls made only.
   */
  async spendHourly(src: CredentialSource): Promise<void> {
    const now = this.clock();
    const budgets = src.hourlyBudgets ?? [];
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
        const key = hourKey(now, scope);
        return this.store
          .increment(key, -1, now + HOUR_COUNTER_TTL_MS, now)
          .catch((e: unknown) => this.log.log('warn', 'counter_failed', { key, ...storeErrorFields(e) }));
      }),
    );
    throw refusal;
  }

  /** Today's upstream fetches of a credential, per reason (and per caller, for the callers given). */
  async countsToday(key: string, callers: readonly string[]): Promise<TodayCounts> {
    const now = this.clock();
    const tally = async (name: CounterName): Promise<Tally> => {
      const total = await this.read(counterKey(now, key, name));
      const byCaller: Record<string, number> = {};
      if (total > 0) {
        for (const caller of callers) {
          const n = await this.read(counterKey(now, key, name, caller));
          if (n > 0) byCaller[caller] = n;
        }
      }
      return { total, byCaller };
    };
    const out = {} as TodayCounts;
    for (const reason of COUNTED) out[reason] = await tally(reason);
    out.reports = { live: await tally('report-live'), rejected: await tally('report-rejected') };
    return out;
  }

  /** Each hourly budget of the credential: its calls this clock hour and the previous one, as spendHourly counts them. */
  hourlyUse(src: CredentialSource): Promise<{ scope: string; limit: number; used: number }[]> {
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

  /** A budget's count for the clock hour containing `hour`, after adding `by` (0 reads it). */
  private hourCount(hour: number, scope: string, by: number, now: number): Promise<number> {
    return this.guard(() => this.store.increment(hourKey(hour, scope), by, now + HOUR_COUNTER_TTL_MS, now));
  }

  /** One more for today, in all and for `caller`. */
  private async count(key: string, name: CounterName, caller: string): Promise<void> {
    const now = this.clock();
    try {
      await this.store.increment(counterKey(now, key, name), 1, now + COUNTER_TTL_MS, now);
      await this.store.increment(counterKey(now, key, name, caller), 1, now + COUNTER_TTL_MS, now);
    } catch (err) {
      this.log.log('warn', 'counter_failed', { key, ...storeErrorFields(err) });
    }
  }

  private read(key: string): Promise<number> {
    const now = this.clock();
    return this.guard(() => this.store.increment(key, 0, now + COUNTER_TTL_MS, now));
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    return guardStore(this.log, op, storeUnavailable);
  }
}

function counterKey(now: number, key: string, name: CounterName, caller?: string): string {
  return `count:${beijingDay(now)}:${key}:${name}${caller === undefined ? '' : `:${caller}`}`;
}

function forceSpentKey(now: number, key: string): string {
  return `count:${beijingDay(now)}:${key}:force-spent`;
}

function hourKey(now: number, scope: string): string {
  return `hour:${clockHour(now)}:${scope}`;
}

/** The first budget this call overshoots (`before`: this hour's calls before it), as a refusal; undefined when none. */
function budgetRefusal(
  src: CredentialSource,
  now: number,
  counts: { scope: string; limit: number; before: number; previous: number }[],
): BudgetRefusal | undefined {
  const over = counts.find((c) => c.before + c.previous >= c.limit);
  if (!over) return undefined;
  // With no further calls, this hour's plus the previous hour's drop below the limit at the next
  // hour when this hour's alone are under it, else the hour after.
  const nextHour = now - (now % HOUR_MS) + HOUR_MS;
  const freesAt = over.before < over.limit ? nextHour : nextHour + HOUR_MS;
  return new BudgetRefusal(
    `${src.key}: the budget of ${over.limit} calls per hour for ${over.scope} is used up; no further calls before ${new Date(freesAt).toISOString()}`,
    freesAt,
  );
}

/** A settled result's value; only read once none was rejected. */
const fulfilled = (r: PromiseSettledResult<number>) => (r.status === 'fulfilled' ? r.value : 0);
