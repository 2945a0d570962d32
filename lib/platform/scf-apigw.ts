/**
 * Tencent SCF, API-gateway trigger (integration response on): the query from `queryString` (every parameter), `path`
 * below the environment. The Function-URL event is this shape minus requestContext & co, so `scf-url` reuses
 * `scfHttpToRequest` and `toResult` from here. The event's shape and where Tencent documents it: docs/design.md §4.
 */
import type { HttpRequest } from '../gateway/http';
import { isRecord, lastValues, lowerHeaders, proxyRequest, proxyResult, type Json } from './shared';

export const name = 'scf-apigw';

export function matches(event: unknown): boolean {
  return (
    isRecord(event) &&
    typeof event.httpMethod === 'string' &&
    isRecord(event.requestContext) &&
    typeof event.requestContext.serviceId === 'string'
  );
}

/** The SCF HTTP event fields shared by the API-gateway and Function-URL triggers. */
export function scfHttpToRequest(event: Json, sourceIp: unknown): HttpRequest {
  return proxyRequest({
    method: event.httpMethod,
    path: event.path,
    query: lastValues(event.queryString),
    headers: lowerHeaders(event.headers),
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
    sourceIp,
  });
}

export function toRequest(event: unknown): HttpRequest {
  const e = isRecord(event) ? event : {};
  const ctx = isRecord(e.requestContext) ? e.requestContext : {};
  return scfHttpToRequest(e, ctx.sourceIp);
}

export const toResult = proxyResult;
