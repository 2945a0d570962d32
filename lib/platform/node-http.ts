/**
 * The local / SCF web-function server: node:http in front of the same App, the request target as sent. It bounds what
 * a stranger can hold (body size, header and request time, connections, body bytes in flight: config.http) and answers
 * 413, 408 and 503 itself (docs/design.md §4).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App, HttpRequest, HttpResponse, ServerLimits } from '../gateway/http';
import { errorResponse, parseQueryString, type PlatformLogger } from './shared';

const EMPTY = Buffer.alloc(0);
/** How often node:http looks for requests past their timeouts (its default is 30 s). */
const TIMEOUT_CHECK_MS = 1000;

/** The App's limits (App.limits), and what tests may change beside them. */
export interface NodeServerOptions extends ServerLimits {
  /**
   * How much of a refused (413) body is read and thrown away so the client sees the 413
   * before the connection is closed. Default max(maxBodyBytes, 1 MiB).
   */
  drainLimitBytes?: number;
  logger?: PlatformLogger;
}

type BodyOutcome = { ok: true; bytes: Buffer } | { ok: false; reason: 'too_large' | 'overloaded' };

function tooLargeResponse(max: number): HttpResponse {
  return errorResponse(413, 'body_too_large', `request body exceeds ${max} bytes`);
}

/** The bytes of request bodies held at once, all requests together: each takes its part, and gives it back when done. */
interface BodyBudget {
  take(bytes: number): boolean;
  give(bytes: number): void;
}

function bodyBudget(total: number): BodyBudget {
  let held = 0;
  return {
    take(bytes) {
      if (held + bytes > total) return false;
      held += bytes;
      return true;
    },
    give(bytes) {
      held -= bytes;
    },
  };
}

/**
 * Reads the body into memory, never holding more than `max` bytes, each chunk taken from
 * `budget` (`held` tells the caller how much to give back). A client that goes away mid-body
 * never resolves: the pending read dies with its socket, and nothing is answered.
 */
function readBody(
  req: http.IncomingMessage,
  max: number,
  budget: BodyBudget,
  held: { bytes: number },
): Promise<BodyOutcome> {
  if (req.complete) return Promise.resolve({ ok: true, bytes: EMPTY }); // no body at all (GET)
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (reason: 'too_large' | 'overloaded') => {
      req.off('data', onData);
      req.off('end', onEnd);
      resolve({ ok: false, reason });
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) return stop('too_large');
      if (!budget.take(chunk.length)) return stop('overloaded');
      held.bytes += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => resolve({ ok: true, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    req.on('data', onData);
    req.on('end', onEnd);
  });
}

function toHttpRequest(req: http.IncomingMessage, bytes: Buffer): HttpRequest {
  let target = req.url ?? '/';
  // absolute-form request target (a proxy request): keep only path and query
  if (!target.startsWith('/')) {
    try {
      const u = new URL(target);
      target = u.pathname + u.search;
    } catch {
      target = `/${target}`;
    }
  }
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? {} : parseQueryString(target.slice(q + 1));

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }

  const out: HttpRequest = {
    method: (req.method ?? 'GET').toUpperCase(),
    path: path || '/',
    query,
    headers,
    body: bytes.toString('utf8'),
  };
  if (bytes.length > 0) out.bytes = bytes;
  const ip = req.socket.remoteAddress;
  if (ip) out.sourceIp = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  return out;
}

function send(res: http.ServerResponse, r: HttpResponse): void {
  if (res.headersSent || res.destroyed) {
    if (!res.writableEnded) res.end();
    return;
  }
  // Header names are lower-case by the HttpResponse contract.
  if (r.status !== 204 && r.status !== 304) r.headers['content-length'] = String(Buffer.byteLength(r.body));
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}

export function createNodeServer(app: App, overrides: Partial<NodeServerOptions> = {}): http.Server {
  const opts: NodeServerOptions = { ...app.limits, ...overrides };
  const max = opts.maxBodyBytes;
  const drainLimit = opts.drainLimitBytes ?? Math.max(max, 1024 * 1024);
  const logger = opts.logger;
  const budget = bodyBudget(opts.maxBodyBytesInFlight);

  const logFailure = (err: unknown) => {
    try {
      logger?.log('error', 'platform.http_failed', {
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
    } catch {
      // never let logging break the server
    }
  };

  /** Answer 413, then discard what is still coming, up to drainLimit, before closing. */
  const refuse = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const declared = Number(req.headers['content-length']);
    const close = req.complete ? false : Number.isFinite(declared) && declared > drainLimit;
    if (close) res.shouldKeepAlive = false;
    if (!req.complete && !close) {
      let drained = 0;
      req.on('data', (chunk: Buffer) => {
        drained += chunk.length; // read and dropped
        if (drained > drainLimit) req.socket.destroy();
      });
    }
    send(res, tooLargeResponse(max));
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      refuse(req, res);
      return;
    }
    // The body's bytes are held until the answer is out, or the connection gone.
    const held = { bytes: 0 };
    res.once('close', () => budget.give(held.bytes));
    const outcome = await readBody(req, max, budget, held);
    if (!outcome.ok && outcome.reason === 'overloaded') {
      res.shouldKeepAlive = false;
      const busy = errorResponse(503, 'overloaded', 'the server holds too many request bodies: retry shortly');
      busy.headers['retry-after'] = '1';
      send(res, busy);
      return;
    }
    if (!outcome.ok) {
      refuse(req, res);
      return;
    }
    const response = await app.http(toHttpRequest(req, outcome.bytes));
    send(res, response);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.on('error', () => {}); // aborted uploads surface as 'close'; never crash on them
    res.on('error', () => {});
    handle(req, res).catch((err: unknown) => {
      logFailure(err);
      try {
        if (!res.headersSent) {
          send(res, errorResponse(500, 'internal', 'internal error'));
        } else if (!res.writableEnded) {
          res.destroy();
        }
      } catch {
        res.destroy();
      }
    });
  };

  const server = http.createServer(
    {
      keepAlive: true,
      headersTimeout: opts.headersTimeoutSeconds * 1000,
      requestTimeout: opts.requestTimeoutSeconds * 1000,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    onRequest,
  );
  server.keepAliveTimeout = opts.keepAliveTimeoutSeconds * 1000;
  server.maxConnections = opts.maxConnections;

  // `Expect: 100-continue` with a body that is already too large: refuse before it is sent.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      req.on('error', () => {});
      res.on('error', () => {});
      res.shouldKeepAlive = false;
      send(res, tooLargeResponse(max));
      return;
    }
    res.writeContinue();
    onRequest(req, res);
  });

  return server;
}

/** Starts listening; resolves to the base URL (unspecified hosts shown as loopback). */
export function listen(server: http.Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address() as AddressInfo;
      let h = addr.address;
      if (h === '0.0.0.0') h = '127.0.0.1';
      if (h === '::') h = '::1';
      resolve(`http://${h.includes(':') ? `[${h}]` : h}:${addr.port}`);
    });
  });
}
