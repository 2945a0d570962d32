/**
 * Tencent SCF, timer trigger.
 *
 * Event (cloud.tencent.com/document/product/583/31927, "Timer 触发器的事件消息结构"):
 *   { Type: 'Timer', TriggerName, Time: '2019-02-21T11:49:00Z', Message }
 * SCF only logs what a timer invocation returns; we return the refresh report.
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
