/**
 * The simulator clock: base + real elapsed time + total advanced. All expiry and quota logic
 * reads it, so tests move time with advance() instead of waiting. docs/design.md §8.
 */
import { performance } from 'node:perf_hooks';

export class SimClock {
  private readonly base: number;
  private readonly startedAt = performance.now();
  private advanced = 0;

  constructor(start: number = Date.now()) {
    this.base = start;
  }

  /** Epoch ms. */
  now(): number {
    return Math.floor(this.base + (performance.now() - this.startedAt) + this.advanced);
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance(ms) needs a finite ms >= 0, got ${ms}`);
    this.advanced += ms;
  }
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const BEIJING_OFFSET_MS = 8 * HOUR_MS;

/** Number of the Beijing (UTC+8) calendar day containing `ms` (days since 1970-01-01 Beijing time). */
export function beijingDay(ms: number): number {
  return Math.floor((ms + BEIJING_OFFSET_MS) / DAY_MS);
}

/** Epoch ms of the next Beijing midnight after `ms`. */
export function nextBeijingMidnight(ms: number): number {
  return (beijingDay(ms) + 1) * DAY_MS - BEIJING_OFFSET_MS;
}

/** Number of the Beijing (UTC+8) calendar month containing `ms` (months since 1970-01, Beijing time). */
export function beijingMonth(ms: number): number {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/**
 * Counts uses per key within a period (a Beijing day, an hour, ...). The count restarts when
 * the period number changes.
 */
export class PeriodCounter {
  private readonly counts = new Map<string, { period: number; count: number }>();

  constructor(private readonly periodOf: (ms: number) => number = beijingDay) {}

  used(key: string, now: number): number {
    const c = this.counts.get(key);
    return c && c.period === this.periodOf(now) ? c.count : 0;
  }

  /** Forget the key's uses of the current period (WeChat's clear_quota). */
  reset(key: string): void {
    this.counts.delete(key);
  }

  /** Counts one use if fewer than `limit` were used in the current period; false when exhausted. */
  take(key: string, now: number, limit: number): boolean {
    const period = this.periodOf(now);
    const c = this.counts.get(key);
    const count = c && c.period === period ? c.count : 0;
    if (count >= limit) return false;
    this.counts.set(key, { period, count: count + 1 });
    return true;
  }
}
