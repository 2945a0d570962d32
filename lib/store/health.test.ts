import { describe, expect, it } from 'vitest';
import type { LogFields } from '../log/logger';
import { StoreHealth } from './health';

describe('StoreHealth (docs/design.md §6.4)', () => {
  it('a failure marks the store away and a good call marks it back, each logged once; every failure is counted', async () => {
    const lines: { level: string; event: string; fields?: LogFields }[] = [];
    const log = {
      log: (level: string, event: string, fields?: LogFields) => void lines.push({ level, event, fields }),
    };
    const errors: string[] = [];
    let now = Date.UTC(2026, 0, 1, 8, 0, 0);
    const health = new StoreHealth(() => now, log, { storeError: (code) => void errors.push(code) });
    const refused = () =>
      Promise.reject(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1'), { code: 'ECONNREFUSED' }));

    expect(await health.call(async () => 'row', 100)).toBe('row');
    expect(health.since()).toBeNull();
    expect([health.due(), health.due()]).toEqual([true, true]); // while it answers, every caller uses it
    await expect(health.call(refused, 100)).rejects.toThrow('ECONNREFUSED');
    const awaySince = now;
    now += 5_000;
    await expect(health.call(() => Promise.reject(new TypeError('odd')), 100)).rejects.toThrow('odd');
    await expect(health.call(() => new Promise(() => {}), 20)).rejects.toMatchObject({ name: 'StoreTimeout' });
    expect(health.since()).toBe(awaySince);
    expect(errors).toEqual(['ECONNREFUSED', 'TypeError', 'StoreTimeout']);
    expect(await health.call(async () => 'back', 100)).toBe('back');
    expect(health.since()).toBeNull();
    expect(await health.call(async () => 'still', 100)).toBe('still');
    expect(lines).toEqual([
      { level: 'error', event: 'store_degraded', fields: { error: 'Error', code: 'ECONNREFUSED' } },
      { level: 'info', event: 'store_recovered', fields: { since: new Date(awaySince).toISOString() } },
    ]);
  });

  it('while the store is away, one caller a second tries it again', async () => {
    const log = { log: () => {} };
    const health = new StoreHealth(() => 0, log);
    await expect(health.call(() => Promise.reject(new Error('down')), 100)).rejects.toThrow('down');
    expect(health.due()).toBe(false); // just tried
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect([health.due(), health.due()]).toEqual([true, false]);
  });
});
