/**
 * Per shared store (file, MySQL, DynamoDB on dynalite, Redis), from one run: store operations per
 * cold and warm request, contention of 3 processes × 300 cold requests, and for the networked ones,
 * through a fault proxy, how long a call takes to fail while the server is blackholed or reset and
 * how soon calls work again once it is back.
 * Runnable alone: `tsx bench/stores.ts`. docs/design.md §9.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../lib/config/load';
import { bootApp } from '../lib/gateway/boot';
import type { HttpRequest } from '../lib/gateway/http';
import { silentLogger } from '../lib/log/logger';
import { countStoreOps } from '../lib/store/counting';
import { openStore } from '../lib/store/open';
import type { TestStore } from '../test/support/services';
import { WechatSim } from '../sim';
import { type ProxyMode, proxyStore } from '../test/support/fault-proxy';
import { startServerProcess } from '../test/support/processes';
import { MP, REALM, signedHeaders } from '../test/support/stack';
import { SHARED_STORES } from '../test/support/stores';

const PAGE_URL = 'https://example.com/page?from=bench';
const WARM_REQUESTS = 1000;
const PROCESSES = 3;
/** Concurrent cold requests per process. */
const CONCURRENT = 300;

function configFor(url: string, sim: WechatSim) {
  return { apps: [{ ...MP, type: 'mp' }], realms: [REALM], store: url, upstream: { mp: sim.url } };
}

async function storeOps(shared: TestStore) {
  const sim = await WechatSim.start();
  sim.addApp(MP.appid, MP.secret);
  const counted = countStoreOps(await openStore(shared.url));
  const app = await bootApp(parseConfig(configFor(shared.url, sim), {}), {
    store: counted.store,
    clock: () => sim.now(),
    log: silentLogger,
  });
  const jsapi = (): HttpRequest => ({
    method: 'POST',
    path: `/jsapi/${MP.appid}/config`,
    query: {},
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: PAGE_URL }),
  });
  const signed = (): HttpRequest => {
    const body = JSON.stringify({ interface: { interfaceName: 'access_token', para: { appid: MP.appid } } });
    return {
      method: 'POST',
      path: '/',
      query: {},
      headers: { 'content-type': 'application/json', ...signedHeaders(REALM, '/', body) },
      body,
    };
  };
  const send = async (req: HttpRequest) => {
    const res = await app.http(req);
    if (res.status !== 200) throw new Error(`bench request answered ${res.status}`);
  };
  const perRequest = async (make: () => HttpRequest) => {
    counted.reset();
    for (let i = 0; i < WARM_REQUESTS; i++) await send(make());
    return counted.ops() / WARM_REQUESTS;
  };
  await send(jsapi());
  const cold = counted.ops();
  const result = { cold, warm: await perRequest(jsapi), signed: await perRequest(signed) };
  await app.close();
  await sim.close();
  return result;
}

async function contention(shared: TestStore) {
  const sim = await WechatSim.start();
  sim.addApp(MP.appid, MP.secret);
  const env = { ...shared.env, WECRED_CONFIG_JSON: JSON.stringify(configFor(shared.url, sim)) };
  const procs = await Promise.all(Array.from({ length: PROCESSES }, () => startServerProcess(env)));
  try {
    const answers = await Promise.all(
      Array.from({ length: PROCESSES * CONCURRENT }, (_, i) =>
        fetch(`${procs[i % PROCESSES]!.url}/jsapi/${MP.appid}/config`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ url: PAGE_URL }),
        }).then((r) => r.json() as Promise<any>),
      ),
    );
    const valid = answers.filter((a) =>
      sim.verifyJsapiSignature({
        appid: MP.appid,
        url: PAGE_URL,
        nonceStr: a.nonceStr,
        timestamp: a.timestamp,
        signature: a.signature,
      }),
    ).length;
    return { token: sim.calls('stable_token'), ticket: sim.calls('getticket'), valid };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await sim.close();
  }
}

/** Milliseconds until `op` settles. */
async function settle(op: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await op().catch(() => {});
  return Math.round(performance.now() - started);
}

async function faults(shared: TestStore) {
  const { url, proxy } = await proxyStore(shared.url);
  const store = await openStore(url);
  const key = 'bench:faults';
  const read = () => store.read(key);
  const measure = async (mode: ProxyMode) => {
    await proxy.set(mode);
    const first = await settle(read); // on a connection open when the fault began
    const later = await settle(read); // on a new one
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const after2s = await settle(read);
    await proxy.set('forward');
    const back = performance.now();
    while (
      !(await read().then(
        () => true,
        () => false,
      ))
    )
      await new Promise((resolve) => setTimeout(resolve, 10));
    return { first, later, after2s, back: Math.round(performance.now() - back) };
  };
  try {
    await read();
    return { blackhole: await measure('blackhole'), reset: await measure('reset') };
  } finally {
    await store.close();
    await proxy.close();
  }
}

export async function benchStores(): Promise<void> {
  for (const { name, open } of SHARED_STORES) {
    // A fresh store for each measurement: both start cold.
    const a = await open();
    if (!a) {
      console.log(`stores: ${name}: skipped (server not available)`);
      continue;
    }
    try {
      const ops = await storeOps(a);
      console.log(
        `stores: ${name}: store operations — jsapi config cold ${ops.cold}, warm ${ops.warm.toFixed(3)}/request (goal 0); ` +
          `signed envelope warm ${ops.signed.toFixed(3)}/request (the nonce write)`,
      );
    } finally {
      await a.close();
    }
    if (name !== 'file') {
      const c = (await open())!;
      try {
        const f = await faults(c);
        for (const mode of ['blackhole', 'reset'] as const) {
          const m = f[mode];
          console.log(
            `stores: ${name}: ${mode} — a call fails in ${m.first} ms, then ${m.later} ms, ${m.after2s} ms 2 s on; ` +
              `calls work again ${m.back} ms after the server is back (store timeout 2000 ms)`,
          );
        }
      } finally {
        await c.close();
      }
    }
    const b = (await open())!;
    try {
      const c = await contention(b);
      console.log(
        `stores: ${name}: contention ${PROCESSES} processes × ${CONCURRENT} concurrent cold requests -> upstream fetches: token ${c.token}, ticket ${c.ticket} (limit 1 each); valid ${c.valid}/${PROCESSES * CONCURRENT}`,
      );
    } finally {
      await b.close();
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchStores().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
