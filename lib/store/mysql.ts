/**
 * The MySQL / MariaDB Store (`mysql://user:pass@host:port/database?connectionLimit=N`): every port operation is one
 * prepared statement, atomic on the server, so any number of processes may share the database (docs/design.md §6.3).
 * Errors carry only mysql2's error code: its messages may echo the URL, SQL or values.
 * Over 400 lines: every operation of the port as SQL, each beside the reason for its shape.
 */
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { CredentialRow, Store } from './port';
import { emptyRow } from './row';

/** The number of migration files in db/mysql (a test keeps the two in step). */
export const MYSQL_SCHEMA_VERSION = 3;

/** The key columns are VARBINARY(2048): 512 characters of up to 4 UTF-8 bytes. */
const MAX_KEY_BYTES = 2048;
const DEFAULT_CONNECTION_LIMIT = 4;
/** Expired nonces, counters and records are deleted after about this many of their writes, at most this many rows a table. */
const SWEEP_EVERY_WRITES = 500;
const SWEEP_LIMIT = 1000;
/**
 * Rows are swept only this long after they expired by the sweeping caller's clock: an instance
 * whose clock runs ahead must not delete nonces that are still live for the others.
 */
const SWEEP_GRACE_MS = 10 * 60_000;
const DEADLOCK_ATTEMPTS = 3;
/**
 * A statement's whole time, waiting for a connection included, and a new connection's: inside the
 * lifecycle's store timeout (lib/store/guard.ts), so that a server gone silent is reported by the
 * adapter itself and its connection dropped (docs/design.md §6.3).
 */
const STATEMENT_TIMEOUT_MS = 1_500;
const CONNECT_TIMEOUT_MS = 1_000;

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  connectionLimit: number;
}

/** A database name we may put in SQL text (CREATE/DROP DATABASE) without quoting worries. */
const DATABASE_NAME = /^[A-Za-z0-9_]{1,64}$/;

/** A mysql2 (or socket) failure reduced to its code: the original message may echo credentials or values. */
export class MysqlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MysqlError';
  }
}

/** Wraps errors that come from mysql2 or the socket (they carry a string `code`); others pass through. */
export function mysqlError(err: unknown, doing: string): unknown {
  if (err instanceof MysqlError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? new MysqlError(code, `MySQL ${doing} failed: ${code}`) : err;
}

/** Parses a mysql:// URL; errors name the problem, never the URL (it may carry a password). */
export function parseMysqlUrl(url: string): MysqlTarget {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new Error('MySQL URL is not a valid URL: expected mysql://user:pass@host:3306/database');
  }
  if (u.protocol !== 'mysql:') throw new Error('MySQL URL must start with mysql://');
  if (!u.hostname) throw new Error('MySQL URL has no host: expected mysql://user:pass@host:3306/database');
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new Error('MySQL URL has an invalid %-escape');
    }
  };
  const database = decode(u.pathname.slice(1));
  if (!DATABASE_NAME.test(database))
    throw new Error(
      'MySQL URL needs a database name of letters, digits and _ (at most 64): mysql://user:pass@host:3306/wecred',
    );
  let connectionLimit = DEFAULT_CONNECTION_LIMIT;
  for (const [name, value] of u.searchParams) {
    if (name !== 'connectionLimit')
      throw new Error(`MySQL URL parameter "${name}" is not supported (supported: connectionLimit)`);
    connectionLimit = Number(value);
    if (!Number.isInteger(connectionLimit) || connectionLimit < 1 || connectionLimit > 1000) {
      throw new Error('MySQL URL parameter connectionLimit must be an integer from 1 to 1000');
    }
  }
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'), // IPv6 literals come bracketed
    port: u.port ? Number(u.port) : 3306,
    user: decode(u.username),
    password: decode(u.password),
    database,
    connectionLimit,
  };
}

/** Schema version 0 stands for a missing database or table. */
function schemaMismatch(found: number): Error {
  const hint = found < MYSQL_SCHEMA_VERSION ? 'run npm run db:migrate' : 'deploy the newer wecred that migrated it';
  return new Error(`MySQL schema is at version ${found}, this wecred needs ${MYSQL_SCHEMA_VERSION}: ${hint}`);
}

