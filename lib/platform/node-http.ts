/**
 * The local / SCF web-function server: node:http in front of the same App.
 *
 * - The path is the request target as sent (no dot-segment normalisation, no decoding);
 *   the query is decoded, last value wins; header names lower-case, repeats joined by Node.
 * - Bodies are read up to `maxBodyBytes`. A larger Content-Length is refused at once; a
 *   chunked body is refused the moment it passes the limit. Either way the answer is 413
 *   `{"error":{"code":"body_too_large",...}}` and nothing beyond the limit is kept: the rest
 *   of the body is discarded as it arrives (so the client can read the 413 and keep the
 *   connection), and past `drainLimitBytes` the connection is closed.
 * - A client that goes away mid-body is dropped quietly; the app is not called.
 * - An unexpected exception (the app never throws, but a bad header value can) is a 500
 *   `{"error":{"code":"internal",...}}`.
 * - HTTP keep-alive stays on, with an idle timeout longer than usual load-balancer ones.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App, HttpRequest, HttpResponse } from '../gateway/http';
import { errorResponse, parseQueryString, type PlatformLogger } from './shared';

export interface NodeServerOptions {
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /**
   * How much of a refused (413) body is read and thrown away so the client sees the 413
   * before the connection is closed. Default max(maxBodyBytes, 1 MiB).
   */
  drainLimitBytes?: number;
  /** Idle keep-alive timeout in ms. Default 65 000 (above the usual 60 s LB idle timeout). */
  keepAliveTimeoutMs?: number;
  logger?: PlatformLogger;
}

type BodyOutcome = { ok: true; body: string } | { ok: false; reason: 'too_large' };

function tooLargeResponse(max: number): HttpResponse {
  return errorResponse(413, 'body_too_large', `request body exceeds ${max} bytes`);
}

/**
 * Reads the body into memory, never holding more than `max` bytes. A client that goes away
 * mid-body never resolves: the pending read dies with its socket, and nothing is answered.
 */
function readBody(req: http.IncomingMessage, max: number): Promise<BodyOutcome> {
  if (req.complete) return Promise.resolve({ ok: true, body: '' }); // no body at all (GET)
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else {
        req.off('data', onData);
        req.off('end', onEnd);
        resolve({ ok: false, reason: 'too_large' });
      }
    };
    const onEnd = () =>
      resolve({
        ok: true,
        body: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'),
      });
    req.on('data', onData);
    req.on('end', onEnd);
  });
}

function toHttpRequest(req: http.IncomingMessage, body: string): HttpRequest {
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

  const out: HttpRequest = { method: (req.method ?? 'GET').toUpperCase(), path: path || '/', query, headers, body };
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

export function createNodeServer(app: App, opts: NodeServerOptions): http.Server {
  const max = opts.maxBodyBytes;
  const drainLimit = opts.drainLimitBytes ?? Math.max(max, 1024 * 1024);
  const logger = opts.logger;

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
    const outcome = await readBody(req, max);
    if (!outcome.ok) {
      refuse(req, res);
      return;
    }
    const response = await app.http(toHttpRequest(req, outcome.body));
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

  const server = http.createServer({ keepAlive: true }, onRequest);
  server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 65_000;

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
