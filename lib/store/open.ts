/**
 * Opens the Store a URL names (the `store` config field or `WECRED_STORE`):
 *   memory:                     the in-memory store (one process only)
 *   file:DIR                    the file store in DIR, relative to the working directory or absolute
 *                               (`file:./.wecred`, `file:/var/lib/wecred`, `file:///var/lib/wecred`)
 * mysql://, dynamodb://, redis:// adapters are added here as they land.
 *
 * Error messages name the scheme only, never the URL: it may carry a password.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFileStore } from './file';
import { createMemoryStore } from './memory';
import type { Store } from './port';

const SUPPORTED = 'memory:, file:DIR';

export async function openStore(url: string): Promise<Store> {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]{0,30}):/.exec(url.trim());
  if (!m) throw new Error(`store URL has no scheme; supported: ${SUPPORTED}`);
  const scheme = m[1]!.toLowerCase();
  const rest = url.trim().slice(m[0].length);
  switch (scheme) {
    case 'memory':
      return createMemoryStore();
    case 'file': {
      let dir: string;
      if (rest.startsWith('//')) {
        try {
          dir = fileURLToPath(url.trim());
        } catch {
          throw new Error('store URL scheme "file:" has an invalid file:// URL; use file:DIR or file:///absolute/dir');
        }
      } else {
        dir = rest;
      }
      if (dir === '') throw new Error('store URL scheme "file:" needs a directory, e.g. file:./.wecred');
      return createFileStore(path.resolve(dir));
    }
    default:
      throw new Error(`store URL scheme "${scheme}:" is not supported; supported: ${SUPPORTED}`);
  }
}
