/**
 * Alerts to a WeCom group robot and/or a JSON webhook (docs/design.md §17), posted by the
 * refresher: one message per run and destination, holding each condition that fires (at most
 * once an hour per condition) and each announced one that ended. Every instance shares the
 * store, so they agree on what was said: a condition is claimed with one atomic increment.
 */
import type { Logger } from '../log/logger';
import type { Store } from '../store/port';
import { type AlertItem, evaluate, type Observed } from './conditions';
import { type AlertSink, RateLimited, sinksFor } from './sinks';

export type { AlertItem, Observed } from './conditions';

const HOUR_MS = 3_600_000;
/** An announced condition is remembered this long (for its recovery message). */
const OPEN_MS = 7 * 86_400_000;
/** After the robot's rate-limit answer, nothing is posted to it for this long (its limit is per minute). */
const PAUSE_MS = 60_000;

export interface AlertsConfig {
  wecomWebhook?: string;
  webhook?: string;
}

export interface Alerter {
  /** Tell each destination what fires and what ended; never throws. How many messages went out. */
  run(observed: readonly Observed[]): Promise<number>;
}

/** The alerter of a configuration, or undefined when it names no destination. */
export function createAlerter(
  config: AlertsConfig,
  deps: { store: Store; clock: () => number; log: Logger; timeoutMs: number },
): Alerter | undefined {
  const sinks = sinksFor(config, deps.timeoutMs);
  if (sinks.length === 0) return undefined;
  return {
    async run(observed) {
      const { firing, watched } = evaluate(observed);
      let sent = 0;
      for (const sink of sinks) {
        try {
          if (await post(sink, firing, watched, deps)) sent++;
        } catch (err) {
          deps.log.log('warn', 'alert_failed', { sink: sink.name, error: (err as Error).name });
        }
      }
      return sent;
    },
  };
}

/** One run for one destination: claim, post, then record (or give the claims back). */
async function post(
  sink: AlertSink,
  firing: readonly AlertItem[],
  watched: ReadonlyMap<string, AlertItem>,
  deps: { store: Store; clock: () => number; log: Logger },
): Promise<boolean> {
  const { store, clock, log } = deps;
  const now = clock();
  if ((await store.getRecord(`alert-pause:${sink.name}`, now)) !== null) return false;
  const claims: { key: string; item: AlertItem; opened?: string }[] = [];
  const firingIds = new Set(firing.map((a) => a.condition));
  for (const item of firing) {
    const key = `alert-sent:${sink.name}:${item.condition}`;
    if ((await store.increment(key, 1, now + HOUR_MS, now)) === 1) claims.push({ key, item });
  }
  for (const [condition, item] of watched) {
    if (firingIds.has(condition)) continue;
    const opened = await store.getRecord(`alert-open:${sink.name}:${condition}`, now);
    if (opened === null) continue;
    const key = `alert-resolved:${sink.name}:${condition}:${opened}`;
    if ((await store.increment(key, 1, now + OPEN_MS, now)) === 1) claims.push({ key, item, opened });
  }
  if (claims.length === 0) return false;
  try {
    await sink.send(claims.map((c) => c.item));
  } catch (err) {
    // Not said: the next run says it. A rate-limit answer pauses this destination for every instance.
    if (err instanceof RateLimited) await store.putRecord(`alert-pause:${sink.name}`, '1', now + PAUSE_MS, now);
    for (const c of claims) await store.increment(c.key, -1, now + HOUR_MS, now);
    log.log('warn', 'alert_not_sent', { sink: sink.name, conditions: claims.length, error: (err as Error).message });
    return false;
  }
  for (const c of claims) {
    const open = `alert-open:${sink.name}:${c.item.condition}`;
    if (c.opened === undefined) await store.putRecord(open, String(now), now + OPEN_MS, now);
    else await store.deleteRecord(open);
  }
  log.log('info', 'alert_sent', { sink: sink.name, conditions: claims.map((c) => c.item.condition) });
  return true;
}
