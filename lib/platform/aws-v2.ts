/**
 * AWS API Gateway HTTP API (payload format 2.0) and Lambda Function URLs (same format).
 *
 * Event (docs.aws.amazon.com/apigateway "Create AWS Lambda proxy integrations for HTTP APIs",
 * docs.aws.amazon.com/lambda "Invoking Lambda function URLs"; samples:
 * aws-powertools/powertools-lambda-typescript packages/parser/tests/events/apigw-http/no-auth.json,
 * packages/parser/tests/events/lambda/base.json):
 *   { version: '2.0', routeKey, rawPath, rawQueryString, cookies?, headers,
 *     queryStringParameters?, requestContext: { http: { method, path, sourceIp, ... }, stage, ... },
 *     body?, isBase64Encoded }
 * Repeated headers arrive already comma-joined; cookies arrive apart, in `cookies`, and go
 * back into a `cookie` header. The query comes from `rawQueryString` (queryStringParameters
 * comma-joins repeats). `rawPath` includes a non-default stage, as the client sent it.
 * Result: { statusCode, headers, cookies?, body, isBase64Encoded: false }: the 2.0 format sets
 * cookies through `cookies`, not a set-cookie header.
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
