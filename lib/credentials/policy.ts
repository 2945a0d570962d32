/** When a stored value is served and when it is refreshed, one policy per mode (docs/design.md §5). */
import type { CredentialRow } from '../store/port';
import { CredentialError } from './errors';

/**
 * - `read`: a request; a usable value is served while another instance refreshes it, and kept
 *   when our own refresh fails.
 * - `scheduled`: the refresher; a failure is reported even when the old value still works.
 * - `force`: a forced refresh without `stale`, at most one per cooldown.
 * - `stale`: the caller reports the value WeChat rejected; refreshed only while it is current.
 */
export type Mode = 'read' | 'scheduled' | 'force' | 'stale';

/** Why an upstream fetch happened: the daily counters are kept per reason. */
export type FetchReason = 'refresh' | 'force' | 'rejected';

/**
 * A value refreshed this recently counts as fresh while it lives: WeChat re-issues a ticket (and a
 * stable token outside its last 5 minutes) unchanged until it expires, so such a value costs one
 * fetch a minute, not one per request. The same pause follows a failed refresh of a working value.
 */
export const MIN_REFRESH_INTERVAL_MS = 60_000;

/**
 * A value that replaced a rejected one less than this ago is not replaced again on a `stale`
 * report: a fresh replacement rejected at once points at another server fetching tokens with the
 * same secret, which a further rotation would not cure (docs/decisions.md).
 */
export const STALE_MIN_AGE_MS = 30_000;

/** After this many failed refreshes in a row with nothing usable, attempts wait this long at most. */
const MAX_HOLD_MS = 10_000;

/**
 * How long attempts are held after `failures` failed refreshes in a row (a failing WeChat is not
 * asked again by every request, in any instance): with a working value, a minute; without one,
 * 1 s, 2 s, 4 s … at most 10 s, so service returns within seconds once WeChat answers.
 */
export function holdMs(failures: number, usable: boolean): number {
  return usable ? MIN_REFRESH_INTERVAL_MS : Math.min(MAX_HOLD_MS, 1000 * 2 ** Math.max(0, failures - 1));
}

/**
 * A configuration fault (wrong secret, IP not allowed, …) with nothing usable left is answered
 * from memory this long: repeated wrong-secret calls get the IP banned (docs/protocol.md §4.1).
 */
export const CONFIG_FAULT_PAUSE_MS = 60_000;

/** Still valid upstream; handed out to its last second when no refresh can replace it. */
export function isUsable(row: CredentialRow, now: number): boolean {
  return row.value !== '' && row.expiresAt > now;
}

/** Usable and outside its refresh window (or refreshed within the last minute). */
export function isFresh(row: CredentialRow, now: number, refreshAheadMs: number): boolean {
  return (
    isUsable(row, now) && (row.expiresAt - refreshAheadMs > now || now - row.refreshedAt < MIN_REFRESH_INTERVAL_MS)
  );
}

export interface Policy {
  readonly mode: Mode;
  readonly reason: FetchReason;
  /** Whether the fetch is forced upstream (stable `force_refresh`, the daily force budget). */
  readonly forced: boolean;
  /**
   * Whether a usable value settles the request: it is served at once, and a refresh it needs runs
   * beside the request.
   */
  readonly settlesForUsable: boolean;
  /** Serve the row as it is at `now`, or refresh it; throws the refusal when neither may happen. */
  decide(row: CredentialRow | null, now: number): 'serve' | 'refresh';
}

export interface PolicyContext {
  key: string;
  /** Who answers this credential's fetches ('WeChat', 'WeCom', …), for messages. */
  service: string;
  refreshAheadMs: number;
  forceCooldownMs: number;
  /** `stale`: the value WeChat rejected. */
  stale?: string;
  /** `force`: when this request started (clock ms): a force finished since then serves it too. */
  startedAt: number;
}

export function policyFor(mode: Mode, ctx: PolicyContext): Policy {
  switch (mode) {
    case 'read':
    case 'scheduled':
      return { mode, reason: 'refresh', forced: false, settlesForUsable: mode === 'read', decide: normal(ctx, mode) };
    case 'force':
      return { mode, reason: 'force', forced: true, settlesForUsable: false, decide: cooldownForce(ctx) };
    case 'stale':
      if (ctx.stale === undefined) throw new TypeError('mode "stale" needs the rejected value');
      return { mode, reason: 'rejected', forced: true, settlesForUsable: false, decide: staleForce(ctx, ctx.stale) };
  }
}

type Decide = Policy['decide'];

function normal(ctx: PolicyContext, mode: 'read' | 'scheduled'): Decide {
  return (row, now) => {
    if (row && isFresh(row, now, ctx.refreshAheadMs)) return 'serve';
    if (!row) return 'refresh';
    const usable = isUsable(row, now);
    if (row.blockedUntil > now) {
      if (usable) return 'serve';
      throw blocked(ctx.key, row);
    }
    if (row.retryAt > now) {
      // A read keeps serving a working value; the refresher reports the held refresh.
      if (usable && mode === 'read') return 'serve';
      throw held(ctx, row);
    }
    return 'refresh';
  };
}

/** Refresh only while the rejected value is still the current one. */
function staleForce(ctx: PolicyContext, stale: string): Decide {
  return (row, now) => {
    if (row && row.value !== stale && isUsable(row, now)) return 'serve';
    if (row && row.value === stale && now - row.forcedAt < STALE_MIN_AGE_MS) {
      const ago = Math.round((now - row.forcedAt) / 1000);
      throw new CredentialError(
        'force_refused',
        `${ctx.key} replaced a rejected value ${ago}s ago and is not replaced again so soon; if WeChat keeps rejecting fresh tokens, another server may be fetching tokens with this app's secret`,
      );
    }
    if (row && row.blockedUntil > now) throw blocked(ctx.key, row);
    if (row && row.retryAt > now) throw held(ctx, row);
    return 'refresh';
  };
}

/** At most one per cooldown; a concurrent force that finished after we started serves us too. */
function cooldownForce(ctx: PolicyContext): Decide {
  return (row, now) => {
    if (row && row.forcedAt >= ctx.startedAt && isUsable(row, now)) return 'serve';
    if (row && row.forcedAt > 0 && now - row.forcedAt < ctx.forceCooldownMs) {
      const ago = Math.round((now - row.forcedAt) / 1000);
      throw new CredentialError(
        'force_refused',
        `forced refresh of ${ctx.key} refused: the last one was ${ago}s ago (cooldown ${ctx.forceCooldownMs / 1000}s); send the rejected value as "stale" instead`,
      );
    }
    if (row && row.blockedUntil > now) throw blocked(ctx.key, row);
    if (row && row.retryAt > now) throw held(ctx, row);
    return 'refresh';
  };
}

/** Refreshes are held after failures in a row: answered at once, without asking upstream. */
function held(ctx: PolicyContext, row: CredentialRow): CredentialError {
  const tries = row.failures === 1 ? 'the last refresh' : `the last ${row.failures} refreshes`;
  return new CredentialError(
    'upstream_unavailable',
    `${ctx.service} is failing for ${ctx.key} (${tries} failed); it is not asked again before ${new Date(row.retryAt).toISOString()}`,
  );
}

function blocked(key: string, row: CredentialRow): CredentialError {
  const until = new Date(row.blockedUntil).toISOString();
  return new CredentialError(
    'quota_exhausted',
    `${key}: WeChat's quota is exhausted (45009); no further calls until ${until}`,
    45009,
  );
}
