/**
 * Tencent SCF, Function URL (函数 URL) calling an event function: the API-gateway shape without requestContext & co,
 * the client IP in `x-scf-remote-addr`, so the conversion is shared with `scf-apigw`. The event's shape and where
 * Tencent documents it: docs/design.md §4.
 */
import type { HttpRequest } from '../gateway/http';
import { scfHttpToRequest, toResult as scfResult } from './scf-apigw';
import { isRecord, stringOrUndefined } from './shared';

export const name = 'scf-url';

export function matches(event: unknown): boolean {
  return (
    isRecord(event) &&
    typeof event.httpMethod === 'string' &&
    typeof event.path === 'string' &&
    isRecord(event.headers) &&
    !('requestContext' in event) &&
    !('version' in event)
  );
}

export function toRequest(event: unknown): HttpRequest {
  const e = isRecord(event) ? event : {};
  const req = scfHttpToRequest(e, undefined);
  const ip = stringOrUndefined(req.headers['x-scf-remote-addr']);
  if (ip !== undefined) req.sourceIp = ip;
  return req;
}

export const toResult = scfResult;
