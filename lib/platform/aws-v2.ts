/**
 * AWS API Gateway HTTP API (payload format 2.0) and Lambda Function URLs (the same format): the query from
 * `rawQueryString`, cookies kept apart in `cookies` both ways, `rawPath` as the client sent it (a non-default stage
 * included). The event's shape and where AWS documents it: docs/design.md §4.
 */
import type { HttpRequest, HttpResponse } from '../gateway/http';
import {
  isRecord,
  lastValues,
  lowerHeaders,
  parseQueryString,
  proxyRequest,
  proxyResult,
  type ProxyResult,
} from './shared';

export const name = 'aws-v2';

export function matches(event: unknown): boolean {
  return (
    isRecord(event) &&
    event.version === '2.0' &&
    typeof event.rawPath === 'string' &&
    isRecord(event.requestContext) &&
    isRecord(event.requestContext.http)
  );
}

export function toRequest(event: unknown): HttpRequest {
  const e = isRecord(event) ? event : {};
  const ctx = isRecord(e.requestContext) ? e.requestContext : {};
  const http = isRecord(ctx.http) ? ctx.http : {};
  const headers = lowerHeaders(e.headers);
  if (Array.isArray(e.cookies)) {
    const cookies = e.cookies.filter((c): c is string => typeof c === 'string' && c !== '');
    if (cookies.length > 0) {
      const prev = headers.cookie;
      headers.cookie = [...(prev ? [prev] : []), ...cookies].join('; ');
    }
  }
  return proxyRequest({
    method: http.method,
    path: e.rawPath,
    query:
      typeof e.rawQueryString === 'string' && e.rawQueryString !== ''
        ? parseQueryString(e.rawQueryString)
        : lastValues(e.queryStringParameters),
    headers,
    body: e.body,
    isBase64Encoded: e.isBase64Encoded,
    sourceIp: http.sourceIp,
  });
}

export function toResult(res: HttpResponse): ProxyResult & { cookies?: string[] } {
  const result = proxyResult(res);
  const cookie = result.headers['set-cookie'];
  if (cookie === undefined) return result;
  delete result.headers['set-cookie'];
  return { ...result, cookies: [cookie] };
}
