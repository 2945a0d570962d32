/**
 * Whether the store answers, as every caller sees it (docs/design.md §6.4): a call that fails or
 * times out marks it away (logged once), the first good call marks it back (logged once). While it
 * is away, callers with something in memory skip it, and one call a second tries it again.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger';
import { type MetricsSink, NO_METRICS } from '../metrics/sink';
import { storeErrorFields, withinStoreTimeout } from './guard';

/** While the store is away, it is tried again at most this often. */
const RETRY_MS = 1_000;

export class StoreHealth {
  /** Since when (clock ms) the store has been failing; null while it answers. */
  private awaySince: number | null = null;
  private retryAt = 0;

  constructor(
    private readonly clock: () => number,
    private readonly log: Logger,
    /** Counts each failed call (metrics). */
    private readonly metrics: Pick<MetricsSink, 'storeError'> = NO_METRICS,
  ) {}

  /** `op` within `ms`; its outcome marks the store away or back. Throws what `op` threw, or a StoreTimeout. */
  async call<T>(op: () => Promise<T>, ms: number): Promise<T> {
    try {
      const out = await withinStoreTimeout(op(), ms);
      if (this.awaySince !== null) {
        this.log.log('info', 'store_recovered', { since: new Date(this.awaySince).toISOString() });
        this.awaySince = null;
      }
      return out;
    } catch (err) {
      const fields = storeErrorFields(err);
      this.metrics.storeError(String(fields.code ?? fields.error));
      if (this.awaySince === null) {
        this.awaySince = this.clock();
        this.log.log('error', 'store_degraded', fields);
      }
      this.retryAt = performance.now() + RETRY_MS;
      throw err;
    }
  }

  /** Since when the store has been away (clock ms); null while it answers. */
  since(): number | null {
    return this.awaySince;
  }

  /** While the store is away, whether this caller is the one that tries it again now (at most one a second). */
  due(): boolean {
    if (this.awaySince === null) return true;
    if (performance.now() < this.retryAt) return false;
    this.retryAt = performance.now() + RETRY_MS;
    return true;
  }
}
