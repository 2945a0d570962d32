/**
 * Opens the Store a URL names (the `store` config field or `WECRED_STORE`):
 *   memory:                     the in-memory store (one process only)
 *   file:DIR                    the file store in DIR, relative to the working directory or absolute
 *                               (`file:./.wecred`, `file:/var/lib/wecred`, `file:///var/lib/wecred`)
 *   mysql://user:pass@host:port/db          MySQL / MariaDB (schema from `npm run db:migrate`)
 *   dynamodb://TABLE?region=…&endpoint=…    DynamoDB (table from `npm run db:migrate`)
 *   redis://[:pass@]host:port[/db][?prefix=…], rediss://…   Redis
 *
 * The database adapters are imported lazily: a function instance loads only the driver its
 * store needs, which keeps cold starts short, and a bundle may leave out drivers it never uses.
 * Error messages name the scheme only, never the URL: it may carry a password.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileStore } from './file';
import { createMemoryStore } from './memory';
import type { Store } from './port';

const SUPPORTED = 'memory:, file:DIR, mysql://, dynamodb://, redis://, rediss://';

export async function openStore(url: string): Promise<Store> {
  const trimmed = url.trim();
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]{0,30}):/.exec(trimmed);
  if (!m) throw new Error(`store URL has no scheme; supported: ${SUPPORTED}`);
  const scheme = m[1]!.toLowerCase();
  switch (scheme) {
    case 'memory':
      return createMemoryStore();
    case 'file':
      return createFileStore(fileStoreDir(trimmed, trimmed.slice(m[0].length)));
    case 'mysql':
      return (await import('./mysql')).openMysqlStore(trimmed);
    case 'dynamodb':
      return (await import('./dynamodb')).openDynamoStore(trimmed);
    case 'redis':
    case 'rediss':
      return (await import('./redis')).openRedisStore(trimmed);
    default:
      throw new Error(`store URL scheme "${scheme}:" is not supported; supported: ${SUPPORTED}`);
  }
}

function fileStoreDir(url: string, rest: string): string {
  let dir = rest;
  if (rest.startsWith('//')) {
    try {
      dir = fileURLToPath(url);
    } catch {
      throw new Error('store URL scheme "file:" has an invalid file:// URL; use file:DIR or file:///absolute/dir');
    }
  }
  if (dir === '') throw new Error('store URL scheme "file:" needs a directory, e.g. file:./.wecred');
  return path.resolve(dir);
}
