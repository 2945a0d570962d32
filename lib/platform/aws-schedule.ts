/**
 * AWS EventBridge scheduled rule (a Serverless Framework `schedule` event without `input`; a custom `input` replaces
 * the event and is not recognised). We return the refresh report, which Lambda only records (docs/design.md §4).
 */
import type { RefreshReport } from '../gateway/http';
import { isRecord, timerResult, type TimerResult } from './shared';

export const name = 'aws-schedule';

export function matches(event: unknown): boolean {
  return isRecord(event) && event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event';
}

export function toResult(report: RefreshReport): TimerResult {
  return timerResult(report);
}
