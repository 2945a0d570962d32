/**
 * Which platform sent this event? Each adapter's `matches` excludes the others (tested with every recorded sample),
 * and they are tried in a fixed order; anything else is `unknown`, which the serverless handler answers with a
 * 400-style result. The order and what each adapter recognises: docs/design.md §4.
 */
import type { HttpRequest, HttpResponse, RefreshReport } from '../gateway/http';
import * as awsSchedule from './aws-schedule';
import * as awsV1 from './aws-v1';
import * as awsV2 from './aws-v2';
import * as scfApigw from './scf-apigw';
import * as scfTimer from './scf-timer';
import * as scfUrl from './scf-url';
import type { ProxyResult, TimerResult } from './shared';

export type HttpEventSource = 'aws-v2' | 'scf-apigw' | 'aws-v1' | 'scf-url';
export type TimerEventSource = 'scf-timer' | 'aws-schedule';
export type EventSource = HttpEventSource | TimerEventSource;

/** What an HTTP invocation returns to its platform (all four share one shape today). */
export type HttpResult = ProxyResult;
export type { ProxyResult, TimerResult };

interface HttpAdapter {
  name: HttpEventSource;
  matches(event: unknown): boolean;
  toRequest(event: unknown): HttpRequest;
  toResult(res: HttpResponse): HttpResult;
}

interface TimerAdapter {
  name: TimerEventSource;
  matches(event: unknown): boolean;
  toResult(report: RefreshReport): TimerResult;
}

export type AdaptedEvent =
  | { kind: 'http'; source: HttpEventSource; request: HttpRequest; toResult(res: HttpResponse): HttpResult }
  | { kind: 'timer'; source: TimerEventSource; toResult(report: RefreshReport): TimerResult }
  | { kind: 'unknown' };

const httpAdapters: readonly HttpAdapter[] = [awsV2, scfApigw, awsV1, scfUrl];
const timerAdapters: readonly TimerAdapter[] = [scfTimer, awsSchedule];

/** Every adapter, in detection order (for tests that check detection is unambiguous). */
export const adapters: readonly { name: EventSource; matches(event: unknown): boolean }[] = [
  ...httpAdapters,
  ...timerAdapters,
];

/** Classify an event and, for HTTP events, convert it to the neutral request. Never throws. */
export function adaptEvent(event: unknown): AdaptedEvent {
  try {
    for (const a of httpAdapters) {
      if (a.matches(event)) return { kind: 'http', source: a.name, request: a.toRequest(event), toResult: a.toResult };
    }
    for (const a of timerAdapters) {
      if (a.matches(event)) return { kind: 'timer', source: a.name, toResult: a.toResult };
    }
  } catch {
    // a malformed event that looked like a known one: treat it as unknown
  }
  return { kind: 'unknown' };
}
