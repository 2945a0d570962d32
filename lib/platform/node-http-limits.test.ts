/**
 * What node:http bounds for strangers (docs/design.md §4): slow headers and bodies end within their
 * timeouts, bodies in flight share one memory budget, connections have a cap, idle keep-alive
 * sockets close soon.
 */
import type http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { App, ServerLimits } from '../gateway/http';
import { createNodeServer, listen } from './node-http';

const MAX = 4096;
const LIMITS: ServerLimits = {
  maxBodyBytes: MAX,
  headersTimeoutSeconds: 1,
  requestTimeoutSeconds: 1,
  keepAliveTimeoutSeconds: 1,
  maxConnections: 100,
  maxBodyBytesInFlight: 8 * MAX,
};

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function start(limits: Partial<ServerLimits> = {}) {
  const seen: string[] = [];
  const app: App = {
    limits: { ...LIMITS, ...limits },
    async http(req) {
      seen.push(req.body);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
    },
    refresh: async () => ({ checked: 0, refreshed: 0, failed: [] }),
    async close() {},
  };
  const server = createNodeServer(app);
  servers.push(server);
  const base = await listen(server, 0, '127.0.0.1');
  return { seen, base, port: Number(new URL(base).port) };
}

/** A socket that writes `text`; resolves once the server closes it: what it answered and after how many ms. */
function stall(port: number, text: string): Promise<{ answer: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    let answer = '';
    s.on('data', (d) => (answer += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve({ answer, ms: performance.now() - started }));
  });
}

const head = (length: number) => `POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: ${length}\r\n\r\n`;
const status = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

describe('slow clients', () => {
  it('closes connections one byte short of their Content-Length at requestTimeoutSeconds, with a 408', async () => {
    const { port, seen } = await start({ maxBodyBytesInFlight: 64 * MAX });
    const ends = await Promise.all(Array.from({ length: 30 }, () => stall(port, head(MAX) + 'a'.repeat(MAX - 1))));
    for (const end of ends) {
      expect(status(end.answer)).toBe(408);
      expect(end.ms).toBeLessThan(1000 + 1000 + 1500); // the timeout, one check interval, slack
    }
    expect(seen).toEqual([]);
  });

  it('closes a connection that never finishes its headers at headersTimeoutSeconds', async () => {
    const { port } = await start({ requestTimeoutSeconds: 5 });
    const end = await stall(port, 'POST /x HTTP/1.1\r\nHost: h\r\nX-Slow: ');
    expect(status(end.answer)).toBe(408);
    expect(end.ms).toBeLessThan(1000 + 1000 + 1500);
  });

  it('answers 503 and closes once the bodies in flight would pass maxBodyBytesInFlight; their memory comes back', async () => {
    const { port, base, seen } = await start({ requestTimeoutSeconds: 3, headersTimeoutSeconds: 2 });
    const sockets: net.Socket[] = [];
    const answers: Promise<{ answer: string; ms: number }>[] = [];
    for (let i = 0; i < 20; i++) {
      answers.push(
        new Promise((resolve) => {
          const started = performance.now();
          const s = net.connect(port, '127.0.0.1', () => s.write(head(MAX) + 'a'.repeat(MAX - 1)));
          sockets.push(s);
          let answer = '';
          s.on('data', (d) => (answer += d.toString('latin1')));
          s.on('error', () => {});
          s.on('close', () => resolve({ answer, ms: performance.now() - started }));
        }),
      );
      await new Promise((r) => setTimeout(r, 10)); // one after the other: which ones are refused is certain
    }
    await new Promise((r) => setTimeout(r, 200));
    const refused = await Promise.all(answers.slice(8));
    for (const r of refused) {
      expect(status(r.answer)).toBe(503);
      expect(r.answer).toContain('"code":"overloaded"');
      expect(r.ms).toBeLessThan(1000);
    }
    // The eight within the budget still wait; once their clients give up, the budget is whole again.
    for (const s of sockets.slice(0, 8)) expect(s.destroyed).toBe(false);
    for (const s of sockets.slice(0, 8)) s.destroy();
    await Promise.all(answers.slice(0, 8));
    const bodies = await Promise.all(
      Array.from({ length: 8 }, () => fetch(`${base}/x`, { method: 'POST', body: 'b'.repeat(MAX) })),
    );
    expect(bodies.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(seen).toHaveLength(8);
  });

  it('refuses connections beyond maxConnections', async () => {
    const { port, base } = await start({ maxConnections: 3, requestTimeoutSeconds: 5, headersTimeoutSeconds: 5 });
    const held = Array.from({ length: 3 }, () => net.connect(port, '127.0.0.1'));
    await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
    await new Promise((r) => setTimeout(r, 50));
    const extra = await stall(port, 'GET /ping HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(extra.answer).toBe('');
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${base}/ping`)).status).toBe(200);
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutSeconds', async () => {
    const { port } = await start();
    const end = await stall(port, 'GET /ping HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(status(end.answer)).toBe(200);
    expect(end.answer.toLowerCase()).toContain('keep-alive: timeout=1');
    expect(end.ms).toBeLessThan(1000 + 1000 + 700); // node:http waits a second longer than it announces
  });
});
