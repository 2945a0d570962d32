/**
 * The MySQL store (docs/design.md §6.3) on a real MariaDB: the conformance suite, URLs, migrations, errors that never
 * show the password, deadlock reruns, the sweep, and the limits of keys and times.
 * Over 400 lines: migrations and each failure a server can give are their own cases.
 */
import { readdir } from 'node:fs/promises';
import { inspect } from 'node:util';
import mysql from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { storeConformance } from '../../test/support/store-conformance';
import { MYSQL_SCHEMA_VERSION, openMysqlStore, parseMysqlUrl } from './mysql';
import type { Store } from './port';
import { migrateMysql, mysqlMigrations } from './mysql-migrate';
import { dropMysqlDatabase, freshMysql, mysqlTestUrl, uniqueDatabaseName } from '../../test/support/mysql';

const db = await freshMysql(); // null (after a loud line) when no server answers, outside CI
afterAll(() => db?.close());

describe('mysql schema files', () => {
  it('MYSQL_SCHEMA_VERSION is the number of db/mysql migrations, numbered without gaps', async () => {
    const sql = (await readdir(new URL('../../db/mysql/', import.meta.url))).filter((f) => f.endsWith('.sql'));
    expect(sql).toHaveLength(MYSQL_SCHEMA_VERSION);
    expect((await mysqlMigrations()).map((m) => m.version)).toEqual(
      Array.from({ length: MYSQL_SCHEMA_VERSION }, (_, i) => i + 1),
    );
  });
});

describe('mysql URL', () => {
  it('reads every part, decodes escapes, defaults the port and the pool size', () => {
    expect(parseMysqlUrl('mysql://app:p%40ss%3Aw@db.example:3307/wecred?connectionLimit=2')).toEqual({
      host: 'db.example',
      port: 3307,
      user: 'app',
      password: 'p@ss:w',
      database: 'wecred',
      connectionLimit: 2,
    });
    expect(parseMysqlUrl('mysql://root@[::1]/w')).toMatchObject({
      host: '::1',
      port: 3306,
      password: '',
      connectionLimit: 4,
    });
  });

  it('takes surrounding spaces and connectionLimit from 1 to 1000', () => {
    expect(parseMysqlUrl(' mysql://u@h/w?connectionLimit=1 ').connectionLimit).toBe(1);
    expect(parseMysqlUrl('mysql://u@h/w?connectionLimit=1000').connectionLimit).toBe(1000);
    expect(() => parseMysqlUrl('mysql://u@h/w?connectionLimit=1001')).toThrow(/connectionLimit must be an integer/);
    expect(() => parseMysqlUrl('mysql://u@h/w?connectionlimit=2')).toThrow(
      'MySQL URL parameter "connectionlimit" is not supported',
    );
    expect(parseMysqlUrl('mysql://u@[fe80::1]:3307/w')).toMatchObject({ host: 'fe80::1', port: 3307 });
    expect(() => parseMysqlUrl('mysql:///w')).toThrow('MySQL URL has no host');
  });

  it('refuses bad URLs with one line that never shows the password', () => {
    for (const url of [
      'mysql://u:hunter2secret@h:3306/',
      'mysql://u:hunter2secret@h:3306/bad-name',
      'mysql://u:hunter2secret@h:3306/x`; DROP DATABASE y',
      'mysql://u:hunter2secret@h:notaport/db',
      'postgres://u:hunter2secret@h/db',
      'mysql://u:hunter2secret@h/db?connectionLimit=0',
      'mysql://u:hunter2secret@h/db?password=hunter2secret',
      'mysql://u:%zzhunter2secret@h/db',
    ]) {
      expect(() => parseMysqlUrl(url), url).toThrow(/^MySQL URL/);
      try {
        parseMysqlUrl(url);
      } catch (err) {
        expect(inspect(err)).not.toContain('hunter2');
      }
    }
  });
});

if (db) {
  storeConformance('mysql', () => openMysqlStore(db.url), {
    // The row as the previous code wrote it: lease_until set, the newer columns at their defaults.
    async writeOldRow(key, row) {
      const t = parseMysqlUrl(db.url);
      const conn = await mysql.createConnection({ ...t, connectionLimit: undefined });
      await conn.execute(
        'INSERT INTO credentials (`key`, value, expires_at, version, lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?)',
        [key, row.value, row.expiresAt, row.version, row.leaseOwner, Date.now() + 10_000],
      );
      await conn.end();
    },
  });
}

