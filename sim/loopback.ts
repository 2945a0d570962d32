/**
 * The transport of the cloud API simulators (sim/tencentcloud.ts, sim/aws-secrets.ts): one
 * node:http server on 127.0.0.1 handing every request, body read, to one handler. Their
 * protocols route on headers, not paths, so the WeChat SimServer's path routes do not fit. docs/design.md §8.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Raw body bytes: signatures are computed over them. */
  body: Buffer;
}

export interface LoopbackResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class LoopbackServer {
  /** Requests received per operation, whatever their outcome. */
  private readonly counts = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    /** 127.0.0.1:PORT */
    readonly host: string,
  ) {}

  /**
   * `operationOf` names what a request asks for, for {@link calls}. `handle` may answer later
   * (a delay) or with 'drop': the socket is destroyed without an answer.
   */
  static async start(
    operationOf: (req: LoopbackRequest) => string,
    handle: (req: LoopbackRequest) => LoopbackResponse | 'drop' | Promise<LoopbackResponse | 'drop'>,
  ): Promise<LoopbackServer> {
    let loopback: LoopbackServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const request: LoopbackRequest = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        const operation = operationOf(request);
        loopback!.counts.set(operation, (loopback!.counts.get(operation) ?? 0) + 1);
        let out: LoopbackResponse | 'drop';
        try {
          out = await handle(request);
        } catch (err) {
          out = { status: 500, headers: { 'content-type': 'text/plain' }, body: String(err) };
        }
        if (out === 'drop') return void req.socket.destroy();
        if (res.destroyed) return;
        res
          .writeHead(out.status, { ...out.headers, 'content-length': String(Buffer.byteLength(out.body)) })
          .end(out.body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    loopback = new LoopbackServer(server, `127.0.0.1:${(server.address() as AddressInfo).port}`);
    return loopback;
  }

  /** Requests received for `operation` (all of them when omitted). */
  calls(operation?: string): number {
    if (operation !== undefined) return this.counts.get(operation) ?? 0;
    let n = 0;
    for (const count of this.counts.values()) n += count;
    return n;
  }

  resetCalls(): void {
    this.counts.clear();
  }

  get url(): string {
    return `http://${this.host}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

// Helpers both signature checks use.

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** The request body as a JSON object, or which of the two it is not. */
export function jsonObject(body: Buffer): Record<string, unknown> | 'not JSON' | 'not an object' {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    return 'not JSON';
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : 'not an object';
}
