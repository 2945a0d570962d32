/**
 * Test access to MySQL / MariaDB (MYSQL_URL, default mysql://root@127.0.0.1:3306/): each call
 * hands out a fresh, migrated database of its own, and close() drops it. docs/design.md §9.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { mysqlError, parseMysqlUrl } from '../../lib/store/mysql';
import { migrateMysql } from '../../lib/store/mysql-migrate';
import { serviceUnavailable, type TestStore } from './services';

/** Codes that mean nothing answers at the address (as opposed to a server that refuses us). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'PROTOCOL_CONNECTION_LOST',
]);

/** The test server's URL for `database` (MYSQL_URL's user, password, host and parameters). */
export function mysqlTestUrl(database: string): string {
  const url = new URL(process.env.MYSQL_URL || 'mysql://root@127.0.0.1:3306/');
  url.pathname = `/${database}`;
  return url.href;
}

/** A database name no other test (nor run) uses. */
export const uniqueDatabaseName = (): string => `wecred_t_${randomBytes(6).toString('hex')}`;

export async function freshMysql(): Promise<TestStore | null> {
  const url = mysqlTestUrl(uniqueDatabaseName());
  try {
    await migrateMysql(url);
  } catch (err) {
    if (UNREACHABLE.has(String((err as { code?: unknown } | null)?.code))) return serviceUnavailable('MySQL', err);
    throw err;
  }
  return { url, env: {}, close: () => dropMysqlDatabase(url) };
}

/** Drops the URL's database when it exists. */
export async function dropMysqlDatabase(url: string): Promise<void> {
  const t = parseMysqlUrl(url); // it admits only [A-Za-z0-9_] names: safe inside backticks
  try {
    const conn = await mysql.createConnection({ host: t.host, port: t.port, user: t.user, password: t.password });
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${t.database}\``);
    } finally {
      await conn.end();
    }
  } catch (err) {
    throw mysqlError(err, `drop of ${t.database}`);
  }
}
