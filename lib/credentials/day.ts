/**
 * WeChat's daily quotas reset at midnight Beijing time (UTC+8); WeCom's hourly ones on the hour. docs/design.md §5.7.
 */
const OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/** 'YYYY-MM-DD' of the Beijing calendar day containing `now` (epoch ms). */
export function beijingDay(now: number): string {
  return new Date(now + OFFSET_MS).toISOString().slice(0, 10);
}

/** Epoch ms of the next Beijing midnight after `now`. */
export function nextBeijingMidnight(now: number): number {
  return (Math.floor((now + OFFSET_MS) / DAY_MS) + 1) * DAY_MS - OFFSET_MS;
}

/** 'YYYY-MM-DDTHH' (UTC) of the clock hour containing `now`: Beijing hours start at the same instants. */
export function clockHour(now: number): string {
  return new Date(now).toISOString().slice(0, 13);
}

/** 'YYYY-MM' of the Beijing calendar month containing `now` (epoch ms): WeChat's monthly limits count by it. */
export function beijingMonth(now: number): string {
  return new Date(now + OFFSET_MS).toISOString().slice(0, 7);
}

/** Epoch ms of the first Beijing midnight of the month after the one containing `now`. */
export function nextBeijingMonth(now: number): number {
  const d = new Date(now + OFFSET_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - OFFSET_MS;
}
