/**
 * Tencent SCF, Function URL (函数 URL) calling an event function.
 *
 * Event (cloud.tencent.com/document/product/583/96099, "函数 URL 概述 → 调用参数 → 事件函数"):
 * "compatible with the apigw protocol, without headerParameters, isBase64Encoded,
 * pathParameters, queryStringParameters, requestContext":
 *   { body, headers (lower-case; x-scf-remote-addr = client IP), httpMethod, path, queryString }
 * Result: the structured response { statusCode, headers, body } (we add isBase64Encoded:false,
 * as the API-gateway trigger expects), so the conversion is shared with `scf-apigw`.
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
