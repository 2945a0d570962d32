/**
 * The file store's per-key mutex across processes: a lock file created with O_CREAT|O_EXCL holding a random token,
 * broken when stale by renaming it aside, and checked by a writer before it renames its new file into place; an
 * async queue per key in front of it inside one process (docs/design.md §6.3).
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from './fs-async';

/** A cycle that stalls past the lock's age loses it this many times at most before it fails. */
const MAX_ATTEMPTS = 10;

export const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const rand = () => randomBytes(6).toString('hex');

/** The file's text, or null when it does not exist. */
export async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}

let tmpSeq = 0;
/** A fresh name beside `file` for a write in progress (swept as a leftover when a crash leaves it). */
export const tempName = (file: string): string => `${file}.${process.pid}.${++tmpSeq}.${rand()}.tmp`;

export interface Guard {
  /** Atomically replace `file` with `data`, provided this cycle still holds the lock. */
  write(file: string, data: string): Promise<void>;
  /** Remove `file`, provided this cycle still holds the lock. */
  remove(file: string): Promise<void>;
}

export interface LockOptions {
  /** A lock file older than this belongs to a crashed holder and is broken (ms). */
  staleLockMs: number;
  /** Waiting for a lock longer than this fails the operation (ms). */
  lockTimeoutMs: number;
  /** Named in the timeout error. */
  where: string;
}

export interface Locker {
  /**
   * One read-modify-write cycle under `lock`: `body` reads, then writes through the guard. When
   * the lock was lost meanwhile (broken as stale), the guarded write refuses and `body` runs again
   * under a new lock, reading what the breaker wrote.
   */
  locked<T>(lock: string, body: (guard: Guard) => Promise<T>): Promise<T>;
  /** Move a lock judged stale (`judged` is its stat) aside (docs/design.md §6.3). */
  breakStale(lock: string, judged: Stats): Promise<void>;
}

class LockLost extends Error {}

/** Runs tasks for the same id one after another (an in-process queue in front of a file lock). */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(id: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(id);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = prev ? prev.then(() => mine) : mine;
    this.tails.set(id, tail);
    if (prev) await prev;
    try {
      return await task();
    } finally {
      done();
      if (this.tails.get(id) === tail) this.tails.delete(id);
    }
  }
}

export function createLocker({ staleLockMs, lockTimeoutMs, where }: LockOptions): Locker {
  const queue = new KeyedQueue();

  const ownsLock = async (lock: string, token: string): Promise<boolean> => (await readText(lock)) === token;

  const breakStale = async (lock: string, judged: Stats): Promise<void> => {
    const aside = `${lock}.${process.pid}.${rand()}.broken`;
    try {
      await rename(lock, aside);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return; // somebody else broke (or released) it first
      throw err;
    }
    let moved: Stats | null = null;
    try {
      moved = await stat(aside);
    } catch {
      return;
    }
    const same = moved.ino === judged.ino && moved.dev === judged.dev && moved.mtimeMs === judged.mtimeMs;
    if (!same) {
      // We moved a lock taken after the stale one was judged: give it back, unless yet another
      // has been taken meanwhile (then its owner's pre-write check makes it retry).
      await link(aside, lock).catch(() => {});
    }
    await unlink(aside).catch(() => {});
  };

  const acquire = async (lock: string): Promise<string> => {
    const token = `${process.pid}.${rand()}`;
    const deadline = Date.now() + lockTimeoutMs;
    let delay = 1;
    for (;;) {
      try {
        await writeFile(lock, token, { flag: 'wx' });
        return token;
      } catch (err) {
        const code = errCode(err);
        if (code === 'ENOENT') {
          await mkdir(path.dirname(lock), { recursive: true });
          continue;
        }
        if (code !== 'EEXIST') throw err;
      }
      let held: Stats;
      try {
        held = await stat(lock);
      } catch (err) {
        if (errCode(err) === 'ENOENT') continue; // released meanwhile
        throw err;
      }
      // The file system's clock against the file system's mtime: a lock's age, not a caller's time.
      if (Date.now() - held.mtimeMs > staleLockMs) {
        await breakStale(lock, held);
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`file store: timed out after ${lockTimeoutMs} ms waiting for a lock under ${where}`);
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, 20);
    }
  };

  const release = async (lock: string, token: string): Promise<void> => {
    if (!(await ownsLock(lock, token).catch(() => false))) return;
    await unlink(lock).catch(() => {});
  };

  const locked = <T>(lock: string, body: (guard: Guard) => Promise<T>): Promise<T> =>
    queue.run(lock, async () => {
      for (let attempt = 1; ; attempt++) {
        const token = await acquire(lock);
        let verified = false; // the lock was seen to be ours just before the last write
        const check = async () => {
          verified = false;
          if (!(await ownsLock(lock, token))) throw new LockLost();
          verified = true;
        };
        const guard: Guard = {
          async write(file, data) {
            const tmp = tempName(file);
            await writeFile(tmp, data);
            try {
              await check();
              await rename(tmp, file);
            } catch (err) {
              await unlink(tmp).catch(() => {});
              throw err;
            }
          },
          async remove(file) {
            await check();
            await unlink(file).catch((err: unknown) => {
              if (errCode(err) !== 'ENOENT') throw err;
            });
          },
        };
        try {
          return await body(guard);
        } catch (err) {
          if (err instanceof LockLost && attempt < MAX_ATTEMPTS) continue;
          throw err;
        } finally {
          if (verified) await unlink(lock).catch(() => {});
          else await release(lock, token);
        }
      }
    });

  return { locked, breakStale };
}