describe.skipIf(!db)('mysql store', () => {
  const scratch: string[] = [];
  /** A database name on the test server that does not exist yet, dropped after the tests. */
  const scratchUrl = () => {
    const url = mysqlTestUrl(uniqueDatabaseName());
    scratch.push(url);
    return url;
  };
  afterAll(async () => {
    for (const url of scratch) await dropMysqlDatabase(url);
  });

  /** Runs one query on the URL's database outside the store. */
  async function sql<T extends RowDataPacket[]>(url: string, text: string, values: unknown[] = []): Promise<T> {
    const t = parseMysqlUrl(url);
    const conn = await mysql.createConnection({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database: t.database,
    });
    try {
      return (await conn.query<T>(text, values))[0];
    } finally {
      await conn.end();
    }
  }

  const NEEDS_MIGRATE = `MySQL schema is at version 0, this wecred needs ${MYSQL_SCHEMA_VERSION}: run npm run db:migrate`;

  it('migrate creates a missing database, is idempotent, and the store opens on it', async () => {
    const url = scratchUrl();
    const database = parseMysqlUrl(url).database;
    const all = Array.from({ length: MYSQL_SCHEMA_VERSION }, (_, i) => i + 1);
    expect(await migrateMysql(url)).toEqual({ database, applied: all, version: MYSQL_SCHEMA_VERSION });
    expect(await migrateMysql(url)).toEqual({ database, applied: [], version: MYSQL_SCHEMA_VERSION });
    const rows = await sql(url, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(all);
    const [charset] = await sql(
      url,
      'SELECT DEFAULT_CHARACTER_SET_NAME AS cs FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [database],
    );
    expect(charset?.cs).toBe('utf8mb4');
    const store = await openMysqlStore(url);
    expect(store.kind).toBe('mysql');
    await store.close();
  });

  it('migrate brings a schema 1 database (before records) up to date, and only then does the store open', async () => {
    const url = scratchUrl();
    await migrateMysql(url);
    await sql(url, 'DROP TABLE records');
    await sql(url, 'DELETE FROM schema_migrations WHERE version >= 2');
    await expect(openMysqlStore(url)).rejects.toThrow(
      `MySQL schema is at version 1, this wecred needs ${MYSQL_SCHEMA_VERSION}: run npm run db:migrate`,
    );
    expect(await migrateMysql(url)).toMatchObject({
      applied: Array.from({ length: MYSQL_SCHEMA_VERSION - 1 }, (_, i) => i + 2),
      version: MYSQL_SCHEMA_VERSION,
    });
    const store = await openMysqlStore(url);
    await store.putRecord('k', 'v', 2, 1);
    expect(await store.getRecord('k', 1)).toBe('v');
    await store.close();
  });

  it('two migrations at once both succeed and apply each file once', async () => {
    const url = scratchUrl();
    const results = await Promise.all([migrateMysql(url), migrateMysql(url)]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(
      Array.from({ length: MYSQL_SCHEMA_VERSION }, (_, i) => i + 1),
    );
    expect(results.map((r) => r.version)).toEqual([MYSQL_SCHEMA_VERSION, MYSQL_SCHEMA_VERSION]);
  });

  it('refuses to open a database that is missing, empty or behind, with one clear line', async () => {
    const url = scratchUrl();
    await expect(openMysqlStore(url)).rejects.toThrow(new Error(NEEDS_MIGRATE)); // no database
    await sql(mysqlTestUrl('mysql'), `CREATE DATABASE \`${parseMysqlUrl(url).database}\``);
    await expect(openMysqlStore(url)).rejects.toThrow(new Error(NEEDS_MIGRATE)); // no tables
    await migrateMysql(url);
    await sql(url, 'DELETE FROM schema_migrations');
    await expect(openMysqlStore(url)).rejects.toThrow(new Error(NEEDS_MIGRATE)); // nothing recorded
    await sql(url, 'INSERT INTO schema_migrations (version) VALUES (?)', [MYSQL_SCHEMA_VERSION + 1]);
    await expect(openMysqlStore(url)).rejects.toThrow(
      `MySQL schema is at version ${MYSQL_SCHEMA_VERSION + 1}, this wecred needs ${MYSQL_SCHEMA_VERSION}: deploy the newer wecred that migrated it`,
    );
  });

  it('names the operation that failed and the server code, nothing else', async () => {
    const url = scratchUrl();
    await migrateMysql(url);
    const store = await openMysqlStore(url);
    for (const table of ['credentials', 'nonces', 'counters', 'records']) await sql(url, `DROP TABLE ${table}`);
    const failed = (p: Promise<unknown>) =>
      p.then(
        () => 'succeeded',
        (err: Error) => err.message,
      );
    const u = { value: 'v', expiresAt: 1, refreshedAt: 1, forcedAt: 1 };
    expect([
      await failed(store.read('k')),
      await failed(store.acquireLease('k', 'o')),
      await failed(store.renewLease('k', 'o')),
      await failed(store.commit('k', 'o', 0, u)),
      await failed(store.releaseLease('k', 'o')),
      await failed(store.releaseLease('k', 'o', { blockedUntil: 5 })),
      await failed(store.insertIfAbsent('k', 2, 1)),
      await failed(store.increment('k', 1, 2, 1)),
      await failed(store.increment('k', 0, 2, 1)),
      await failed(store.increment('k', -1, 2, 1)),
      await failed(store.putRecord('k', 'v', 2, 1)),
      await failed(store.getRecord('k', 1)),
      await failed(store.deleteRecord('k')),
    ]).toEqual([
      'MySQL read failed: ER_NO_SUCH_TABLE',
      'MySQL acquireLease failed: ER_NO_SUCH_TABLE',
      'MySQL renewLease failed: ER_NO_SUCH_TABLE',
      'MySQL commit failed: ER_NO_SUCH_TABLE',
      'MySQL releaseLease failed: ER_NO_SUCH_TABLE',
      'MySQL releaseLease failed: ER_NO_SUCH_TABLE',
      'MySQL insertIfAbsent failed: ER_NO_SUCH_TABLE',
      'MySQL increment failed: ER_NO_SUCH_TABLE',
      'MySQL increment failed: ER_NO_SUCH_TABLE',
      'MySQL increment failed: ER_NO_SUCH_TABLE',
      'MySQL putRecord failed: ER_NO_SUCH_TABLE',
      'MySQL getRecord failed: ER_NO_SUCH_TABLE',
      'MySQL deleteRecord failed: ER_NO_SUCH_TABLE',
    ]);
    expect(await failed(store.increment('k', 1.5, 2, 1))).toBe('increment: `by` must be an integer');
    await store.close();
  });

  it('a wrong password fails with the error code and never shows the password', async () => {
    const password = 'Wr0ng-hunter2-p@ss';
    const url = new URL(db!.url);
    url.username ||= 'root';
    url.password = encodeURIComponent(password);
    for (const attempt of [() => openMysqlStore(url.href), () => migrateMysql(url.href)]) {
      const err = await attempt().then(
        () => expect.unreachable('logged in with a wrong password'),
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
      for (const text of [inspect(err), JSON.stringify(err), String(err)]) {
        expect(text).not.toContain('hunter2');
        expect(text).not.toContain(encodeURIComponent(password));
      }
    }
  });

  it('a server that does not answer fails with its code, without the password', async () => {
    const err = await openMysqlStore('mysql://root:hunter2@127.0.0.1:1/db').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', message: 'MySQL connect to 127.0.0.1:1 failed: ECONNREFUSED' });
    expect(inspect(err)).not.toContain('hunter2');
  });

  it('wins a nonce even when the winning write changes no column', async () => {
    // The expired nonce re-inserted with the same expiry: affectedRows is 0, the LAST_INSERT_ID flag tells.
    const store = await openMysqlStore(db!.url);
    const key = `same:${uniqueDatabaseName()}`;
    expect(await store.insertIfAbsent(key, 5, 0)).toBe(true);
    expect(await store.insertIfAbsent(key, 5, 4)).toBe(false);
    expect(await store.insertIfAbsent(key, 5, 10)).toBe(true);
    await store.close();
  });

  it('two processes taking a lease over from each other every round: each sighting serves one of them, each winner holds', async () => {
    // acquireLease is a conditional UPDATE, then a read of the row it won: between the two, the
    // rival may already have taken the lease over. The first then holds nothing, and must say so
    // rather than fetch beside the new holder.
    const key = `race:${uniqueDatabaseName()}`;
    const [a, b] = await Promise.all([openMysqlStore(db!.url), openMysqlStore(db!.url)]);
    await a.acquireLease(key, 'a');
    const ROUNDS = 300;
    const wins: { name: string; beat: number }[] = [];
    const contend = async (store: Store, name: string) => {
      for (let r = 0; r < ROUNDS; r++) {
        const seen = (await store.read(key))!;
        const row = await store.acquireLease(key, name, { owner: seen.leaseOwner, beat: seen.leaseBeat });
        if (row) {
          expect(row, `round ${r}`).toMatchObject({ leaseOwner: name, leaseBeat: seen.leaseBeat + 1 });
          wins.push({ name, beat: row.leaseBeat });
        }
      }
    };
    await Promise.all([contend(a, 'a'), contend(b, 'b')]);
    await Promise.all([a.close(), b.close()]);
    const beats = wins.map((w) => w.beat);
    expect(new Set(beats).size).toBe(beats.length); // no sighting served twice
    expect(wins.length).toBeGreaterThan(ROUNDS / 10); // the race did run (load decides how often)
  });

  it('migrate brings a schema 2 database up to date; a lease an older wecred held is watched and taken over', async () => {
    const url = scratchUrl();
    await migrateMysql(url);
    await sql(url, 'ALTER TABLE credentials DROP COLUMN lease_beat, DROP COLUMN failures, DROP COLUMN retry_at');
    await sql(url, 'DELETE FROM schema_migrations WHERE version >= 3');
    await sql(
      url,
      "INSERT INTO credentials (`key`, value, expires_at, version, lease_owner, lease_until) VALUES ('mp:wx1:token', 'old-token', 9000, 4, 'old-wecred', ?)",
      [Date.now() + 10_000],
    );
    await expect(openMysqlStore(url)).rejects.toThrow(/MySQL schema is at version 2, this wecred needs 3/);
    expect(await migrateMysql(url)).toMatchObject({ applied: [3], version: 3 });
    // cut short after the ALTER but before it was recorded, 003 runs again harmlessly
    await sql(url, 'DELETE FROM schema_migrations WHERE version = 3');
    expect(await migrateMysql(url)).toMatchObject({ applied: [3], version: 3 });
    const store = await openMysqlStore(url);
    expect(await store.read('mp:wx1:token')).toMatchObject({
      value: 'old-token',
      version: 4,
      leaseOwner: 'old-wecred',
      leaseBeat: 0,
      failures: 0,
      retryAt: 0,
    });
    expect(await store.acquireLease('mp:wx1:token', 'new')).toBeNull();
    expect(await store.acquireLease('mp:wx1:token', 'new', { owner: 'old-wecred', beat: 0 })).toMatchObject({
      leaseOwner: 'new',
      leaseBeat: 1,
    });
    await store.close();
  });

  it('keeps times up to 2^53 - 1 exactly and keys of 512 four-byte characters; refuses longer keys', async () => {
    const store = await openMysqlStore(db!.url);
    const key = '😀'.repeat(512); // the database is fresh for this run
    const max = Number.MAX_SAFE_INTEGER;
    const leased = await store.acquireLease(key, 'a');
    expect(leased).toMatchObject({ key, leaseOwner: 'a' });
    expect(await store.commit(key, 'a', 0, { value: 'v', expiresAt: max, refreshedAt: max - 1, forcedAt: 1 })).toBe(
      true,
    );
    expect(await store.read(key)).toMatchObject({
      key,
      value: 'v',
      expiresAt: max,
      refreshedAt: max - 1,
      forcedAt: 1,
      version: 1,
    });
    await expect(store.read('😀'.repeat(513))).rejects.toThrow('store key is longer than 2048 bytes');
    await store.close();
  });

  it('increment takes only integers; taking back never creates a counter nor goes below 0', async () => {
    const store = await openMysqlStore(db!.url);
    await expect(store.increment('c', 0.5, 10, 0)).rejects.toThrow(RangeError);
    expect(await store.increment('c', -1, 10, 0)).toBe(0);
    expect(await store.increment('c', 1, 10, 0)).toBe(1);
    expect(await store.increment('c', -2, 10, 0)).toBe(0);
    expect(await store.increment('c', 0, 10, 0)).toBe(0);
    await store.close();
  });

  it('reruns a write that InnoDB chose as a deadlock victim', async () => {
    // Another transaction (heavier, so InnoDB rolls the store's statement back) holds the
    // expired nonce's index entry, as the sweep's DELETE does, then waits for its row.
    const store = await openMysqlStore(db!.url, { sweepEveryWrites: 1e12 });
    const t = parseMysqlUrl(db!.url);
    const other = await mysql.createConnection({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database: t.database,
    });
    const tag = uniqueDatabaseName();
    const expired = 1_000 + Math.floor(Math.random() * 1e9); // an expires_at only this test uses
    try {
      expect(await store.insertIfAbsent(`deadlock:${tag}`, expired, 0)).toBe(true);
      await other.query('BEGIN');
      await other.query('INSERT INTO counters (`key`, value, expires_at) VALUES ?', [
        Array.from({ length: 50 }, (_, i) => [`deadlock:${tag}:${i}`, 1, 0]),
      ]);
      await other.query(
        'SELECT expires_at FROM nonces FORCE INDEX (nonces_expires_at) WHERE expires_at = ? LOCK IN SHARE MODE',
        [expired],
      );
      const insert = store
        .insertIfAbsent(`deadlock:${tag}`, expired + 10_000, expired + 1)
        .catch((err: unknown) => err); // waits for that index entry
      await new Promise((resolve) => setTimeout(resolve, 300));
      await other.query('SELECT 1 FROM nonces WHERE `key` = ? FOR UPDATE', [`deadlock:${tag}`]); // closes the cycle
      await other.query('ROLLBACK');
      expect(await insert).toBe(true);
    } finally {
      await other.end();
      await store.close();
    }
  });

  it('sweeps rows expired more than 10 minutes ago off the hot path, keeps the others', async () => {
    const tag = uniqueDatabaseName();
    const t0 = 1_000_000;
    const grace = 10 * 60_000; // a sweeper whose clock runs ahead must not drop what is live for others
    const quiet = await openMysqlStore(db!.url, { sweepEveryWrites: 1e12 });
    for (let i = 0; i < 5; i++) await quiet.insertIfAbsent(`sweep:${tag}:old:${i}`, t0 + 10, t0);
    await quiet.insertIfAbsent(`sweep:${tag}:recent`, t0 + 30, t0);
    await quiet.increment(`sweep:${tag}:old-counter`, 1, t0 + 10, t0);
    await quiet.putRecord(`sweep:${tag}:old-record`, 'v', t0 + 10, t0);
    await quiet.putRecord(`sweep:${tag}:live-record`, 'v', t0 + 1_000, t0);
    await quiet.close();
    const sweeper = await openMysqlStore(db!.url, { sweepEveryWrites: 1 });
    expect(await sweeper.insertIfAbsent(`sweep:${tag}:live`, t0 + grace + 1_000, t0 + grace + 20)).toBe(true); // and sweeps
    await sweeper.close(); // waits for the sweep
    const like = [`sweep:${tag}:%`];
    const nonces = await sql(
      db!.url,
      'SELECT CAST(`key` AS CHAR) AS k FROM nonces WHERE `key` LIKE ? ORDER BY k',
      like,
    );
    expect(nonces.map((r) => r.k)).toEqual([`sweep:${tag}:live`, `sweep:${tag}:recent`]);
    expect(await sql(db!.url, 'SELECT 1 FROM counters WHERE `key` LIKE ?', like)).toHaveLength(0);
    const records = await sql(db!.url, 'SELECT CAST(`key` AS CHAR) AS k FROM records WHERE `key` LIKE ?', like);
    expect(records.map((r) => r.k)).toEqual([`sweep:${tag}:live-record`]);
  });

  it("a putRecord sweeps by its own `now`, never by another call's nor the real clock", async () => {
    const tag = uniqueDatabaseName();
    const t0 = 1_000_000; // the caller's clock, far behind the real one
    const store = await openMysqlStore(db!.url, { sweepEveryWrites: 1 });
    expect(await store.getRecord(`sweep:${tag}:none`, Date.now() + 365 * 86_400_000)).toBeNull(); // a clock far ahead
    await store.putRecord(`sweep:${tag}:a`, 'v', t0 + 10, t0); // sweeps by t0
    await store.putRecord(`sweep:${tag}:b`, 'v', t0 + 10, t0); // and again
    await store.close(); // waits for the sweep
    expect(await sql(db!.url, 'SELECT 1 FROM records WHERE `key` LIKE ?', [`sweep:${tag}:%`])).toHaveLength(2);
  });

  it('records: keys of 512 four-byte characters, times up to 2^53 - 1; longer keys refused without the value', async () => {
    const store = await openMysqlStore(db!.url);
    const key = `rec:${'😀'.repeat(510)}`;
    await store.putRecord(key, 'v', Number.MAX_SAFE_INTEGER, 0);
    expect(await store.getRecord(key, Number.MAX_SAFE_INTEGER - 1)).toBe('v');
    expect(await store.getRecord(key, Number.MAX_SAFE_INTEGER)).toBeNull();
    const err = await store.putRecord('😀'.repeat(513), 'token-must-not-leak-4e1d', 1, 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('store key is longer than 2048 bytes');
    expect(inspect(err)).not.toContain('token-must-not-leak-4e1d');
    await store.close();
  });
});
