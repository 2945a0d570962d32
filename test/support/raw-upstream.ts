/**
 * Test support only: a tiny raw node:http server that answers fixed bodies and records what it received.
 * It proves transport parsing; protocol behaviour is tested against the simulator (sim/). docs/design.md §7, §9.
 */
import { expect } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status?: number;
  contentType?: string;
  body: string;
  /** Wait this long before sending the status line and headers. */
  delayMs?: number;
  /** Send the headers at once, then wait this long before sending the body. */
  bodyDelayMs?: number;
}

export interface Received {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Raw query string as sent (without '?'). */
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface TestUpstream {
  /** e.g. http://127.0.0.1:54321 (no trailing slash) */
  base: string;
  received: Received[];
  /** Replies by path; the path '*' answers any other path. */
  reply(path: string, r: Reply): void;
  close(): Promise<void>;
}

export async function startTestUpstream(): Promise<TestUpstream> {
  const replies = new Map<string, Reply>();
  const received: Received[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      received.push({
        method: req.method ?? '',
        path: u.pathname,
        query: Object.fromEntries(u.searchParams),
        rawQuery: u.search.replace(/^\?/, ''),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const r = replies.get(u.pathname) ?? replies.get('*') ?? { status: 404, body: '' };
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(r.status ?? 200, { 'content-type': r.contentType ?? 'application/json' });
        if (r.bodyDelayMs) {
          res.flushHeaders();
          later(r.bodyDelayMs, () => {
            if (!res.destroyed) res.end(r.body);
          });
        } else {
          res.end(r.body);
        }
      };
      if (r.delayMs) later(r.delayMs, send);
      else send();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    base: `http://127.0.0.1:${port}`,
    received,
    reply: (path, r) => void replies.set(path, r),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A base URL on which nothing listens: a port that was just bound and released. */
export async function closedPortBase(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The rejection of `p`; fails the test if `p` resolves. */
export async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/**
 * Asserts that a client error says nothing of the request it failed on: not the secret, not
 * the token, not the host (message, stack, string and JSON forms, and any cause).
 */
export function expectNoLeak(err: unknown, secrets: string[]): void {
  expect(err).toBeInstanceOf(Error);
  const e = err as Error;
  const text = [
    e.message,
    String(e.stack),
    String(e),
    JSON.stringify(e),
    String((e as { cause?: unknown }).cause),
  ].join('\n');
  for (const s of secrets) expect(text).not.toContain(s);
}
