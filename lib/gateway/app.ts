/**
 * The application core: one neutral request in, one response out, for every platform.
 * Routes (DESIGN §3.3), the envelope (§3.1) with realm authentication (§3.4), CORS, the body
 * limit, one structured log line per request, and the scheduled refresh.
 */
import { performance } from 'node:perf_hooks';
import type { CallContext } from '../credentials';
import { ApiError, findInterface, resolveApp, toApiError, wxConfig, type Services } from '../interfaces';
import { authenticateRealm } from './auth';
import { createCors } from './cors';
import { envelopeError, envelopeOk, jsonResponse, parseEnvelope, routeError } from './envelope';
import type { App, HttpRequest, HttpResponse, RefreshReport } from './http';
import { refreshAll } from './refresh';

const VERIFY_FILE = /^\/(?:MP|WW)_verify_([0-9A-Za-z]{16})\.txt$/;
// Our route, and jsdkd's spelling of it.
const JSAPI_CONFIG = /^\/jsapi\/(?:([^/]+)\/config|config\/([^/]+))$/;

interface Outcome {
  res: HttpResponse;
  /** Route or interface name for the log line. */
  label: string;
  returnCode?: number;
}

export function createApp(services: Services): App {
  const { config, log } = services;
  const cors = createCors(config.cors);

  async function http(req: HttpRequest): Promise<HttpResponse> {
    const started = performance.now();
    const call: CallContext = { caller: 'public', upstreamCalls: 0, deadline: started + config.upstream.budgetMs };
    const path = stripBase(req.path, config.basePath);
    let outcome: Outcome;
    try {
      outcome = await dispatch(req, path, call);
    } catch (err) {
      // dispatch answers every failure itself; this is the last guard against a crash.
      log.log('error', 'request_crashed', { path, error: String(err) });
      outcome = { res: routeError(new ApiError('internal', 'internal error')), label: 'crash' };
    }
    const res = outcome.res;
    Object.assign(res.headers, cors(req.headers.origin));
    log.log('info', 'request', {
      method: req.method,
      path,
      route: outcome.label,
      caller: call.caller,
      status: res.status,
      ...(outcome.returnCode === undefined ? {} : { returnCode: outcome.returnCode }),
      ms: Math.round((performance.now() - started) * 10) / 10,
      upstream: call.upstreamCalls,
    });
    return res;
  }

  async function dispatch(req: HttpRequest, path: string, call: CallContext): Promise<Outcome> {
    if (Buffer.byteLength(req.body) > config.maxBodyBytes) {
      const err = new ApiError('body_too_large', `the request body is larger than ${config.maxBodyBytes} bytes`);
      return path === '/' ? { res: envelopeError(err, 413), label: 'envelope', returnCode: err.returnCode } : { res: routeError(err), label: 'route' };
    }
    if (req.method === 'OPTIONS') return { res: { status: 204, headers: {}, body: '' }, label: 'preflight' };
    if (path === '/') return envelope(req, path, call);
    if (path === '/ping') return onlyGet(req, 'ping', () => jsonResponse({ pong: services.clock() }));
    const verify = VERIFY_FILE.exec(path);
    if (verify) {
      return onlyGet(req, 'verify_file', () => ({ status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: verify[1]! }));
    }
    const jsapi = JSAPI_CONFIG.exec(path);
    if (jsapi) return jsapiRoute(req, jsapi[1] ?? jsapi[2]!, call);
    return { res: routeError(new ApiError('not_found', `no route ${req.method} ${path}`)), label: 'not_found' };
  }

  function onlyGet(req: HttpRequest, label: string, answer: () => HttpResponse): Outcome {
    if (req.method === 'GET' || req.method === 'HEAD') return { res: answer(), label };
    return { res: withAllow(routeError(new ApiError('method_not_allowed', `${label} answers GET only`)), 'GET'), label };
  }

  async function envelope(req: HttpRequest, path: string, call: CallContext): Promise<Outcome> {
    if (req.method !== 'POST') {
      const err = new ApiError('method_not_allowed', 'the envelope API answers POST only');
      return { res: withAllow(envelopeError(err, 405), 'POST'), label: 'envelope', returnCode: err.returnCode };
    }
    let label = 'envelope';
    try {
      const { interfaceName, para } = parseEnvelope(req.body);
      const def = findInterface(interfaceName);
      if (!def) throw new ApiError('unknown_interface', `unknown interfaceName ${interfaceName}`);
      label = def.name;
      let realm = null;
      if (config.trustGateway) call.caller = 'gateway';
      else if (def.access !== 'public') {
        realm = await authenticateRealm(req, path, services);
        call.caller = realm.key;
        const allowed = def.access === 'admin' ? realm.admin : realm.interfaces.length === 0 || realm.interfaces.includes(def.name) || realm.admin;
        if (!allowed) throw new ApiError('interface_not_allowed', `realm ${realm.key} may not call ${def.name}`);
      }
      const data = await def.handle({ para, realm, call, services });
      return { res: envelopeOk(data), label, returnCode: 0 };
    } catch (err) {
      const e = toApiError(err);
      if (e.code === 'internal') log.log('error', 'interface_crashed', { interface: label, error: String(err) });
      return { res: envelopeError(e), label, returnCode: e.returnCode };
    }
  }

  /** jsdkd's route: the JSON (or form) body echoed with appId, timestamp, nonceStr and signature. */
  async function jsapiRoute(req: HttpRequest, appid: string, call: CallContext): Promise<Outcome> {
    if (req.method !== 'POST') return { res: withAllow(routeError(new ApiError('method_not_allowed', 'answers POST only')), 'POST'), label: 'jsapi_config' };
    try {
      // appids are plain [0-9A-Za-z]: no percent-decoding needed, and a malformed escape is just an unknown app
      const app = resolveApp(services, null, appid, ['mp']);
      const data = await wxConfig(services, app, parseRouteBody(req), call);
      return { res: jsonResponse(data), label: 'jsapi_config' };
    } catch (err) {
      return { res: routeError(toApiError(err)), label: 'jsapi_config' };
    }
  }

  return {
    http,
    refresh: (): Promise<RefreshReport> => refreshAll(services),
    close: () => services.store.close(),
  };
}

function stripBase(path: string, base: string): string {
  if (base && (path === base || path.startsWith(base + '/'))) return path.slice(base.length) || '/';
  return path;
}

function withAllow(res: HttpResponse, allow: string): HttpResponse {
  res.headers.allow = allow;
  return res;
}

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
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('not_json', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}
