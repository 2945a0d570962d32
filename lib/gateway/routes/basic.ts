/** Liveness, domain verification files and jsdkd's wx.config route. docs/design.md §3.3. */
import { ApiError, resolveApp, wxConfig } from '../../interfaces';
import { jsonResponse, MAX_JSON_DEPTH, nestedDeeperThan } from '../envelope';
import type { HttpRequest } from '../http';
import { defineRoute } from './types';

export const ping = defineRoute({
  label: 'ping',
  paths: ['/ping'],
  methods: ['GET'],
  handle: ({ services }) => jsonResponse({ pong: services.clock() }),
});

/**
 * MP_verify_ / WW_verify_ files named in config `verifyFiles` (any name with `*`, as jsdkd did): the
 * 16 characters of the name, as text. Answering any name would let anyone verify this domain for
 * an account of their own.
 */
export const verifyFile = defineRoute({
  label: 'verify_file',
  paths: ['/MP_verify_:code([0-9A-Za-z]{16}).txt', '/WW_verify_:code([0-9A-Za-z]{16}).txt'],
  methods: ['GET'],
  handle: ({ path, params, services }) => {
    const listed = services.config.verifyFiles;
    if (!listed.includes('*') && !listed.includes(path.slice(1)))
      throw new ApiError('not_found', 'no such verification file (config verifyFiles)');
    return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: params.code };
  },
});

/** Our route, and jsdkd's spelling of it: the JSON (or form) body echoed with appId, timestamp, nonceStr and signature. */
export const jsapiConfig = defineRoute({
  label: 'jsapi_config',
  paths: ['/jsapi/:appid/config', '/jsapi/config/:appid'],
  methods: ['POST'],
  async handle({ req, params, call, services }) {
    // appids are plain [0-9A-Za-z]: no percent-decoding needed, and a malformed escape is just an unknown app
    const app = await resolveApp(services, null, params.appid, ['mp']);
    return jsonResponse(await wxConfig(services, app, parseRouteBody(req), call));
  },
});

/** A JSON object, or an HTML form's urlencoded fields. */
function parseRouteBody(req: HttpRequest): Record<string, unknown> {
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(req.body));
  let body: unknown;
  try {
    body = JSON.parse(req.body || '{}');
  } catch {
    throw new ApiError('not_json', 'the request body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ApiError('not_json', 'the request body must be a JSON object');
  if (nestedDeeperThan(body, MAX_JSON_DEPTH))
    throw new ApiError('bad_para', `the request body is nested more than ${MAX_JSON_DEPTH} levels deep`);
  return body as Record<string, unknown>;
}
