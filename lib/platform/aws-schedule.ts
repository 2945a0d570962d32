/**
 * AWS EventBridge scheduled rule (Serverless Framework `schedule` event without `input`).
 *
 * Event (AWS docs "Scheduled Event"; the same sample is the fixture added by
 * aws/aws-lambda-rust-runtime commit 5dcad20):
 *   { version: '0', id, 'detail-type': 'Scheduled Event', source: 'aws.events', account, time,
 *     region, resources: [ruleArn], detail: {} }
 * Lambda only records what an asynchronous invocation returns; we return the refresh report.
 * A schedule configured with a custom `input` replaces this event and is not recognised.
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
