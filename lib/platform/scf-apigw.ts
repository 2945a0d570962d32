/**
 * Tencent SCF, API-gateway trigger (integration response on).
 *
 * Event (cloud.tencent.com/document/product/583/12513, "API 网关触发器的集成请求事件消息结构"):
 *   { requestContext: { serviceId, path, httpMethod, requestId, identity, sourceIp, stage },
 *     headers, body, pathParameters, queryStringParameters, headerParameters, stageVariables,
 *     path, queryString, httpMethod, isBase64Encoded? }
 * `queryString` holds every query parameter (`queryStringParameters` only the declared ones);
 * `path` is the request path below the environment (no `/release` prefix).
 * Result: { isBase64Encoded: false, statusCode, headers, body }.
 *
 * The Function-URL event is this shape minus requestContext & co, so `scf-url` reuses
 * `scfHttpToRequest` and `toResult` from here.
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
