/**
 * The simulator's HTTP server: routing (`method path → handler`), call counters and fault
 * injection per endpoint. It knows nothing about WeChat semantics; modules (sim/mp.ts, ...)
 * bring routes. docs/design.md §8.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JSON_CONTENT_TYPE, errmsgOf } from './errors';
import type { Fault, Route, SimEndpoint, SimRequest, SimResponse } from './types';

const MAX_BODY = 1 << 20;

export class SimServer {
  private readonly routes: Route[] = [];
  /** `${endpoint}\0${appid}` → count ('' appid when unknown). */
  private readonly counts = new Map<string, number>();
  private readonly faults = new Map<SimEndpoint, Fault[]>();
  /** Pending delay faults: timer → resolve(aborted). */
  private readonly timers = new Map<NodeJS.Timeout, (aborted: boolean) => void>();
  private http: Server | undefined;
  private baseUrl = '';

  addRoutes(routes: Route[]): void {
    this.routes.push(...routes);
  }

  get url(): string {
    return this.baseUrl;
  }

  async listen(host = '127.0.0.1', port = 0): Promise<void> {
    const server = createServer((req, res) => {
      this.serve(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        } else res.destroy();
      });
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.http = server;
    const addr = server.address() as AddressInfo;
    this.baseUrl = `http://${host}:${addr.port}`;
  }

  async close(): Promise<void> {
    for (const [t, resolve] of this.timers) {
      clearTimeout(t);
      resolve(true);
    }
    this.timers.clear();
    const server = this.http;
    if (!server) return;
    this.http = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  // ---- counters ----

  calls(endpoint?: SimEndpoint, appid?: string): number {
    let n = 0;
    for (const [key, count] of this.counts) {
      const sep = key.indexOf('\0');
      if (endpoint !== undefined && key.slice(0, sep) !== endpoint) continue;
      if (appid !== undefined && key.slice(sep + 1) !== appid) continue;
      n += count;
    }
    return n;
  }

  resetCalls(): void {
    this.counts.clear();
  }

  // ---- faults ----

  fault(endpoint: SimEndpoint, fault: Fault, times = 1): void {
    const queue = this.faults.get(endpoint) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.faults.set(endpoint, queue);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  // ---- request handling ----

  private match(method: string, path: string): Route | undefined {
    let any: Route | undefined;
    for (const r of this.routes) {
      if (r.path !== path) continue;
      if (r.method === undefined) any ??= r;
      else if (r.method === method) return r;
    }
    return any;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const body = await readBody(req);
    if (body === undefined) {
      res.writeHead(413).end();
      return;
    }
    const route = this.match(method, url.pathname);
    if (!route) {
      res.writeHead(404, { 'content-length': '0' }).end();
      return;
    }
    const remote = req.socket.remoteAddress ?? '';
    const ip = remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
    const sreq: SimRequest = { method, path: url.pathname, query: url.searchParams, headers: req.headers, body, ip };

    let appid: string | undefined;
    try {
      appid = route.appidOf?.(sreq);
    } catch {
      appid = undefined;
    }
    const key = `${route.endpoint}\0${appid ?? ''}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);

    const fault = this.faults.get(route.endpoint)?.shift();
    if (fault) {
      if ('drop' in fault) {
        req.socket.destroy();
        return;
      }
      if ('http' in fault) {
        const html =
          fault.http >= 400
            ? `<html><head><title>${fault.http}</title></head><body><center><h1>${fault.http}</h1></center><hr><center>nginx</center></body></html>`
            : '';
        res
          .writeHead(fault.http, { 'content-type': 'text/html', 'content-length': String(Buffer.byteLength(html)) })
          .end(html);
        return;
      }
      if ('garbage' in fault) {
        const junk = '<html><body>system busy, please retry later</body></html>{"access_tok';
        res
          .writeHead(200, { 'content-type': JSON_CONTENT_TYPE, 'content-length': String(Buffer.byteLength(junk)) })
          .end(junk);
        return;
      }
      if ('errcode' in fault) {
        send(res, { status: 200, body: { errcode: fault.errcode, errmsg: errmsgOf(fault.errcode, fault.errmsg) } });
        return;
      }
      if ('delayMs' in fault) {
        const aborted = await this.sleep(fault.delayMs);
        if (aborted || res.destroyed) return;
      }
    }
    send(res, await route.handle(sreq));
  }

  /** Resolves true when the server was closed meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve(this.http === undefined);
      }, ms);
      this.timers.set(t, resolve);
    });
  }
}

function send(res: ServerResponse, r: SimResponse): void {
  if (res.destroyed) return;
  let text: string | Uint8Array = '';
  let type = r.contentType;
  if (typeof r.body === 'string' || r.body instanceof Uint8Array) text = r.body;
  else if (r.body !== undefined) {
    text = JSON.stringify(r.body);
    type ??= JSON_CONTENT_TYPE;
  }
  const headers: Record<string, string> = { ...r.headers, 'content-length': String(Buffer.byteLength(text)) };
  if (type) headers['content-type'] = type;
  res.writeHead(r.status ?? 200, headers).end(text);
}

/** The body as text, or undefined when it is larger than MAX_BODY. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}
