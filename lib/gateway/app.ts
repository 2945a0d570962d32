/**
 * The application core: one neutral request in, one response out, for every platform.
 * Routes (docs/design.md §3.3), the envelope (§3.1) with realm authentication (§3.4), CORS, the body
 * limit, one structured log line per request, and the scheduled refresh.
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/types';
import type { CallContext } from '../credentials';
import { ApiError, findInterface, toApiError, type Services } from '../interfaces';
import { crashFields } from '../log/crash';
import { observeUpstream } from '../wechat/http';
import { authenticateRealm, authorizeScope } from './auth';
import { clientAddress } from './client-address';
import { createCors } from './cors';
import { envelopeError, envelopeOk, parseEnvelope, routeError } from './envelope';
import type { App, HttpRequest, HttpResponse, RefreshReport, ServerLimits } from './http';
import { refreshAll } from './refresh';
import { ROUTES, type Route } from './routes';
import { sharedGauges } from './routes/metrics';

interface Outcome {
  res: HttpResponse;
  /** Route or interface name for the log line. */
  label: string;
  returnCode?: number;
  /** The error's code (metrics); absent for an answer that is not an error. */
  error?: string;
}

export function createApp(services: Services): App {
  const { config, log, metrics } = services;
  const cors = createCors(config.cors);
  const unobserve = metrics ? observeUpstream(metrics) : () => {};

  async function http(req: HttpRequest): Promise<HttpResponse> {
    const started = performance.now();
    const call: CallContext = { caller: 'public', upstreamCalls: 0, deadline: started + config.upstream.budgetMs };
    const path = stripBase(req.path, config.basePath);
    let outcome: Outcome;
    try {
      outcome = await dispatch(req, path, call);
    } catch (err) {
      // dispatch answers every failure itself; this is the last guard against a crash.
      log.log('error', 'request_crashed', { path, ...crashFields(err) });
      outcome = { res: routeError(new ApiError('internal', 'internal error')), label: 'crash', error: 'internal' };
    }
    const res = outcome.res;
    Object.assign(res.headers, cors(req.headers.origin));
    const ms = performance.now() - started;
    metrics?.request(outcome.label, outcome.error ?? (res.status < 400 ? 'ok' : String(res.status)), ms / 1000);
    log.log('info', 'request', {
      method: req.method,
      path,
      route: outcome.label,
      caller: call.caller,
      status: res.status,
      ...(outcome.returnCode === undefined ? {} : { returnCode: outcome.returnCode }),
      ms: Math.round(ms * 10) / 10,
      upstream: call.upstreamCalls,
    });
    return res;
  }

  async function dispatch(req: HttpRequest, path: string, call: CallContext): Promise<Outcome> {
    if ((req.bytes?.length ?? Buffer.byteLength(req.body)) > config.maxBodyBytes) {
      const err = new ApiError('body_too_large', `the request body is larger than ${config.maxBodyBytes} bytes`);
      return path === '/'
        ? { res: envelopeError(err, 413), label: 'envelope', returnCode: err.returnCode, error: err.code }
        : { res: routeError(err), label: 'route', error: err.code };
    }
    if (req.method === 'OPTIONS') return { res: { status: 204, headers: {}, body: '' }, label: 'preflight' };
    if (path === '/') return envelope(req, path, call);
    for (const route of ROUTES) {
      const params = route.match(path);
      if (params) return serveRoute(route, req, path, params, call);
    }
    const err = new ApiError('not_found', `no route ${req.method} ${path}`);
    return { res: routeError(err), label: 'not_found', error: err.code };
  }

  async function serveRoute(
    route: Route,
    req: HttpRequest,
    path: string,
    params: Record<string, string>,
    call: CallContext,
  ): Promise<Outcome> {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (!(route.methods as readonly string[]).includes(method)) {
      const err = new ApiError('method_not_allowed', `${route.label} answers ${route.methods.join(', ')} only`);
      return { res: withAllow(routeError(err), route.methods.join(', ')), label: route.label, error: err.code };
    }
    try {
      return { res: await route.handle({ req, path, params, call, services }), label: route.label };
    } catch (err) {
      const e = toApiError(err);
      if (e.code === 'internal') log.log('error', 'route_crashed', { route: route.label, ...crashFields(err) });
      return { res: routeError(e), label: route.label, error: e.code };
    }
  }

  async function envelope(req: HttpRequest, path: string, call: CallContext): Promise<Outcome> {
    if (req.method !== 'POST') {
      const err = new ApiError('method_not_allowed', 'the envelope API answers POST only');
      const res = withAllow(envelopeError(err, 405), 'POST');
      return { res, label: 'envelope', returnCode: err.returnCode, error: err.code };
    }
    let label = 'envelope';
    try {
      const { interfaceName, para } = parseEnvelope(req.body);
      const def = findInterface(interfaceName);
      if (!def) throw new ApiError('unknown_interface', `unknown interfaceName ${interfaceName}`);
      label = def.name;
      let realm = null;
      // A trusted gateway vouches for callers of every interface but the admin ones, unless told so too.
      if (config.trustGateway && (def.access !== 'admin' || config.trustGatewayAdmin)) call.caller = 'gateway';
      else if (def.access !== 'public') {
        realm = await authenticateRealm(req, path, services);
        call.caller = realm.key;
        if (def.access === 'admin' && !realm.admin)
          throw new ApiError('interface_not_allowed', `realm ${realm.key} may not call ${def.name}`);
        authorizeScope(realm, def.access === 'admin' ? def.name : (def.scope?.(para) ?? def.aliasOf ?? def.name));
      }
      const client = clientAddress(req, config.clients.addressHeader);
      const data = await def.handle({ para, realm, call, services, ...(client === undefined ? {} : { client }) });
      return { res: envelopeOk(data), label, returnCode: 0 };
    } catch (err) {
      const e = toApiError(err);
      if (e.code === 'internal') log.log('error', 'interface_crashed', { interface: label, ...crashFields(err) });
      return { res: envelopeError(e), label, returnCode: e.returnCode, error: e.code };
    }
  }

  return {
    limits: serverLimits(config),
    http,
    refresh: (): Promise<RefreshReport> => refreshAll(services),
    async metricsLine(shared) {
      if (!metrics || !config.metrics.log) return null;
      return metrics.emf(shared ? await sharedGauges(services) : [], services.clock());
    },
    close: () => {
      unobserve();
      return services.store.close();
    },
  };
}

/** What a node:http server in front may allow a client, from the configuration. */
export function serverLimits(config: Config): ServerLimits {
  return { maxBodyBytes: config.maxBodyBytes, ...config.http };
}

function stripBase(path: string, base: string): string {
  if (base && (path === base || path.startsWith(`${base}/`))) return path.slice(base.length) || '/';
  return path;
}

function withAllow(res: HttpResponse, allow: string): HttpResponse {
  res.headers.allow = allow;
  return res;
}
