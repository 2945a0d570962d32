/**
 * What the instrumented layers report (docs/design.md §16): one call per event, costing an
 * increment or two. lib/metrics imports nothing of ours, so every layer may use it, as lib/log.
 */
export interface MetricsSink {
  /** One answered request: its route or interface, its outcome ('ok' or the error's code), its duration. */
  request(route: string, outcome: string, seconds: number): void;
  /**
   * One upstream call: its endpoint and the errcode answered ('0' for success), or why nothing
   * usable came back ('timeout', 'network', 'http', 'body', 'circuit').
   */
  upstream(endpoint: string, errcode: string): void;
  /** One refresh made under a lease: why ('refresh', 'force', 'rejected') and how it ended ('ok' or the error's code). */
  refresh(reason: string, result: string): void;
  /** A wait on another instance's lease: how it ended ('released', 'taken_over', 'timed_out', 'failed'), and how long. */
  leaseWait(outcome: string, seconds: number): void;
  /** A store call that failed or did not answer in time, by the error's code or class. */
  storeError(error: string): void;
}

/** Metrics off: nothing is counted. */
export const NO_METRICS: MetricsSink = {
  request() {},
  upstream() {},
  refresh() {},
  leaseWait() {},
  storeError() {},
};
