/**
 * Slow bodies against the local server (`tsx bench/slow-bodies.ts`, or `benchSlowBodies()`): many
 * connections each one byte short of its Content-Length, and the server's RSS before, while they
 * are held and after, with the default `http` limits and with them lifted. docs/design.md §9.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type ServerProcess, startServerProcess } from '../test/support/processes';

const CONNECTIONS = Number(process.env.BENCH_SLOW_CONNECTIONS ?? 3000);
const BODY_BYTES = 65_536;
const APPID = 'wx1111111111111111';
/** Node's own defaults, as the server ran before it had limits of its own. */
const LIFTED = {
  headersTimeoutSeconds: 60,
  requestTimeoutSeconds: 300,
  keepAliveTimeoutSeconds: 65,
  maxConnections: 100_000,
  maxBodyBytesInFlight: 1 << 30,
};

const rssMiB = (server: ServerProcess) =>
  Number(
    execFileSync('ps', ['-o', 'rss=', '-p', String(server.pid)])
      .toString()
      .trim(),
  ) / 1024;

/** One stalled upload; resolves when the server closes it, with its status (0: closed without an answer). */
function stall(port: number): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () =>
      s.write(
        `POST /jsapi/${APPID}/config HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${BODY_BYTES}\r\n\r\n${' '.repeat(BODY_BYTES - 1)}`,
      ),
    );
    let head = '';
    s.on('data', (d) => (head += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)));
  });
}

async function run(label: string, http: Record<string, number>): Promise<string> {
  const config = { apps: [{ appid: APPID, secret: 'bench-secret' }], store: 'memory:', http };
  const server = await startServerProcess({ WECRED_CONFIG_JSON: JSON.stringify(config) });
  try {
    const port = Number(new URL(server.url).port);
    await fetch(`${server.url}/ping`);
    const before = rssMiB(server);
    const started = performance.now();
    const ends = Array.from({ length: CONNECTIONS }, () =>
      stall(port).then((status) => ({ status, ms: performance.now() - started })),
    );
    await new Promise((r) => setTimeout(r, 3000));
    const held = rssMiB(server);
    const within = await Promise.race([Promise.all(ends), new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
    const after = rssMiB(server);
    const statuses = new Map<number, number>();
    for (const e of within ?? []) statuses.set(e.status, (statuses.get(e.status) ?? 0) + 1);
    const closing = within
      ? `all closed within ${(Math.max(...within.map((e) => e.ms)) / 1000).toFixed(1)} s (${[...statuses].map(([s, n]) => `${n}× ${s || 'dropped'}`).join(', ')})`
      : 'still open after 60 s';
    return `slow bodies, ${label}: ${CONNECTIONS} connections 1 byte short of ${BODY_BYTES} -> RSS ${before.toFixed(0)} MiB before, ${held.toFixed(0)} MiB while held, ${after.toFixed(0)} MiB after; ${closing}`;
  } finally {
    await server.kill();
  }
}

export async function benchSlowBodies(): Promise<void> {
  console.log(await run('default http limits', { requestTimeoutSeconds: 10 }));
  console.log(await run("limits lifted to node's defaults", LIFTED));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchSlowBodies().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
