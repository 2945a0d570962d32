/**
 * Every store that several processes can share, opened fresh (a new directory, database, table
 * or key prefix) on the real MariaDB, dynalite and Redis; `open` returns null when a server is
 * missing outside CI, after a loud line. docs/design.md §9.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynalite } from './dynalite';
import { freshMysql } from './mysql';
import { freshRedis } from './redis';
import type { TestStore } from './services';

export interface SharedStore {
  name: 'file' | 'mysql' | 'dynamodb' | 'redis';
  open(): Promise<TestStore | null>;
}

async function freshDir(): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'wecred-shared-'));
  return { url: `file:${dir}`, env: {}, close: () => rm(dir, { recursive: true, force: true }) };
}

export const SHARED_STORES: readonly SharedStore[] = [
  { name: 'file', open: freshDir },
  { name: 'mysql', open: freshMysql },
  { name: 'dynamodb', open: startDynalite },
  { name: 'redis', open: freshRedis },
];
