import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { App, HttpRequest, HttpResponse } from '../gateway/http';
import { createNodeServer, listen } from './node-http';

const MAX = 1024;

function fakeApp(respond?: (req: HttpRequest) => HttpResponse | Promise<HttpResponse>) {
  const seen: HttpRequest[] = [];
  const app: App = {
    async http(req) {
      seen.push(req);
      return respond
        ? respond(req)
        : { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
    },
    async refresh() {
      return { checked: 0, refreshed: 0, failed: [] };
    },
    async close() {},
  };
  return { app, seen };
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function start(app: App, opts: Partial<Parameters<typeof createNodeServer>[1]> = {}) {
  const server = createNodeServer(app, { maxBodyBytes: MAX, ...opts });
  servers.push(server);
  const base = await listen(server, 0, '127.0.0.1');
  return { server, base, port: Number(new URL(base).port) };
}

/** Writes raw bytes on a fresh socket; resolves with everything the server sent until it closed or `until` matched. */
function raw(port: number, write: (s: net.Socket) => void, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (until?.test(got)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.on('connect', () => write(s));
  });
}

describe('createNodeServer', () => {
  it('listen() resolves to the base URL', async () => {
    const { base } = await start(fakeApp().app);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('gives the app the neutral request, and passes status, headers and body back', async () => {
    const { app, seen } = fakeApp(() => ({
      status: 201,
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'x-wecred-trace': 'abc',
        'access-control-allow-origin': 'https://www.example.com',
      },
      body: '{"appId":"wx123","中":"文"}',
    }));
    const { base } = await start(app);
    const body = JSON.stringify({ url: 'https://www.example.com/页面?x=1#top' });
    const res = await fetch(`${base}/jsapi/wx123/config?debug=1&lang=zh_CN&lang=en&next=%2Fhome%3Fa%3D1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Wecred-Tag': 'a', origin: 'https://www.example.com' },
      body,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-wecred-trace')).toBe('abc');
    expect(res.headers.get('access-control-allow-origin')).toBe('https://www.example.com');
    expect(res.headers.get('connection')).toBe('keep-alive');
    expect(await res.text()).toBe('{"appId":"wx123","中":"文"}');

    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req).toMatchObject({
      method: 'POST',
      path: '/jsapi/wx123/config',
      query: { debug: '1', lang: 'en', next: '/home?a=1' },
      body,
      sourceIp: '127.0.0.1',
    });
    expect(req.headers).toMatchObject({
      'content-type': 'application/json',
      'x-wecred-tag': 'a',
      origin: 'https://www.example.com',
      'content-length': String(Buffer.byteLength(body)),
    });
    expect(req.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('keeps the path as sent and joins repeated headers', async () => {
    const { app, seen } = fakeApp();
    const { port } = await start(app);
    const out = await raw(port, (s) =>
      s.write('GET /a/../b%20c/?x=1&x=2&y HTTP/1.1\r\nHost: h\r\nX-Tag: a\r\nX-Tag: b\r\nConnection: close\r\n\r\n'),
    );
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/a/../b%20c/', query: { x: '2', y: '' }, body: '' });
    expect(seen[0]!.headers['x-tag']).toBe('a, b');
  });

  it('keeps connections alive across requests', async () => {
    const { app, seen } = fakeApp();
    const { port } = await start(app);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ reused: boolean; status: number }>((resolve, reject) => {
        const r = http.get({ port, host: '127.0.0.1', path: '/ping', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ reused: r.reusedSocket, status: res.statusCode ?? 0 }));
        });
        r.on('error', reject);
      });
    expect(await get()).toEqual({ reused: false, status: 200 });
    expect(await get()).toEqual({ reused: true, status: 200 });
    agent.destroy();
    expect(seen).toHaveLength(2);
  });

  it('accepts a body of exactly maxBodyBytes', async () => {
    const { app, seen } = fakeApp();
    const { base } = await start(app);
    const res = await fetch(`${base}/x`, { method: 'POST', body: 'a'.repeat(MAX) });
    expect(res.status).toBe(200);
    expect(seen[0]!.body).toHaveLength(MAX);
  });

  it('answers 413 when Content-Length is over the limit, without calling the app', async () => {
    const { app, seen } = fakeApp();
    const { base } = await start(app);
    const res = await fetch(`${base}/jsapi/wx123/config`, { method: 'POST', body: 'a'.repeat(MAX + 1) });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({
      error: { code: 'body_too_large', message: expect.stringContaining(String(MAX)) },
    });
    expect(seen).toHaveLength(0);
    // the server is fine afterwards
    expect((await fetch(`${base}/ping`)).status).toBe(200);
  });

  it('answers 413 at once to a huge declared Content-Length, before any body is sent', async () => {
    const { app, seen } = fakeApp();
    const { port } = await start(app);
    const out = await raw(
      port,
      (s) =>
        s.write(
          'POST /x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"a":',
        ),
      /body_too_large"/,
    );
    expect(out).toMatch(/^HTTP\/1\.1 413/);
    expect(out.toLowerCase()).toContain('connection: close');
    expect(seen).toHaveLength(0);
  });

  it('answers 413 to a chunked body that grows past the limit, without calling the app', async () => {
    const { app, seen } = fakeApp();
    const { port, base } = await start(app);
    const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { port, host: '127.0.0.1', method: 'POST', path: '/x', headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < MAX * 3) {
          sent += 256;
          if (!req.write('b'.repeat(256))) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body).error.code).toBe('body_too_large');
    expect(seen).toHaveLength(0);
    expect((await fetch(`${base}/ping`)).status).toBe(200);
  });

  it('closes a connection that keeps streaming after the 413, past drainLimitBytes', async () => {
    const { app, seen } = fakeApp();
    const { port, base } = await start(app, { drainLimitBytes: 4 * MAX });
    const closed = await new Promise<{ status: number; closed: boolean }>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      let status = 0;
      let timer: NodeJS.Timeout | undefined;
      s.on('data', (d) => {
        got += d.toString('latin1');
        status = Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? 0);
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(timer);
        resolve({ status, closed: true });
      });
      s.on('connect', () => {
        s.write('POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n');
        const chunk = `400\r\n${'c'.repeat(1024)}\r\n`;
        timer = setInterval(() => {
          if (!s.destroyed) s.write(chunk);
        }, 1);
      });
    });
    expect(closed).toEqual({ status: 413, closed: true });
    expect(seen).toHaveLength(0);
    expect((await fetch(`${base}/ping`)).status).toBe(200);
  });

  it('refuses an Expect: 100-continue upload that is too large before the body is sent', async () => {
    const { app, seen } = fakeApp();
    const { port } = await start(app);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/x',
        headers: { expect: '100-continue', 'content-length': String(MAX * 10) },
      });
      req.on('continue', () => reject(new Error('server asked for the body')));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    expect(status).toBe(413);
    expect(seen).toHaveLength(0);
  });

  it('accepts an Expect: 100-continue upload within the limit', async () => {
    const { app, seen } = fakeApp();
    const { port } = await start(app);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/x',
        headers: { expect: '100-continue', 'content-length': '5' },
      });
      req.on('continue', () => req.end('hello'));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    expect(status).toBe(200);
    expect(seen[0]!.body).toBe('hello');
  });

  it('survives clients that abort mid-body (declared length and chunked)', async () => {
    const { app, seen } = fakeApp();
    const { port, base } = await start(app);
    const abortAfter = (head: string, part: string) =>
      new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.write(head + part, () => setTimeout(() => s.destroy(), 20));
        });
        s.on('error', () => {});
        s.on('close', () => resolve());
      });
    await abortAfter('POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 500\r\n\r\n', '{"partial":');
    await abortAfter('POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n', '5\r\nhello\r\n');
    // fetch aborted while streaming its body
    const controller = new AbortController();
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"a":'));
        setTimeout(() => controller.abort(), 20);
      },
    });
    await expect(
      fetch(`${base}/x`, { method: 'POST', body: stream, signal: controller.signal, duplex: 'half' } as RequestInit),
    ).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(0);
    expect((await fetch(`${base}/ping`)).status).toBe(200);
  });

  it('answers a malformed request with 400 and keeps serving', async () => {
    const { app, seen } = fakeApp();
    const { port, base } = await start(app);
    const out = await raw(port, (s) => s.write('NOT HTTP AT ALL\r\n\r\n'));
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(seen).toHaveLength(0);
    expect((await fetch(`${base}/ping`)).status).toBe(200);
  });

  it('turns an unexpected exception into a 500 JSON error', async () => {
    const { app } = fakeApp(() => {
      throw new Error('bug');
    });
    const logged: unknown[] = [];
    const { base } = await start(app, { logger: { log: (...a) => logged.push(a) } });
    const res = await fetch(`${base}/x`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(logged).toHaveLength(1);
  });

  it('turns an invalid response header from the app into a 500 JSON error', async () => {
    const { app } = fakeApp(() => ({ status: 200, headers: { 'x-bad': 'a\r\nb' }, body: 'x' }));
    const { base } = await start(app);
    const res = await fetch(`${base}/x`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });

  it('sends no body for HEAD and no content-length for 204', async () => {
    const { app } = fakeApp((req) =>
      req.method === 'HEAD' ? { status: 200, headers: {}, body: 'hello' } : { status: 204, headers: {}, body: '' },
    );
    const { base } = await start(app);
    const head = await fetch(`${base}/x`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('5');
    expect(await head.text()).toBe('');
    const del = await fetch(`${base}/x`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(del.headers.get('content-length')).toBeNull();
  });
});
