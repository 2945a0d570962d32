/**
 * The file Store (`file:DIR`, the embedded default): a directory any number of local processes may share, one JSON
 * file per key, read without locks (files are only replaced by rename) and written under a per-key lock file
 * (lib/store/file-lock.ts). File names, nonces by link(2), the sweep, no fsync: docs/design.md §6.3.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { createLocker, errCode, readText, tempName } from './file-lock';
import { link, mkdir, readdir, stat, unlink, writeFile } from './fs-async';
import type { CredentialRow, Store } from './port';
import {
  acquiredRow,
  committedRow,
  emptyRow,
  mayAcquire,
  mayCommit,
  parseJsonObject,
  parseRow,
  releasedRow,
  renewedRow,
} from './row';

export interface FileStoreOptions {
  /** A lock file older than this belongs to a crashed holder and is broken (ms, default 3000). */
  staleLockMs?: number;
  /** Waiting for a lock longer than this fails the operation (ms, default 30000). */
  lockTimeoutMs?: number;
  /** Sweep expired nonces, counters and records after this many writes (default 2000)... */
  sweepEveryWrites?: number;
  /** ...or after this long, when something was written since the last sweep (ms, default 60000). */
  sweepIntervalMs?: number;
  /**
   * Insert new nonces with link(2), without taking the lock (default true; turned off by
   * itself where the file system refuses hard links). Off, every insert takes the lock.
   */
  hardLinks?: boolean;
}

export type FileNamespace = 'credentials' | 'nonces' | 'counters' | 'records';

export interface FileStore extends Store {
  /** The absolute directory. */
  readonly dir: string;
  /** Where a key's data file and lock file live (for tests and operators). */
  paths(ns: FileNamespace, key: string): { file: string; lock: string };
  /** Remove nonces, counters and records expired at `now`, and leftovers of crashed writers; returns the count. */
  sweep(now: number): Promise<number>;
}

const NAMESPACES: readonly FileNamespace[] = ['credentials', 'nonces', 'counters', 'records'];
const MAX_NAME = 120;
/** Temp files, broken-aside locks and lock files older than this are leftovers of a crash. */
const LEFTOVER_MS = 10 * 60_000;

/** The file name (without extension) of a key (docs/design.md §6.3). */
export function encodeKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    if ((byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d) {
      out += String.fromCharCode(byte);
    } else {
      out += (byte < 16 ? '_0' : '_') + byte.toString(16);
    }
    if (out.length > MAX_NAME) break;
  }
  if (out.length > MAX_NAME || out === '') return `~${createHash('sha256').update(key, 'utf8').digest('hex')}`;
  return out;
}

interface Nonce {
  key: string;
  expiresAt: number;
}

interface Counter {
  key: string;
  value: number;
  expiresAt: number;
}

interface StoredRecord {
  key: string;
  value: string;
  expiresAt: number;
}

function parseExpiring(text: string): { key: string; expiresAt: number; value?: number } | null {
  const r = parseJsonObject(text);
  if (!r || typeof r.key !== 'string' || typeof r.expiresAt !== 'number') return null;
  return { key: r.key, expiresAt: r.expiresAt, ...(typeof r.value === 'number' ? { value: r.value } : {}) };
}

