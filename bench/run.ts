/**
 * wecred benchmarks, printed from one run (`npm run bench`):
 *  1. upstream fetches caused by 300 and 1000 concurrent cold POST /jsapi/:appid/config (limit: 1 token + 1 ticket)
 *  2. warm POST /jsapi/:appid/config throughput through the local node:http server, as a ratio to a
 *     bare node:http server answering a fixed JSON body (goal ≥ 0.8); load from autocannon in a child process
 *  3. store operations per warm request (goal 0)
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../lib/config/load';
import { bootApp } from '../lib/gateway/boot';
import { createLogger } from '../lib/log/logger';
import { createNodeServer, listen } from '../lib/platform/node-http';
import { countStoreOps } from '../lib/store/counting';
import { createMemoryStore } from '../lib/store/memory';
import { WechatSim } from '../sim';

const APP = { appid: 'wx1111111111111111', secret: 'bench-secret' };
const BODY = JSON.stringify({ url: 'https://example.com/page?from=bench', jsApiList: ['updateTimelineShareData'] });
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);

async function wecred(sim: WechatSim) {
  const counted = countStoreOps(createMemoryStore());
  const config = parseConfig({ apps: [{ ...APP, type: 'mp' }], store: 'memory:', upstream: { mp: sim.url } }, {});
  // The production logger (redaction and JSON per request line), writing nowhere.
  const app = await bootApp(config, { store: counted.store, clock: () => sim.now(), log: createLogger(() => {}) });
  const server = createNodeServer(app, { maxBodyBytes: config.maxBodyBytes });
  const url = await listen(server, 0, '127.0.0.1');
  return { url, counted, close: () => { server.closeAllConnections(); server.close(); return app.close(); } };
}

async function coldFetches(n: number): Promise<{ token: number; ticket: number; ok: number }> {
  const sim = await WechatSim.start();
  sim.addApp(APP.appid, APP.secret);
  const w = await wecred(sim);
  const answers = await Promise.all(
    Array.from({ length: n }, () => fetch(`${w.url}/jsapi/${APP.appid}/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY }).then((r) => r.json() as Promise<any>)),
  );
  const url = JSON.parse(BODY).url;
  const ok = answers.filter((a) => sim.verifyJsapiSignature({ appid: APP.appid, url, nonceStr: a.nonceStr, timestamp: a.timestamp, signature: a.signature })).length;
  const result = { token: sim.calls('stable_token'), ticket: sim.calls('getticket'), ok };
  await w.close();
  await sim.close();
  return result;
}

/** Requests per second from autocannon, run as its own process so it does not share our event loop. */
function load(url: string): Promise<number> {
  const bin = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));
  const args = [bin, '-j', '-c', String(CONNECTIONS), '-d', String(DURATION_S), '-m', 'POST', '-H', 'content-type=application/json', '-b', BODY, url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.on('exit', (code) => {
      try {
        const r = JSON.parse(out);
        if (r.non2xx || r.errors) throw new Error(`autocannon saw ${r.non2xx} non-2xx and ${r.errors} errors`);
        resolve(r.requests.average);
      } catch (err) {
        reject(new Error(`autocannon exited ${code}: ${(err as Error).message}`));
      }
    });
  });
}

async function main() {
  console.log('wecred bench');
  for (const n of [300, 1000]) {
    const r = await coldFetches(n);
    console.log(`cold: ${n} concurrent POST /jsapi/:appid/config -> upstream fetches: token ${r.token}, ticket ${r.ticket} (limit 1 each); valid signatures ${r.ok}/${n}`);
  }

  const bare = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"appId":"wx1111111111111111","timestamp":1700000000,"nonceStr":"0123456789abcdef","signature":"0f9de62fce790f9a083d5c99e95740ceb90c27ed"}');
    });
  });
  const bareUrl = await listen(bare, 0, '127.0.0.1');

  const sim = await WechatSim.start();
  sim.addApp(APP.appid, APP.secret);
  const w = await wecred(sim);
  const target = `${w.url}/jsapi/${APP.appid}/config`;
  await load(target).catch(() => 0); // warm up: JIT, caches, sockets
  await load(bareUrl);
  w.counted.reset();
  const before = sim.calls();
  const wecredRps = await load(target);
  const storeOps = w.counted.ops();
  const bareRps = await load(bareUrl);
  const warmRequests = Math.round(wecredRps * DURATION_S);

  console.log(`warm: wecred ${Math.round(wecredRps)} req/s vs bare node:http ${Math.round(bareRps)} req/s -> ratio ${(wecredRps / bareRps).toFixed(2)} (goal >= 0.8; ${CONNECTIONS} connections, ${DURATION_S} s each)`);
  console.log(`warm: store operations per request ${(storeOps / warmRequests).toFixed(4)} (${storeOps} over ~${warmRequests} requests; goal 0); upstream calls ${sim.calls() - before}`);

  bare.close();
  bare.closeAllConnections();
  await w.close();
  await sim.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
