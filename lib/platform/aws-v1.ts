/**
 * AWS API Gateway REST API (Lambda proxy integration, payload 1.0; HTTP APIs with payload
 * format 1.0 send the same shape with `version: '1.0'`).
 *
 * Event (docs.aws.amazon.com/apigateway "Input format of a Lambda function for proxy
 * integration"; samples: aws-powertools/powertools-lambda-typescript
 * packages/parser/tests/events/apigw-rest/*.json):
 *   { resource, path, httpMethod, headers, multiValueHeaders, queryStringParameters,
 *     multiValueQueryStringParameters, pathParameters, stageVariables,
 *     requestContext: { apiId, stage, path, identity: { sourceIp }, ... }, body, isBase64Encoded }
 * Any of the maps may be null (console test invocations send null headers).
 * `path` is the path below the stage (`/jsapi/...`), as on SCF's API gateway: `requestContext.path`
 * would add the stage on the execute-api domain and nothing on a custom domain, so routes and
 * realm signatures would depend on how the API is reached.
 * Result: { statusCode, headers, body, isBase64Encoded: false }.
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
