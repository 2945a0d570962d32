import { describe, expect, it } from 'vitest';
import { beijingMonth, nextBeijingMonth } from './day';

describe('Beijing months (quota clears count by them)', () => {
  it('a month starts at Beijing midnight of its first day, 16:00 UTC the day before', () => {
    const start = Date.UTC(2026, 10, 30, 16); // 2026-12-01 00:00 Beijing
    expect(beijingMonth(start - 1)).toBe('2026-11');
    expect(beijingMonth(start)).toBe('2026-12');
    expect(nextBeijingMonth(start - 1)).toBe(start);
    expect(nextBeijingMonth(start)).toBe(Date.UTC(2026, 11, 31, 16));
    expect(beijingMonth(Date.UTC(2026, 11, 31, 16))).toBe('2027-01');
  });
});
