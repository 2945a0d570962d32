/** Row helpers shared by the adapters. docs/design.md §6.1. */
import type { CredentialRow, CredentialUpdate, ReleaseOutcome } from './port';

/** The row `acquireLease` creates for an absent key: version 0, no value, no lease. */
export function emptyRow(key: string): CredentialRow {
  return {
    key,
    value: '',
    expiresAt: 0,
    refreshedAt: 0,
    version: 0,
    leaseOwner: '',
    leaseBeat: 0,
    forcedAt: 0,
    blockedUntil: 0,
    failures: 0,
    retryAt: 0,
  };
}

/** Whether `acquireLease(key, owner, seen)` may take the lease of `row`: free, or still exactly `seen`. */
export function mayAcquire(row: CredentialRow, seen: { owner: string; beat: number } | undefined): boolean {
  return row.leaseOwner === '' || (seen !== undefined && row.leaseOwner === seen.owner && row.leaseBeat === seen.beat);
}

/** The row after a successful acquireLease. */
export function acquiredRow(row: CredentialRow, owner: string): CredentialRow {
  return { ...row, leaseOwner: owner, leaseBeat: row.leaseBeat + 1 };
}

/** The row after a successful renewLease, or null when `owner` (never '') does not hold the lease of `row`. */
export function renewedRow(row: CredentialRow | null | undefined, owner: string): CredentialRow | null {
  return row && owner !== '' && row.leaseOwner === owner ? { ...row, leaseBeat: row.leaseBeat + 1 } : null;
}

/**
 * Whether `commit(key, owner, expectedVersion, ...)` may write `row`: the row exists, its
 * version is still `expectedVersion` and `owner` (never '') still holds the lease.
 */
export function mayCommit(row: CredentialRow | null, owner: string, expectedVersion: number): row is CredentialRow {
  return row !== null && owner !== '' && row.leaseOwner === owner && row.version === expectedVersion;
}

/** The row after a successful commit: new value, version + 1, lease cleared, failures reset, blockedUntil kept. */
export function committedRow(row: CredentialRow, update: CredentialUpdate): CredentialRow {
  return {
    ...row,
    value: update.value,
    expiresAt: update.expiresAt,
    refreshedAt: update.refreshedAt,
    forcedAt: update.forcedAt,
    version: row.version + 1,
    leaseOwner: '',
    failures: 0,
    retryAt: 0,
  };
}

/**
 * The row after `releaseLease`: the lease is cleared only for its owner; the outcome's fields,
 * when given, are stored whoever holds the lease. Returns null when nothing changes.
 */
export function releasedRow(row: CredentialRow, owner: string, outcome: ReleaseOutcome = {}): CredentialRow | null {
  const next = { ...row };
  if (owner !== '' && row.leaseOwner === owner) next.leaseOwner = '';
  if (outcome.blockedUntil !== undefined) next.blockedUntil = outcome.blockedUntil;
  if (outcome.failures !== undefined) next.failures = outcome.failures;
  if (outcome.retryAt !== undefined) next.retryAt = outcome.retryAt;
  const changed = (Object.keys(next) as (keyof CredentialRow)[]).some((k) => next[k] !== row[k]);
  return changed ? next : null;
}

/** The JSON object in `text`, or null for anything else (corrupt, truncated, not an object): rows and records alike. */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>) : null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * A row from untrusted JSON text (a file, a cache): null when the text is not a row of `key`
 * (corrupt, truncated, wrong shape). Fields added to the port later default to 0.
 */
export function parseRow(text: string, key: string): CredentialRow | null {
  const r = parseJsonObject(text);
  if (!r || r.key !== key || !isStr(r.value) || !isNum(r.version) || !isStr(r.leaseOwner)) return null;
  const num = (v: unknown): number => (isNum(v) ? v : 0);
  return {
    key,
    value: r.value,
    expiresAt: num(r.expiresAt),
    refreshedAt: num(r.refreshedAt),
    version: r.version,
    leaseOwner: r.leaseOwner,
    leaseBeat: num(r.leaseBeat),
    forcedAt: num(r.forcedAt),
    blockedUntil: num(r.blockedUntil),
    failures: num(r.failures),
    retryAt: num(r.retryAt),
  };
}