export async function createFileStore(dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
  const root = path.resolve(dir);
  const staleLockMs = options.staleLockMs ?? 3000;
  const lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
  const sweepEveryWrites = options.sweepEveryWrites ?? 2000;
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;

  await Promise.all(NAMESPACES.map((ns) => mkdir(path.join(root, ns), { recursive: true })));

  const { locked, breakStale } = createLocker({ staleLockMs, lockTimeoutMs, where: root });
  let closed = false;
  let sweeping: Promise<number> | null = null;
  let writesSinceSweep = 0;
  let lastSweepAt = 0;

  const paths = (ns: FileNamespace, key: string) => {
    const base = path.join(root, ns, encodeKey(key));
    return { file: `${base}.json`, lock: `${base}.lock` };
  };

  /** Whether link(2) works in this directory; learned on first use. */
  let canLink = options.hardLinks ?? true;

  /**
   * Create `file` holding `data` only if it does not exist: true when created, false when it
   * existed, null when this file system cannot hard-link (the caller falls back to the lock).
   */
  const linkNew = async (file: string, data: string): Promise<boolean | null> => {
    if (!canLink) return null;
    const tmp = tempName(file);
    await writeFile(tmp, data);
    try {
      await link(tmp, file);
      return true;
    } catch (err) {
      const code = errCode(err);
      if (code === 'EEXIST') return false;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EMLINK') {
        canLink = false;
        return null;
      }
      throw err;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  };

  const exists = async (file: string): Promise<boolean> => {
    try {
      await stat(file);
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
  };

  const readRow = async (file: string, key: string): Promise<CredentialRow | null> => {
    const text = await readText(file);
    return text === null ? null : parseRow(text, key);
  };

  const readNonce = async (file: string, key: string): Promise<Nonce | null> => {
    const text = await readText(file);
    const n = text === null ? null : parseExpiring(text);
    return n && n.key === key ? { key, expiresAt: n.expiresAt } : null;
  };

  const readCounter = async (file: string, key: string): Promise<Counter | null> => {
    const text = await readText(file);
    const c = text === null ? null : parseExpiring(text);
    return c && c.key === key && typeof c.value === 'number' ? { key, value: c.value, expiresAt: c.expiresAt } : null;
  };

  const readRecord = async (file: string, key: string): Promise<StoredRecord | null> => {
    const text = await readText(file);
    const r = text === null ? null : parseJsonObject(text);
    return r && r.key === key && typeof r.value === 'string' && typeof r.expiresAt === 'number'
      ? { key, value: r.value, expiresAt: r.expiresAt }
      : null;
  };

  const json = (o: object) => `${JSON.stringify(o)}\n`;

  // ---- garbage ----------------------------------------------------------------------------

  const sweepDir = async (ns: FileNamespace, cutoff: number): Promise<number> => {
    const nsDir = path.join(root, ns);
    let names: string[];
    try {
      names = await readdir(nsDir);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    const one = async (name: string): Promise<void> => {
      const file = path.join(nsDir, name);
      if (name.endsWith('.json')) {
        if (ns === 'credentials') return; // credentials never expire
        const isDead = (text: string | null): boolean => {
          if (text === null) return false;
          const e = parseExpiring(text);
          return !e || e.expiresAt <= cutoff; // expired, or not a nonce, counter or record at all
        };
        if (!isDead(await readText(file))) return;
        const lock = `${file.slice(0, -'.json'.length)}.lock`;
        await locked(lock, async (guard) => {
          if (!isDead(await readText(file))) return;
          await guard.remove(file);
          removed++;
        });
        return;
      }
      const leftover = name.endsWith('.tmp') || name.endsWith('.broken') || name.endsWith('.lock');
      if (!leftover) return;
      let st: Stats;
      try {
        st = await stat(file);
      } catch {
        return;
      }
      if (Date.now() - st.mtimeMs < LEFTOVER_MS) return;
      if (name.endsWith('.lock')) await breakStale(file, st);
      else await unlink(file).catch(() => {});
      removed++;
    };
    for (let i = 0; i < names.length; i += 16) {
      await Promise.all(names.slice(i, i + 16).map((n) => one(n).catch(() => {})));
    }
    return removed;
  };

  const sweep = async (now: number): Promise<number> => {
    while (sweeping) await sweeping.catch(() => 0);
    writesSinceSweep = 0;
    lastSweepAt = Date.now();
    sweeping = (async () => {
      let removed = 0;
      for (const ns of NAMESPACES) removed += await sweepDir(ns, now);
      return removed;
    })().finally(() => {
      sweeping = null;
    });
    return sweeping;
  };

  /** After a write whose caller's clock read `now`: sweep by it, now and then. */
  const wrote = (now: number): void => {
    writesSinceSweep++;
    if (closed || sweeping) return;
    // The real clock only paces the sweeps; what they remove is judged by the caller's `now`.
    if (writesSinceSweep >= sweepEveryWrites || Date.now() - lastSweepAt >= sweepIntervalMs) {
      sweep(now).catch(() => {}); // off the hot path; failures are retried by the next sweep
    }
  };

  // ---- the port ---------------------------------------------------------------------------

  return {
    kind: 'file',
    dir: root,
    paths,
    sweep,

    async read(key) {
      return readRow(paths('credentials', key).file, key);
    },

    async acquireLease(key, owner, seen) {
      const { file, lock } = paths('credentials', key);
      return locked(lock, async (guard) => {
        const row = (await readRow(file, key)) ?? emptyRow(key);
        if (!mayAcquire(row, seen)) return null;
        const next = acquiredRow(row, owner);
        await guard.write(file, json(next));
        return next;
      });
    },

    async renewLease(key, owner) {
      const { file, lock } = paths('credentials', key);
      return locked(lock, async (guard) => {
        const next = renewedRow(await readRow(file, key), owner);
        if (next) await guard.write(file, json(next));
        return next !== null;
      });
    },

    async commit(key, owner, expectedVersion, update) {
      const { file, lock } = paths('credentials', key);
      return locked(lock, async (guard) => {
        const row = await readRow(file, key);
        if (!mayCommit(row, owner, expectedVersion)) return false;
        await guard.write(file, json(committedRow(row, update)));
        return true;
      });
    },

    async releaseLease(key, owner, outcome) {
      const { file, lock } = paths('credentials', key);
      await locked(lock, async (guard) => {
        const row = await readRow(file, key);
        if (!row && outcome === undefined) return;
        const next = releasedRow(row ?? emptyRow(key), owner, outcome);
        if (next) await guard.write(file, json(next));
      });
    },

    async insertIfAbsent(key, expiresAt, now) {
      const { file, lock } = paths('nonces', key);
      const data = json({ key, expiresAt } satisfies Nonce);
      // Fast path, no lock: create the file only if it does not exist, complete from the start
      // (link(2) of a finished temp file fails with EEXIST when the name is taken). Every
      // insertion of an absent nonce goes through link, so it cannot race a locked replacement.
      let inserted = await linkNew(file, data);
      if (inserted !== true) {
        // Present (maybe expired) or link unsupported: decide under the lock.
        inserted = await locked(lock, async (guard) => {
          const current = await readNonce(file, key);
          if (current && current.expiresAt > now) return false;
          if (current || (await exists(file))) {
            await guard.write(file, data); // replace an expired or corrupt entry
            return true;
          }
          const created = await linkNew(file, data);
          if (created !== null) return created; // false: inserted by a fast path meanwhile
          await guard.write(file, data); // link unsupported here: only locked writers insert
          return true;
        });
      }
      if (inserted) wrote(now);
      return inserted;
    },

    async increment(key, by, expiresAt, now) {
      const { file, lock } = paths('counters', key);
      if (by === 0) {
        const c = await readCounter(file, key);
        return c && c.expiresAt > now ? c.value : 0;
      }
      const value = await locked(lock, async (guard) => {
        const c = await readCounter(file, key);
        const live = c && c.expiresAt > now ? c : undefined;
        if (by < 0 && !live) return 0;
        const next: Counter = live ? { ...live, value: Math.max(0, live.value + by) } : { key, value: by, expiresAt };
        await guard.write(file, json(next));
        return next.value;
      });
      wrote(now);
      return value;
    },

    async putRecord(key, value, expiresAt, now) {
      const { file, lock } = paths('records', key);
      await locked(lock, (guard) => guard.write(file, json({ key, value, expiresAt } satisfies StoredRecord)));
      wrote(now);
    },

    async getRecord(key, now) {
      const r = await readRecord(paths('records', key).file, key);
      return r && r.expiresAt > now ? r.value : null;
    },

    async deleteRecord(key) {
      // No lock: removing is right whenever it lands, and a put racing it may land on either side.
      await unlink(paths('records', key).file).catch((err: unknown) => {
        if (errCode(err) !== 'ENOENT') throw err;
      });
    },

    async close() {
      closed = true;
      if (sweeping) await sweeping.catch(() => {});
    },
  };
}