const ROW_COLUMNS =
  'value, expires_at, refreshed_at, version, lease_owner, lease_beat, forced_at, blocked_until, failures, retry_at';

interface RawRow extends RowDataPacket {
  value: string;
  expires_at: number | string;
  refreshed_at: number | string;
  version: number | string;
  lease_owner: Buffer;
  lease_beat: number | string;
  forced_at: number | string;
  blocked_until: number | string;
  failures: number | string;
  retry_at: number | string;
}

// BIGINT columns arrive as numbers, or as strings beyond 2^53 (supportBigNumbers).
const toRow = (key: string, r: RawRow): CredentialRow => ({
  key,
  value: r.value,
  expiresAt: Number(r.expires_at),
  refreshedAt: Number(r.refreshed_at),
  version: Number(r.version),
  leaseOwner: r.lease_owner.toString('utf8'),
  leaseBeat: Number(r.lease_beat),
  forcedAt: Number(r.forced_at),
  blockedUntil: Number(r.blocked_until),
  failures: Number(r.failures),
  retryAt: Number(r.retry_at),
});

/** What `p` gives, or an error with `code` once `until` (performance.now()) passes; what it gives later goes to `late`. */
function within<T>(p: Promise<T>, until: number, code: string, late: (value: T) => void = () => {}): Promise<T> {
  return new Promise((resolve, reject) => {
    let over = false;
    const timer = setTimeout(
      () => {
        over = true;
        reject(Object.assign(new Error('MySQL did not answer in time'), { code }));
      },
      Math.max(1, until - performance.now()),
    );
    p.then(
      (value) => {
        clearTimeout(timer);
        if (over) late(value);
        else resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (!over) reject(err);
      },
    );
  });
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    throw new Error(`store key is longer than ${MAX_KEY_BYTES} bytes of UTF-8`);
}

export interface MysqlStoreOptions {
  /** Sweep expired nonces, counters and records after about this many writes of them (default 500). */
  sweepEveryWrites?: number;
}

