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
import type { HttpRequest, HttpResponse } from '../gateway/http';
import {
  bodyText,
  isRecord,
  lastValues,
  leadingSlash,
  lowerHeaders,
  proxyResult,
  stringOrUndefined,
  upperMethod,
  type Json,
  type ProxyResult,
} from './shared';

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
export function scfHttpToRequest(event: Json, sourceIp: string | undefined): HttpRequest {
  const req: HttpRequest = {
    method: upperMethod(event.httpMethod),
    path: leadingSlash(event.path),
    query: lastValues(event.queryString),
    headers: lowerHeaders(event.headers),
    body: bodyText(event.body, event.isBase64Encoded),
  };
  if (sourceIp !== undefined) req.sourceIp = sourceIp;
  return req;
}

export function toRequest(event: unknown): HttpRequest {
  const e = isRecord(event) ? event : {};
  const ctx = isRecord(e.requestContext) ? e.requestContext : {};
  return scfHttpToRequest(e, stringOrUndefined(ctx.sourceIp));
}

export type ScfHttpResult = ProxyResult;

export function toResult(res: HttpResponse): ScfHttpResult {
  return proxyResult(res);
}
