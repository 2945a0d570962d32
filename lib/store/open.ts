/**
 * Opens the Store a URL names (`store` or WECRED_STORE): `memory:`, `file:DIR`, `mysql://`, `dynamodb://`, `redis://`,
 * `rediss://` (docs/design.md §6.1). Drivers are imported lazily, so an instance loads only what its store needs;
 * errors name the scheme only, never the URL, which may carry a password.
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