export async function openMysqlStore(url: string, options: MysqlStoreOptions = {}): Promise<Store> {
  const t = parseMysqlUrl(url);
  const pool = mysql.createPool({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    connectionLimit: t.connectionLimit,
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: false,
    flags: ['-FOUND_ROWS'], // affectedRows counts changed rows: 1 insert, 2 update, 0 no change
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Connections idle while an instance is frozen are often closed by the server: keep few.
    maxIdle: 1,
    idleTimeout: 60_000,
  });

  /**
   * One statement by `until` (performance.now()), waiting for a connection included. A connection
   * whose statement got no answer in time is destroyed, never reused: a late answer would be read
   * as the next statement's, and a connection stuck on a server that went silent would hold its
   * pool slot until TCP gives up, minutes after the server is back. (mysql2's own `timeout` does
   * not cover the PREPARE that a statement's first use on a connection sends.)
   */
  async function execute(sql: string, params: (string | number | null)[], until: number): Promise<unknown> {
    const conn = await within(pool.getConnection(), until, 'POOL_ACQUIRE_TIMEOUT', (late) => late.release());
    try {
      const [result] = await within(conn.execute(sql, params), until, 'STATEMENT_TIMEOUT');
      conn.release();
      return result;
    } catch (err) {
      // A refusal by the server (ER_…) leaves the connection in order; anything else may not have.
      if (String((err as { code?: unknown } | null)?.code).startsWith('ER_')) conn.release();
      else conn.destroy();
      throw err;
    }
  }

  async function run<T extends ResultSetHeader | RowDataPacket[]>(
    doing: string,
    sql: string,
    params: (string | number | null)[],
  ): Promise<T> {
    const until = performance.now() + STATEMENT_TIMEOUT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await execute(sql, params, until)) as T;
      } catch (err) {
        // The sweep's DELETE locks index entries in the opposite order to an upsert of the same
        // expired nonce, counter or record, so InnoDB may pick the upsert as a deadlock victim. The
        // victim's statement (its whole autocommit transaction) was rolled back: safe to rerun.
        if (attempt < DEADLOCK_ATTEMPTS && (err as { code?: unknown } | null)?.code === 'ER_LOCK_DEADLOCK') continue;
        throw mysqlError(err, doing);
      }
    }
  }

  try {
    const rows = (await execute(
      'SELECT MAX(version) AS v FROM schema_migrations',
      [],
      performance.now() + STATEMENT_TIMEOUT_MS,
    )) as RowDataPacket[];
    const found = Number(rows[0]?.v ?? 0);
    if (found !== MYSQL_SCHEMA_VERSION) throw schemaMismatch(found);
  } catch (err) {
    await pool.end().catch(() => {});
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'ER_BAD_DB_ERROR' || code === 'ER_NO_SUCH_TABLE') throw schemaMismatch(0);
    throw mysqlError(err, `connect to ${t.host}:${t.port}`);
  }

  const readRow = async (doing: string, key: string): Promise<CredentialRow | null> => {
    const rows = await run<RawRow[]>(doing, `SELECT ${ROW_COLUMNS} FROM credentials WHERE \`key\` = ?`, [key]);
    return rows[0] ? toRow(key, rows[0]) : null;
  };

  const sweepEvery = Math.max(1, options.sweepEveryWrites ?? SWEEP_EVERY_WRITES);
  // A random start, so that short-lived (serverless) instances still sweep now and then.
  let writes = randomInt(sweepEvery);
  let sweeping: Promise<void> | null = null;
  let closing: Promise<void> | null = null;
  /**
   * Off the hot path and best effort: whatever is left is invisible (expired) and goes next time.
   * Expiry is judged by this write's `now` (the caller's clock), never by a clock of ours.
   */
  const wrote = (now: number): void => {
    if (++writes % sweepEvery !== 0 || sweeping || closing) return;
    sweeping = (async () => {
      for (const table of ['nonces', 'counters', 'records']) {
        await run('sweep', `DELETE FROM ${table} WHERE expires_at <= ? LIMIT ${SWEEP_LIMIT}`, [now - SWEEP_GRACE_MS]);
      }
    })()
      .catch(() => {})
      .finally(() => (sweeping = null));
  };

  return {
    kind: 'mysql',

    async read(key) {
      checkKey(key);
      return readRow('read', key);
    },

    async acquireLease(key, owner, seen) {
      checkKey(key);
      // An existing row that is free, or still exactly `seen` (WHERE sees the row before SET)...
      const taken = await run<ResultSetHeader>(
        'acquireLease',
        `UPDATE credentials SET lease_owner = ?, lease_beat = lease_beat + 1
         WHERE \`key\` = ? AND (lease_owner = '' OR (lease_owner = ? AND lease_beat = ?))`,
        // Stryker disable next-line StringLiteral,UnaryOperator: without `seen`, only lease_owner = '' may match; a placeholder owner or beat matches no held lease
        [owner, key, seen?.owner ?? '', seen?.beat ?? -1],
      );
      if (taken.affectedRows === 1) {
        // The lease is ours: only a contender that watched it stand still for a whole lease could
        // have taken it since. Then it is theirs, and the caller must not fetch too.
        const row = await readRow('acquireLease', key);
        return row?.leaseOwner === owner ? row : null;
      }
      // ...or an absent one, created leased (a row present by now is somebody else's).
      const created = await run<ResultSetHeader>(
        'acquireLease',
        `INSERT INTO credentials (\`key\`, value, lease_owner, lease_beat) VALUES (?, '', ?, 1)
         ON DUPLICATE KEY UPDATE \`key\` = \`key\``,
        [key, owner],
      );
      return created.affectedRows === 1 ? { ...emptyRow(key), leaseOwner: owner, leaseBeat: 1 } : null;
    },

    async renewLease(key, owner) {
      checkKey(key);
      if (owner === '') return false;
      const r = await run<ResultSetHeader>(
        'renewLease',
        'UPDATE credentials SET lease_beat = lease_beat + 1 WHERE `key` = ? AND lease_owner = ?',
        [key, owner],
      );
      return r.affectedRows === 1;
    },

    async commit(key, owner, expectedVersion, update) {
      checkKey(key);
      if (owner === '') return false;
      const r = await run<ResultSetHeader>(
        'commit',
        `UPDATE credentials
         SET value = ?, expires_at = ?, refreshed_at = ?, forced_at = ?, version = version + 1, lease_owner = '',
             failures = 0, retry_at = 0
         WHERE \`key\` = ? AND version = ? AND lease_owner = ?`,
        [update.value, update.expiresAt, update.refreshedAt, update.forcedAt, key, expectedVersion, owner],
      );
      return r.affectedRows === 1;
    },

    async releaseLease(key, owner, outcome) {
      checkKey(key);
      if (outcome === undefined) {
        if (owner !== '') {
          await run('releaseLease', `UPDATE credentials SET lease_owner = '' WHERE \`key\` = ? AND lease_owner = ?`, [
            key,
            owner,
          ]);
        }
        return;
      }
      // The outcome is stored whoever holds the lease, on an absent row too; a field not given (NULL) is kept.
      const { blockedUntil = null, failures = null, retryAt = null } = outcome;
      await run(
        'releaseLease',
        `INSERT INTO credentials (\`key\`, value, blocked_until, failures, retry_at)
         VALUES (?, '', IFNULL(?, 0), IFNULL(?, 0), IFNULL(?, 0))
         ON DUPLICATE KEY UPDATE
           lease_owner = IF(lease_owner = ? AND lease_owner <> '', '', lease_owner),
           blocked_until = IFNULL(?, blocked_until),
           failures = IFNULL(?, failures),
           retry_at = IFNULL(?, retry_at)`,
        [key, blockedUntil, failures, retryAt, owner, blockedUntil, failures, retryAt],
      );
    },

    async insertIfAbsent(key, expiresAt, now) {
      checkKey(key);
      const r = await run<ResultSetHeader>(
        'insertIfAbsent',
        `INSERT INTO nonces (\`key\`, expires_at) VALUES (?, ?)
         ON DUPLICATE KEY UPDATE expires_at = IF(LAST_INSERT_ID(expires_at <= ?), ?, expires_at)`,
        [key, expiresAt, now, expiresAt],
      );
      wrote(now);
      return r.affectedRows === 1 || Number(r.insertId) === 1;
    },

    async increment(key, by, expiresAt, now) {
      checkKey(key);
      if (!Number.isSafeInteger(by)) throw new RangeError('increment: `by` must be an integer');
      if (by < 0) {
        // Taking back earlier increments: a live counter only, never below 0 (the value travels
        // back through LAST_INSERT_ID, which is unsigned).
        const r = await run<ResultSetHeader>(
          'increment',
          'UPDATE counters SET value = LAST_INSERT_ID(GREATEST(value + ?, 0)) WHERE `key` = ? AND expires_at > ?',
          [by, key, now],
        );
        wrote(now);
        return Number(r.insertId);
      }
      if (by === 0) {
        const rows = await run<(RowDataPacket & { value: number | string })[]>(
          'increment',
          'SELECT value FROM counters WHERE `key` = ? AND expires_at > ?',
          [key, now],
        );
        return Number(rows[0]?.value ?? 0);
      }
      // value before expires_at: both IF()s still see the old expiry.
      const r = await run<ResultSetHeader>(
        'increment',
        `INSERT INTO counters (\`key\`, value, expires_at) VALUES (?, LAST_INSERT_ID(?), ?)
         ON DUPLICATE KEY UPDATE
           value = LAST_INSERT_ID(IF(expires_at <= ?, ?, value + ?)),
           expires_at = IF(expires_at <= ?, ?, expires_at)`,
        [key, by, expiresAt, now, by, by, now, expiresAt],
      );
      wrote(now);
      return Number(r.insertId);
    },

    async putRecord(key, value, expiresAt, now) {
      checkKey(key);
      // The value is bound twice: VALUES() is deprecated on MySQL, and MariaDB lacks the row alias that replaces it.
      await run(
        'putRecord',
        'INSERT INTO records (`key`, value, expires_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE value = ?, expires_at = ?',
        [key, value, expiresAt, value, expiresAt],
      );
      wrote(now);
    },

    async getRecord(key, now) {
      checkKey(key);
      const rows = await run<(RowDataPacket & { value: string })[]>(
        'getRecord',
        'SELECT value FROM records WHERE `key` = ? AND expires_at > ?',
        [key, now],
      );
      return rows[0]?.value ?? null;
    },

    async deleteRecord(key) {
      checkKey(key);
      await run('deleteRecord', 'DELETE FROM records WHERE `key` = ?', [key]);
    },

    close() {
      closing ??= (async () => {
        await sweeping;
        await pool.end();
      })();
      return closing;
    },
  };
}
