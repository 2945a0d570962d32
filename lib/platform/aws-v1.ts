/**
 * AWS API Gateway REST API (Lambda proxy integration, payload 1.0; also HTTP APIs with payload format 1.0). The path is
 * `path`, below the stage, so routes and realm signatures do not depend on how the API is reached. The event's shape
 * and where AWS documents it: docs/design.md §4.
 */
import type { HttpRequest } from '../gateway/http';
import { isRecord, lastValues, lowerHeaders, proxyRequest, proxyResult } from './shared';

export const name = 'aws-v1';

export function matches(event: unknown): boolean {
  return (
    isRecord(event) &&
    typeof event.httpMethod === 'string' &&
    event.version !== '2.0' &&
    isRecord(event.requestContext) &&
    typeof event.requestContext.apiId === 'string' &&
    !('serviceId' in event.requestContext)
  );
}

export function toRequest(event: unknown): HttpRequest {
  const e = isRecord(event) ? event : {};
  const ctx = isRecord(e.requestContext) ? e.requestContext : {};
  const identity = isRecord(ctx.identity) ? ctx.identity : {};
  return proxyRequest({
    method: e.httpMethod,
    path: e.path,
    query: lastValues(
      isRecord(e.multiValueQueryStringParameters) ? e.multiValueQueryStringParameters : e.queryStringParameters,
    ),
    headers: lowerHeaders(isRecord(e.multiValueHeaders) ? e.multiValueHeaders : e.headers),
    body: e.body,
    isBase64Encoded: e.isBase64Encoded,
    sourceIp: identity.sourceIp,
  });
}

export const toResult = proxyResult;
