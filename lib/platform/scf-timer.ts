/**
 * Tencent SCF, timer trigger. SCF only logs what a timer invocation returns; we return the refresh report.
 * The event's shape and where Tencent documents it: docs/design.md §4.
 */
import type { RefreshReport } from '../gateway/http';
import { isRecord, timerResult, type TimerResult } from './shared';

export const name = 'scf-timer';

export function matches(event: unknown): boolean {
  return isRecord(event) && event.Type === 'Timer' && typeof event.TriggerName === 'string';
}

export function toResult(report: RefreshReport): TimerResult {
  return timerResult(report);
}
