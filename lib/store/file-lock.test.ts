import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocker } from './file-lock';

const dir = mkdtempSync(path.join(tmpdir(), 'wecred-file-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file lock', () => {
  it('a holder that stalls past the stale age loses the lock and never overwrites what the breaker wrote', async () => {
    const file = path.join(dir, 'counter.json');
    const lock = path.join(dir, 'counter.lock');
    await writeFile(file, '0');
    // Two processes: each locker has its own in-process queue, so only the file lock orders them.
    const options = { staleLockMs: 100, lockTimeoutMs: 5_000, where: dir };
    const a = createLocker(options);
    const b = createLocker(options);
    const increment = async (write: (file: string, data: string) => Promise<void>) =>
      write(file, String(Number(await readFile(file, 'utf8')) + 1));

    let holding!: () => void;
    const aHolds = new Promise<void>((resolve) => (holding = resolve));
    let resume!: () => void;
    const aResumes = new Promise<void>((resolve) => (resume = resolve));
    let attempts = 0;
    const aDone = a.locked(lock, async (guard) => {
      attempts++;
      const read = Number(await readFile(file, 'utf8'));
      if (attempts === 1) {
        holding();
        await aResumes; // stalled (not crashed) between its read and its write, past staleLockMs
      }
      await guard.write(file, String(read + 1));
    });

    await aHolds;
    const started = Date.now();
    await b.locked(lock, (guard) => increment(guard.write)); // waits for the lock to go stale, breaks it
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(await readFile(file, 'utf8')).toBe('1');

    resume();
    await aDone;
    expect(attempts).toBe(2); // A's first write was refused; it read again and wrote on top of B's
    expect(await readFile(file, 'utf8')).toBe('2');
  });
});
