import { describe, expect, it } from 'vitest';
import { beijingDay, beijingMonth, clockHour, HOUR_MS, nextBeijingMidnight, nextBeijingMonth } from './day';

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

describe('Beijing days and clock hours (daily and hourly quotas count by them)', () => {
  it('a day starts at Beijing midnight, 16:00 UTC the day before; the next midnight is exactly a day later', () => {
    const midnight = Date.UTC(2026, 11, 2, 16); // 2026-12-03 00:00 Beijing
    expect(beijingDay(midnight - 1)).toBe('2026-12-02');
    expect(beijingDay(midnight)).toBe('2026-12-03');
    expect(nextBeijingMidnight(midnight - 1)).toBe(midnight);
    expect(nextBeijingMidnight(midnight)).toBe(midnight + 86_400_000);
    expect(nextBeijingMidnight(midnight + 12 * HOUR_MS)).toBe(midnight + 86_400_000);
  });

  it('an hour is the UTC clock hour, the same instants as Beijing hours', () => {
    const hour = Date.UTC(2026, 11, 3, 9);
    expect(clockHour(hour - 1)).toBe('2026-12-03T08');
    expect(clockHour(hour)).toBe('2026-12-03T09');
    expect(clockHour(hour + HOUR_MS - 1)).toBe('2026-12-03T09');
  });
});
