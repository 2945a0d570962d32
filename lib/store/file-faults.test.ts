/**
 * The file store and its lock when the file system answers with errors (docs/design.md §6.3): a file system without
 * hard links is learned once and worked around, races the errno names (ENOENT) are taken in stride, and any other
 * error reaches the caller instead of being mistaken for one of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createFileStore } from './file';
import { createLocker } from './file-lock';

type Op = 'link' | 'stat' | 'rename' | 'readdir' | 'writeFile' | 'unlink';
interface Fault {
  op: Op;
  /** Paths the fault applies to. */
  match: (file: string) => boolean;
  code: string;
  /** How many calls fail (default: all). */
  times?: number;
  /** Runs instead of failing the call's first time, before the real call (a race with another process). */
  before?: () => Promise<void>;
}

const faults: Fault[] = [];
const calls: Record<string, string[]> = {};

vi.mock('./fs-async', async (importOriginal) => {
  const real = await importOriginal<typeof import('./fs-async')>();
  const wrap =
    <A extends unknown[], R>(op: Op, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const file = String(args[0]);
      calls[op] = [...(calls[op] ?? []), file];
      const fault = faults.find((f) => f.op === op && f.match(file) && (f.times ?? 1) > 0);
      if (fault) {
        if (fault.times !== undefined) fault.times--;
        if (fault.before) await fault.before();
        else throw Object.assign(new Error(`${fault.code}: injected, ${op} '${file}'`), { code: fault.code });
      }
      return fn(...args);
    };
  return {
    ...real,
    link: wrap('link', real.link),
    stat: wrap('stat', real.stat),
    rename: wrap('rename', real.rename),
    readdir: wrap('readdir', real.readdir),
    writeFile: wrap('writeFile', real.writeFile),
    unlink: wrap('unlink', real.unlink),
  };
});

const root = mkdtempSync(path.join(tmpdir(), 'wecred-file-faults-'));
let n = 0;
const freshDir = () => path.join(root, String(++n));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => {
  faults.length = 0;
  for (const op of Object.keys(calls)) delete calls[op];
});

const always = () => true;
const endsWith = (suffix: string) => (file: string) => file.endsWith(suffix);
const NOW = 1_000_000;

describe('file store without hard links', () => {
  for (const code of ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']) {
    it(`${code} from link(2) is learned once: nonces are inserted under the lock from then on`, async () => {
      const store = await createFileStore(freshDir());
      faults.push({ op: 'link', match: always, code });
      expect(await store.insertIfAbsent('n1', NOW + 60_000, NOW)).toBe(true);
      expect(calls.link).toHaveLength(1);
      expect(await store.insertIfAbsent('n2', NOW + 60_000, NOW)).toBe(true);
      expect(await store.insertIfAbsent('n1', NOW + 60_000, NOW)).toBe(false);
      expect(calls.link).toHaveLength(1);
      await store.close();
    });
  }

  it('any other error from link(2) fails the insert, and link is tried again next time', async () => {
    const store = await createFileStore(freshDir());
    faults.push({ op: 'link', match: always, code: 'EIO', times: 1 });
    await expect(store.insertIfAbsent('n1', NOW + 60_000, NOW)).rejects.toMatchObject({ code: 'EIO' });
    expect(await store.insertIfAbsent('n1', NOW + 60_000, NOW)).toBe(true);
    expect(calls.link).toHaveLength(2);
    await store.close();
  });

  it('a nonce file that vanished between the fast path and the lock is created; a stat that fails otherwise is an error', async () => {
    const store = await createFileStore(freshDir());
    // link says the name is taken, but by the time the lock is held nothing is there.
    faults.push({ op: 'link', match: always, code: 'EEXIST', times: 1 });
    expect(await store.insertIfAbsent('n1', NOW + 60_000, NOW)).toBe(true);
    expect(await store.insertIfAbsent('n1', NOW + 60_000, NOW)).toBe(false);
    faults.push({ op: 'link', match: always, code: 'EEXIST', times: 1 });
    faults.push({ op: 'stat', match: endsWith('.json'), code: 'EACCES', times: 1 });
    await expect(store.insertIfAbsent('n2', NOW + 60_000, NOW)).rejects.toMatchObject({ code: 'EACCES' });
    await store.close();
  });
});

describe('file store sweep and delete', () => {
  it('a namespace directory that is gone sweeps as empty; one that cannot be read fails the sweep', async () => {
    const store = await createFileStore(freshDir());
    await store.putRecord('r', 'v', NOW - 1, NOW - 10);
    expect(await store.sweep(NOW - 10)).toBe(0); // after the sweep the first write started
    faults.push({ op: 'readdir', match: endsWith('records'), code: 'ENOENT', times: 1 });
    expect(await store.sweep(NOW)).toBe(0);
    expect(await store.sweep(NOW)).toBe(1);
    faults.push({ op: 'readdir', match: endsWith('records'), code: 'EACCES', times: 1 });
    await expect(store.sweep(NOW)).rejects.toMatchObject({ code: 'EACCES' });
    await store.close();
  });

  it('an expired record removed by somebody else mid-sweep counts as swept; one the file system refuses to remove stays', async () => {
    const dir = freshDir();
    const store = await createFileStore(dir);
    await store.putRecord('r', 'v', NOW - 1, NOW - 10);
    const file = path.join(dir, 'records', 'r.json');
    faults.push({ op: 'unlink', match: endsWith('r.json'), code: 'ENOENT', times: 1, before: () => rm(file) });
    expect(await store.sweep(NOW)).toBe(1);
    await store.close();
    const other = await createFileStore(freshDir());
    await other.putRecord('s', 'v', NOW - 1, NOW - 10);
    faults.push({ op: 'unlink', match: endsWith('s.json'), code: 'EACCES', times: 1 });
    expect(await other.sweep(NOW)).toBe(0); // left for the next sweep
    expect(await other.getRecord('s', NOW - 10)).toBe('v');
    await other.close();
  });

  it('deleting a record already gone succeeds; a delete the file system refuses fails', async () => {
    const store = await createFileStore(freshDir());
    await store.putRecord('r', 'v', NOW + 60_000, NOW);
    faults.push({ op: 'unlink', match: endsWith('.json'), code: 'EACCES', times: 1 });
    await expect(store.deleteRecord('r')).rejects.toMatchObject({ code: 'EACCES' });
    expect(await store.getRecord('r', NOW)).toBe('v');
    await store.deleteRecord('r');
    await store.deleteRecord('r');
    expect(await store.getRecord('r', NOW)).toBeNull();
    await store.close();
  });
});

