/** Row helpers shared by the adapters. */
import type { CredentialRow, CredentialUpdate } from './port';

/** The row `acquireLease` creates for an absent key: version 0, no value, no lease. */
export function emptyRow(key: string): CredentialRow {
  return {
    key,
    value: '',
    expiresAt: 0,
    refreshedAt: 0,
    version: 0,
    leaseOwner: '',
    leaseUntil: 0,
    forcedAt: 0,
    blockedUntil: 0,
  };
}

/**
 * Whether `commit(key, owner, expectedVersion, ...)` may write `row`: the row exists, its
 * version is still `expectedVersion` and `owner` (never '') still holds the lease, expired by
 * time or not, as long as nobody else took it.
 */
export function mayCommit(row: CredentialRow | null, owner: string, expectedVersion: number): row is CredentialRow {
  return row !== null && owner !== '' && row.leaseOwner === owner && row.version === expectedVersion;
}

/** The row after a successful commit: new value, version + 1, lease cleared, blockedUntil kept. */
export function committedRow(row: CredentialRow, update: CredentialUpdate): CredentialRow {
  return {
    ...row,
    value: update.value,
    expiresAt: update.expiresAt,
    refreshedAt: update.refreshedAt,
    forcedAt: update.forcedAt,
    version: row.version + 1,
    leaseOwner: '',
    leaseUntil: 0,
  };
}

/**
 * The row after `releaseLease`: the lease is cleared only for its owner; `blockedUntil`, when
 * given, is stored whoever holds the lease. Returns null when nothing changes.
 */
export function releasedRow(row: CredentialRow, owner: string, blockedUntil: number | undefined): CredentialRow | null {
  const next = { ...row };
  let changed = false;
  if (owner !== '' && row.leaseOwner === owner) {
    next.leaseOwner = '';
    next.leaseUntil = 0;
    changed = true;
  }
  if (blockedUntil !== undefined && row.blockedUntil !== blockedUntil) {
    next.blockedUntil = blockedUntil;
    changed = true;
  }
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
  if (!r || r.key !== key || !isStr(r.value) || !isNum(r.version) || !isStr(r.leaseOwner) || !isNum(r.leaseUntil))
    return null;
  const num = (v: unknown): number => (isNum(v) ? v : 0);
  return {
    key,
    value: r.value,
    expiresAt: num(r.expiresAt),
    refreshedAt: num(r.refreshedAt),
    version: r.version,
    leaseOwner: r.leaseOwner,
    leaseUntil: r.leaseUntil,
    forcedAt: num(r.forcedAt),
    blockedUntil: num(r.blockedUntil),
  };
}
