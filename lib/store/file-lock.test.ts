/**
 * The file store's lock (docs/design.md §6.3) between two processes, each with its own in-process queue: a holder
 * that stalled past the lock's age loses it, and what it does afterwards never touches the new holder's lock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocker } from './file-lock';

const root = mkdtempSync(path.join(tmpdir(), 'wecred-file-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('file lock', () => {
  it('a holder that stalled past the lock age and wrote nothing leaves the lock of the process that broke it', async () => {
    const lock = path.join(root, 'k.lock');
    const options = { staleLockMs: 200, lockTimeoutMs: 2_000, where: root };
    const [stalled, breaker] = [createLocker(options), createLocker(options)];
    let resume!: () => void;
    const first = stalled.locked(lock, () => new Promise<string>((r) => (resume = () => r('stalled'))));
    await expect.poll(() => readFile(lock, 'utf8').catch(() => null)).not.toBeNull();
    const past = new Date(Date.now() - 60_000);
    await utimes(lock, past, past); // the stalled holder's lock has aged past staleLockMs

    let heldBy: string | null = null;
    const second = breaker.locked(lock, async () => {
      heldBy = await readFile(lock, 'utf8');
      resume();
      await first; // the stalled holder finishes meanwhile, without a write
      return readFile(lock, 'utf8').catch(() => null);
    });
    expect(await second).toBe(heldBy);
    expect(await first).toBe('stalled');
  });
});
