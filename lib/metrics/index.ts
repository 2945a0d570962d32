/**
 * This process's figures (docs/design.md §16): requests, upstream calls, refreshes, lease waits and
 * store errors, counted as they happen, exposed as Prometheus text (GET /metrics) or as one
 * embedded-metric-format log line per serverless invocation.
 */
import { type EmfMarks, emfLine } from './emf';
import { Family, type Gauge, prometheusText } from './registry';
import type { MetricsSink } from './sink';

export type { Gauge } from './registry';
export { type MetricsSink, NO_METRICS } from './sink';

/** Request durations: a warm answer takes a millisecond, a cold one a WeChat round trip, a stuck one the budget. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Lease waits: a refresh elsewhere usually takes a few hundred ms, a dead holder costs the lease duration. */
const LEASE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics implements MetricsSink {
  private readonly requests = new Family(
    'wecred_requests_total',
    'Requests answered, by route or interface and outcome (ok or the error code).',
    ['route', 'outcome'],
  );
  private readonly durations = new Family(
    'wecred_request_duration_seconds',
    'Time to answer a request, by route or interface.',
    ['route'],
    REQUEST_BUCKETS,
  );
  private readonly upstreams = new Family(
    'wecred_upstream_calls_total',
    'Calls to WeChat and WeCom, by endpoint and errcode (0: success; timeout, network, http, body, circuit: no usable answer).',
    ['endpoint', 'errcode'],
  );
  private readonly refreshes = new Family(
    'wecred_refreshes_total',
    'Refreshes made under a lease, by reason and result (ok or the error code).',
    ['reason', 'result'],
  );
  private readonly leaseWaits = new Family(
    'wecred_lease_wait_seconds',
    "Waits on another instance's lease, by how they ended.",
    ['outcome'],
    LEASE_BUCKETS,
  );
  private readonly storeErrors = new Family(
    'wecred_store_errors_total',
    'Store calls that failed or did not answer in time, by error.',
    ['error'],
  );
  private readonly families = [
    this.requests,
    this.durations,
    this.upstreams,
    this.refreshes,
    this.leaseWaits,
    this.storeErrors,
  ];
  private readonly marks: EmfMarks = new Map();

  request(route: string, outcome: string, seconds: number): void {
    this.requests.inc([route, outcome]);
    this.durations.observe([route], seconds);
  }

  upstream(endpoint: string, errcode: string): void {
    this.upstreams.inc([endpoint, errcode]);
  }

  refresh(reason: string, result: string): void {
    this.refreshes.inc([reason, result]);
  }

  leaseWait(outcome: string, seconds: number): void {
    this.leaseWaits.observe([outcome], seconds);
  }

  storeError(error: string): void {
    this.storeErrors.inc([error]);
  }

  /** Everything counted so far, and `gauges`, in Prometheus text format. */
  prometheus(gauges: readonly Gauge[]): string {
    return prometheusText(this.families, gauges);
  }

  /** What changed since the previous line, and `gauges`, as one embedded-metric-format line; null when there is nothing. */
  emf(gauges: readonly Gauge[], now: number): string | null {
    return emfLine(this.families, gauges, now, this.marks);
  }
}
