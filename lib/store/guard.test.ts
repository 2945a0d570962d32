import { describe, expect, it } from 'vitest';
import type { LogFields } from '../log/logger';
import { guardStore } from './guard';

describe('guardStore', () => {
  it("passes results through; a failure is logged by class and code, never by its message, and thrown as the caller's error", async () => {
    const lines: { event: string; fields?: LogFields }[] = [];
    const log = { log: (_level: string, event: string, fields?: LogFields) => void lines.push({ event, fields }) };
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
      { event: 'store_failed', fields: { error: 'Error', code: 'ER_DUP_ENTRY' } },
      { event: 'store_failed', fields: { error: 'string' } },
      { event: 'store_failed', fields: { error: 'RangeError', code: 1045 } },
      { event: 'store_failed', fields: { error: 'TypeError' } },
    ]);
  });
});
