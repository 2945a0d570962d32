/**
 * wecred benchmarks, printed from one run (`npm run bench`): fetches under cold concurrency,
 * warm throughput against bare node:http, store operations per warm request, then
 * bench/stores.ts and bench/bundles.ts. What each measures: docs/design.md §9.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../lib/config/load';
import { bootApp } from '../lib/gateway/boot';
import type { HttpRequest } from '../lib/gateway/http';
import { silentLogger } from '../lib/log/logger';
import { createNodeServer, listen } from '../lib/platform/node-http';
import { countStoreOps } from '../lib/store/counting';
import { createMemoryStore } from '../lib/store/memory';
import { WechatSim } from '../sim';
import { startProcess } from '../test/support/processes';
import { benchBundles } from './bundles';
import { benchStores } from './stores';

const root = fileURLToPath(new URL('..', import.meta.url));
const APP = { appid: 'wx1111111111111111', secret: 'bench-secret' };
const PAGE = { url: 'https://example.com/page?from=bench', jsApiList: ['updateTimelineShareData'] };
const BODY = JSON.stringify(PAGE);
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const BARE_SERVER = `
  const body = '{"appId":"wx1111111111111111","timestamp":1700000000,"nonceStr":"0123456789abcdef","signature":"0f9de62fce790f9a083d5c99e95740ceb90c27ed","url":"https://example.com/page?from=bench"}';
  const server = require('node:http').createServer((req, res) => {
    req.resume();
    req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }); res.end(body); });
  });
  server.listen(0, '127.0.0.1', () => console.error('Listening on http://127.0.0.1:' + server.address().port));`;

async function inProcess(sim: WechatSim) {
  const counted = countStoreOps(createMemoryStore());
  const config = parseConfig({ apps: [{ ...APP, type: 'mp' }], store: 'memory:', upstream: { mp: sim.url } }, {});
  const app = await bootApp(config, { store: counted.store, clock: () => sim.now(), log: silentLogger });
  return { app, counted, config };
}

async function coldFetches(n: number): Promise<{ token: number; ticket: number; ok: number }> {
  const sim = await WechatSim.start();
  sim.addApp(APP.appid, APP.secret);
  const { app, config } = await inProcess(sim);
  const server = createNodeServer(app, { maxBodyBytes: config.maxBodyBytes });
  const url = await listen(server, 0, '127.0.0.1');
  const answers = await Promise.all(
    Array.from({ length: n }, () =>
      fetch(`${url}/jsapi/${APP.appid}/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      }).then((r) => r.json() as Promise<any>),
    ),
  );
  const ok = answers.filter((a) =>
    sim.verifyJsapiSignature({
      appid: APP.appid,
      url: PAGE.url,
      nonceStr: a.nonceStr,
      timestamp: a.timestamp,
      signature: a.signature,
    }),
  ).length;
  const result = { token: sim.calls('stable_token'), ticket: sim.calls('getticket'), ok };
  server.closeAllConnections();
  server.close();
  await app.close();
  await sim.close();
  return result;
}

async function storeOpsPerWarmRequest(n: number): Promise<number> {
  const sim = await WechatSim.start();
  sim.addApp(APP.appid, APP.secret);
  const { app, counted } = await inProcess(sim);
  const req: HttpRequest = {
    method: 'POST',
    path: `/jsapi/${APP.appid}/config`,
    query: {},
    headers: { 'content-type': 'application/json' },
    body: BODY,
  };
  await app.http(req);
  counted.reset();
  for (let i = 0; i < n; i++) await app.http(req);
  const ops = counted.ops();
  await app.close();
  await sim.close();
  return ops / n;
}

/** Requests per second from autocannon, in its own process. */
function load(url: string, method: 'POST' | 'GET' = 'POST'): Promise<number> {
  const bin = join(root, 'node_modules/autocannon/autocannon.js');
  const body = method === 'POST' ? ['-H', 'content-type=application/json', '-b', BODY] : [];
  const args = [bin, '-j', '-c', String(CONNECTIONS), '-d', String(DURATION_S), '-m', method, ...body, url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.on('exit', (code) => {
      try {
        const r = JSON.parse(out);
        if (r.non2xx || r.errors) throw new Error(`${r.non2xx} non-2xx answers and ${r.errors} errors`);
        resolve(r.requests.average);
      } catch (err) {
        reject(new Error(`autocannon exited ${code}: ${(err as Error).message}`));
      }
    });
  });
}

/** The bundle `npm start` runs. */
function build(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}`))));
  });
}

async function main() {
  console.log('wecred bench');
  for (const n of [300, 1000]) {
    const r = await coldFetches(n);
    console.log(
      `cold: ${n} concurrent POST /jsapi/:appid/config -> upstream fetches: token ${r.token}, ticket ${r.ticket} (limit 1 each); valid signatures ${r.ok}/${n}`,
    );
  }
  console.log(
    `warm: store operations per request ${(await storeOpsPerWarmRequest(10_000)).toFixed(4)} over 10000 requests (goal 0)`,
  );

  await build();
  const sim = await WechatSim.start();
  sim.addApp(APP.appid, APP.secret);
  const dir = await mkdtemp(join(tmpdir(), 'wecred-bench-'));
  const config = JSON.stringify({ apps: [{ ...APP, type: 'mp' }], store: `file:${dir}`, upstream: { mp: sim.url } });
  const wecred = await startProcess(
    [join(root, 'dist/wecred-server.mjs')],
    { PORT: '0', WECRED_CONFIG_JSON: config },
    { discardStdout: true },
  );
  const bare = await startProcess(['-e', BARE_SERVER], {}, { discardStdout: true });
  const target = `${wecred.url}/jsapi/${APP.appid}/config`;
  await load(target); // warm up: JIT, caches, sockets
  await load(bare.url);
  const before = sim.calls();
  const rates = { wecred: [] as number[], bare: [] as number[] };
  for (let round = 0; round < 2; round++) {
    rates.wecred.push(await load(target));
    rates.bare.push(await load(bare.url));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ratio = mean(rates.wecred) / mean(rates.bare);
  console.log(
    `warm: wecred ${Math.round(mean(rates.wecred))} req/s vs bare node:http ${Math.round(mean(rates.bare))} req/s -> ratio ${ratio.toFixed(2)} ` +
      `(goal >= 0.8; rounds ${rates.wecred.map((w, i) => (w / rates.bare[i]!).toFixed(2)).join(', ')}; ${CONNECTIONS} connections, ${DURATION_S} s each); upstream calls while warm: ${sim.calls() - before}`,
  );
  // Where the time goes: the same server answering GET /ping (routing, adapter, log line; no JSON body, no signing).
  const ping = await load(`${wecred.url}/ping`, 'GET');
  console.log(
    `warm: wecred GET /ping ${Math.round(ping)} req/s -> ratio ${(ping / mean(rates.bare)).toFixed(2)} to the bare server (the cost of the HTTP adapter, routing and the log line alone)`,
  );
  await wecred.stop();
  await bare.stop();
  await sim.close();
  await rm(dir, { recursive: true, force: true });

  await benchStores();
  await benchBundles();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
