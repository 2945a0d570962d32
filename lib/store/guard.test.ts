import { describe, expect, it } from 'vitest';
import type { LogFields } from '../log/logger';
import { guardStore, StoreTimeout, withinStoreTimeout } from './guard';

describe('guardStore', () => {
  it("passes results through; a failure is logged by class and code, never by its message, and thrown as the caller's error", async () => {
    const lines: { level: string; event: string; fields?: LogFields }[] = [];
    const log = {
      log: (level: string, event: string, fields?: LogFields) => void lines.push({ level, event, fields }),
    };
    const unavailable = () => new Error('the store is unavailable');
    expect(await guardStore(log, async () => 42, unavailable)).toBe(42);
    const failure = Object.assign(new Error("Duplicate entry 'user-secret-value' for key 'PRIMARY'"), {
      code: 'ER_DUP_ENTRY',
    });
    await expect(guardStore(log, () => Promise.reject(failure), unavailable)).rejects.toThrow(
      'the store is unavailable',
    );
    await expect(guardStore(log, () => Promise.reject('down'), unavailable)).rejects.toThrow(
      'the store is unavailable',
    );
    const numbered = Object.assign(new RangeError('errno'), { code: 1045 });
    const odd = Object.assign(new TypeError('odd'), { code: { secret: 'x' } });
    for (const err of [numbered, odd]) await guardStore(log, () => Promise.reject(err), unavailable).catch(() => {});
    expect(lines).toEqual([
      { level: 'error', event: 'store_failed', fields: { error: 'Error', code: 'ER_DUP_ENTRY' } },
      { level: 'error', event: 'store_failed', fields: { error: 'string' } },
      { level: 'error', event: 'store_failed', fields: { error: 'RangeError', code: 1045 } },
      { level: 'error', event: 'store_failed', fields: { error: 'TypeError' } },
    ]);
  });
});

describe('withinStoreTimeout', () => {
  it('answers with the call when it answers in time, and with a StoreTimeout when it does not', async () => {
    expect(await withinStoreTimeout(Promise.resolve('row'), 50)).toBe('row');
    const started = performance.now();
    const err = await withinStoreTimeout(new Promise(() => {}), 50).catch((e: unknown) => e);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(err).toBeInstanceOf(StoreTimeout);
    expect(err).toMatchObject({ name: 'StoreTimeout', message: 'the store did not answer in time' });
  });
});
