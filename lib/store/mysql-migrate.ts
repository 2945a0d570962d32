/**
 * `npm run db:migrate` for MySQL: creates the database when missing and applies, in order and under a server-wide
 * GET_LOCK, every db/mysql/NNN_name.sql not yet recorded in schema_migrations (docs/design.md §6.3).
 */
import { readdir, readFile } from 'node:fs/promises';
import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { mysqlError, parseMysqlUrl } from './mysql';

const MIGRATIONS = new URL('../../db/mysql/', import.meta.url);
const FILE_NAME = /^(\d{3})_[a-z0-9_]+\.sql$/;
const LOCK_TIMEOUT_SECONDS = 60;

export interface MysqlMigration {
  version: number;
  file: string;
}

/** db/mysql's migrations in order; their versions must run 1, 2, 3, … without gaps. */
export async function mysqlMigrations(): Promise<MysqlMigration[]> {
  const found = (await readdir(MIGRATIONS))
    .map((file) => ({ file, m: FILE_NAME.exec(file) }))
    .filter((f) => f.m !== null)
    .map(({ file, m }) => ({ version: Number(m![1]), file }))
    .sort((a, b) => a.version - b.version);
  found.forEach((f, i) => {
    if (f.version !== i + 1)
      throw new Error(
        `db/mysql: ${f.file} should be numbered ${String(i + 1).padStart(3, '0')}: versions run 001, 002, … without gaps`,
      );
  });
  return found;
}

export async function migrateMysql(url: string): Promise<{ database: string; applied: number[]; version: number }> {
  const t = parseMysqlUrl(url); // it admits only [A-Za-z0-9_] names: safe inside backticks
  const migrations = await mysqlMigrations();
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      charset: 'utf8mb4',
      multipleStatements: true, // a migration file is a script of several statements
    });
  } catch (err) {
    throw mysqlError(err, `connect to ${t.host}:${t.port}`);
  }
  try {
    return await migrate(conn, t.database, migrations);
  } catch (err) {
    throw mysqlError(err, `migration of ${t.database}`);
  } finally {
    await conn.end().catch(() => {});
  }
}

async function migrate(
  conn: Connection,
  database: string,
  migrations: MysqlMigration[],
): Promise<{ database: string; applied: number[]; version: number }> {
  const lock = `wecred:migrate:${database}`.slice(0, 64); // MySQL caps lock names at 64 characters
  const [[got]] = await conn.execute<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [lock, LOCK_TIMEOUT_SECONDS]);
  if (Number(got?.got) !== 1)
    throw new Error(`MySQL migration of ${database}: another migration held the lock for ${LOCK_TIMEOUT_SECONDS} s`);
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await conn.query(`USE \`${database}\``);
    const done = new Set(await appliedVersions(conn));
    const applied: number[] = [];
    for (const { version, file } of migrations) {
      if (done.has(version)) continue;
      await conn.query(await readFile(new URL(file, MIGRATIONS), 'utf8'));
      await conn.execute('INSERT INTO schema_migrations (version) VALUES (?)', [version]);
      done.add(version);
      applied.push(version);
    }
    return { database, applied, version: Math.max(0, ...done) };
  } finally {
    await conn.execute('SELECT RELEASE_LOCK(?)', [lock]).catch(() => {}); // ending the connection releases it too
  }
}

async function appliedVersions(conn: Connection): Promise<number[]> {
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT version FROM schema_migrations');
    return rows.map((r) => Number(r.version));
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code === 'ER_NO_SUCH_TABLE') return []; // a new database: 001 creates the table
    throw err;
  }
}