describe('file lock under file system errors', () => {
  const options = (dir: string) => ({ staleLockMs: 100, lockTimeoutMs: 2_000, where: dir });

  it('takes a lock in a directory that does not exist yet, creating it', async () => {
    const dir = path.join(freshDir(), 'a', 'b');
    const locker = createLocker(options(dir));
    expect(await locker.locked(path.join(dir, 'k.lock'), async () => 'ran')).toBe('ran');
  });

  it('an error creating the lock file other than "it exists" fails the operation', async () => {
    const dir = freshDir();
    const locker = createLocker(options(dir));
    faults.push({ op: 'writeFile', match: endsWith('.lock'), code: 'EROFS', times: 1 });
    await expect(locker.locked(path.join(dir, 'k.lock'), async () => 'ran')).rejects.toMatchObject({ code: 'EROFS' });
  });

  it('a lock released between "it exists" and its stat is taken at once; a stat that fails otherwise is an error', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    const lock = path.join(dir, 'k.lock');
    const locker = createLocker({ ...options(dir), staleLockMs: 60_000 });
    await writeFile(lock, 'other');
    faults.push({ op: 'stat', match: endsWith('k.lock'), code: 'ENOENT', times: 1 });
    setTimeout(() => rmSync(lock, { force: true }), 100);
    expect(await locker.locked(lock, async () => 'ran')).toBe('ran');
    await writeFile(lock, 'other');
    faults.push({ op: 'stat', match: endsWith('k.lock'), code: 'EIO', times: 1 });
    await expect(locker.locked(lock, async () => 'ran')).rejects.toMatchObject({ code: 'EIO' });
    rmSync(lock, { force: true });
  });

  it('a lock held fresh past the timeout fails with a message naming the directory', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    const lock = path.join(dir, 'k.lock');
    await writeFile(lock, 'other');
    const touch = setInterval(() => writeFile(lock, 'other'), 20); // its holder keeps it fresh
    const locker = createLocker({ staleLockMs: 60_000, lockTimeoutMs: 150, where: dir });
    await expect(locker.locked(lock, async () => 'ran')).rejects.toThrow(
      `file store: timed out after 150 ms waiting for a lock under ${dir}`,
    );
    clearInterval(touch);
  });

  it('breaking a stale lock somebody else broke first is fine; a rename that fails otherwise is an error', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    const lock = path.join(dir, 'k.lock');
    const locker = createLocker(options(dir));
    await writeFile(lock, 'crashed');
    await new Promise((r) => setTimeout(r, 150)); // stale
    faults.push({ op: 'rename', match: endsWith('k.lock'), code: 'ENOENT', times: 1 });
    expect(await locker.locked(lock, async () => 'ran')).toBe('ran');
    await writeFile(lock, 'crashed');
    await new Promise((r) => setTimeout(r, 150));
    faults.push({ op: 'rename', match: endsWith('k.lock'), code: 'EACCES', times: 1 });
    await expect(locker.locked(lock, async () => 'ran')).rejects.toMatchObject({ code: 'EACCES' });
  });

  it('a stale lock moved aside and gone before its stat is simply taken', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    const lock = path.join(dir, 'k.lock');
    const locker = createLocker(options(dir));
    await writeFile(lock, 'crashed');
    await new Promise((r) => setTimeout(r, 150));
    faults.push({ op: 'stat', match: endsWith('.broken'), code: 'ENOENT', times: 1 });
    expect(await locker.locked(lock, async () => 'ran')).toBe('ran');
  });

  it('a lock taken anew after the stale one was judged is given back to its new holder', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    const lock = path.join(dir, 'k.lock');
    const locker = createLocker({ staleLockMs: 5_000, lockTimeoutMs: 300, where: dir });
    await writeFile(lock, 'crashed');
    const past = new Date(Date.now() - 60_000);
    await utimes(lock, past, past); // stale
    // Between our stat and our rename, another process broke the stale lock and took a fresh one.
    faults.push({
      op: 'rename',
      match: endsWith('k.lock'),
      code: '',
      times: 1,
      before: async () => {
        rmSync(lock);
        await writeFile(lock, 'new-holder');
      },
    });
    await expect(locker.locked(lock, async () => 'ran')).rejects.toThrow(/timed out/);
    expect(await readFile(lock, 'utf8')).toBe('new-holder');
  });
});
