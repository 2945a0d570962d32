/**
 * The guarantee wecred exists for, on every store that processes can share: real wecred
 * processes, one shared store, the simulator as WeChat.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lifecycle } from '../lib/credentials/lifecycle';
import type { CallContext, CredentialSource, Fetched } from '../lib/credentials/source';
import { silentLogger } from '../lib/log/logger';
import { openStore } from '../lib/store/open';
import type { TestStore } from './support/services';
import { WechatSim } from '../sim';
import { accessTokenEnvelope, startServerProcess, type ServerProcess } from './support/processes';
import { MP, REALM } from './support/stack';
import { SHARED_STORES } from './support/stores';

const LEASE_SECONDS = 3;
const PROCESSES = 3;
/** Concurrent cold requests per process. */
const REQUESTS = 300;

function jsapiConfig(server: ServerProcess, url: string) {
  return fetch(`${server.url}/jsapi/${MP.appid}/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url }),
  }).then((r) => r.json() as Promise<any>);
}

describe.each(SHARED_STORES)('wecred processes sharing one $name store', ({ name, open }) => {
  let shared: TestStore | null = null;
  let sim: WechatSim;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    shared = await open();
    if (!shared) return;
    sim = await WechatSim.start();
    sim.addApp(MP.appid, MP.secret);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await sim?.close();
    await shared?.close();
  });

  /** `n` wecred processes on the shared store, each with its own app list so the tests do not share credentials. */
  async function start(n: number, appid: string): Promise<ServerProcess[]> {
    const config = JSON.stringify({
      apps: [{ appid, secret: MP.secret, type: 'mp' }],
      realms: [REALM],
      store: shared!.url,
      upstream: { mp: sim.url, timeoutMs: 2000 },
      credentials: { leaseSeconds: LEASE_SECONDS },
    });
    const started = await Promise.all(
      Array.from({ length: n }, () => startServerProcess({ ...shared!.env, WECRED_CONFIG_JSON: config })),
    );
    servers.push(...started);
    return started;
  }

  it(`${PROCESSES} processes × ${REQUESTS} concurrent cold requests: exactly one token and one ticket fetch, every signature valid`, async (ctx) => {
    if (!shared) return ctx.skip();
    const procs = await start(PROCESSES, MP.appid);
    sim.resetCalls();
    const url = `https://example.com/${name}?p=1`;
    const answers = await Promise.all(
      Array.from({ length: PROCESSES * REQUESTS }, (_, i) => jsapiConfig(procs[i % PROCESSES]!, url)),
    );
    expect(sim.calls('stable_token', MP.appid)).toBe(1);
    expect(sim.calls('getticket', MP.appid)).toBe(1);
    for (const a of answers) {
      expect(
        sim.verifyJsapiSignature({
          appid: MP.appid,
          url,
          nonceStr: a.nonceStr,
          timestamp: a.timestamp,
          signature: a.signature,
        }),
      ).toBe(true);
    }
  }, 120_000);

  it(`WeCom: ${PROCESSES} processes × ${REQUESTS} concurrent cold work.jsapi.config requests: one gettoken, one corp ticket, one agent ticket`, async (ctx) => {
    if (!shared) return ctx.skip();
    const corpid = 'ww5555555555555555';
    const agent = { corpid, agentid: '1000005', secret: 'work-contention-secret' };
    sim.addWorkApp(agent.corpid, agent.agentid, agent.secret);
    const config = JSON.stringify({
      work: [agent],
      realms: [REALM],
      store: shared.url,
      upstream: { work: sim.url, timeoutMs: 2000 },
      credentials: { leaseSeconds: LEASE_SECONDS },
    });
    const procs = await Promise.all(
      Array.from({ length: PROCESSES }, () => startServerProcess({ ...shared!.env, WECRED_CONFIG_JSON: config })),
    );
    servers.push(...procs);
    sim.resetCalls();
    const url = `https://example.com/${name}/work`;
    const body = JSON.stringify({
      interface: { interfaceName: 'work.jsapi.config', para: { corpid, agentid: agent.agentid, url } },
    });
    const answers = await Promise.all(
      Array.from({ length: PROCESSES * REQUESTS }, (_, i) =>
        fetch(`${procs[i % PROCESSES]!.url}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        }).then((r) => r.json() as Promise<any>),
      ),
    );
    expect(sim.calls('work_gettoken', corpid)).toBe(1);
    expect(sim.calls('work_jsapi_ticket', corpid)).toBe(1);
    expect(sim.calls('work_agent_ticket', corpid)).toBe(1);
    for (const a of answers) {
      expect(a.returnCode).toBe(0);
      const { config: c, agentConfig: ac } = a.returnData;
      expect(
        sim.verifyWorkSignature({
          corpid,
          agentid: agent.agentid,
          kind: 'jsapi',
          url,
          nonceStr: c.nonceStr,
          timestamp: c.timestamp,
          signature: c.signature,
        }),
      ).toBe(true);
      expect(
        sim.verifyWorkSignature({
          corpid,
          agentid: agent.agentid,
          kind: 'agent_config',
          url,
          nonceStr: ac.nonceStr,
          timestamp: ac.timestamp,
          signature: ac.signature,
        }),
      ).toBe(true);
    }
  }, 120_000);

  it('a process killed while holding the lease: another serves within leaseSeconds plus one upstream call', async (ctx) => {
    if (!shared) return ctx.skip();
    const appid = 'wx3333333333333333';
    sim.addApp(appid, MP.secret);
    const [doomed, survivor] = await start(2, appid);
    // The doomed process takes the lease and then hangs in its upstream call until it dies.
    sim.fault('stable_token', { delayMs: 60_000 }, 1);
    const never = accessTokenEnvelope(doomed!, { appid }).catch(() => 'killed');
    await expect.poll(() => sim.calls('stable_token', appid), { timeout: 10_000, interval: 20 }).toBe(1);
    await doomed!.kill();
    expect(await never).toBe('killed');

    const started = performance.now();
    const answer = await accessTokenEnvelope(survivor!, { appid });
    const elapsed = performance.now() - started;
    expect(answer.returnCode).toBe(0);
    expect(sim.tokenState(appid, answer.returnData.access_token)).toBe('valid');
    expect(sim.calls('stable_token', appid)).toBe(2);
    expect(elapsed).toBeLessThan(LEASE_SECONDS * 1000 + 1000);
  }, 60_000);

  /** Two lifecycles on two connections to the shared store, on one clock; A's store may stall its heartbeats. */
  async function twoInstances(url: string, stallA: boolean) {
    const options = {
      refreshAheadMs: 300_000,
      localCacheMs: 30_000,
      leaseMs: LEASE_SECONDS * 1000,
      forceCooldownMs: 60_000,
      timeoutMs: 60_000,
      budgetMs: 60_000,
      storeTimeoutMs: 5_000,
    };
    const [storeA, storeB] = await Promise.all([openStore(url), openStore(url)]);
    // A stalled process: its heartbeats no longer reach the store.
    const heartbeatsOfA = stallA ? { ...storeA, kind: storeA.kind, renewLease: async () => false } : storeA;
    const now = Date.now();
    const a = new Lifecycle(heartbeatsOfA, () => now, options, silentLogger);
    const b = new Lifecycle(storeB, () => now, options, silentLogger);
    const key = `mp:wx-lease-${name}-${now}-${Math.random()}:token`;
    const source = (answer: () => Promise<Fetched>): CredentialSource => ({
      key,
      owner: 'wx-lease',
      service: 'WeChat',
      eager: true,
      quotaBlocksAll: () => true,
      fetch: answer,
    });
    const call = (): CallContext => ({ caller: 't', upstreamCalls: 0, deadline: performance.now() + 60_000 });
    return { a, b, storeA, storeB, key, source, call, close: () => Promise.all([storeA.close(), storeB.close()]) };
  }

  it('a holder whose heartbeat stopped is taken over within the lease, and its late answer never overwrites the newer token', async (ctx) => {
    if (!shared) return ctx.skip();
    const i = await twoInstances(shared.url, true);
    try {
      let releaseSlow!: (f: Fetched) => void;
      const slow = new Promise<Fetched>((resolve) => (releaseSlow = resolve));
      const first = i.a.get(
        i.source(() => slow),
        { call: i.call() },
      );
      await expect.poll(async () => (await i.storeA.read(i.key))?.leaseOwner ?? '', { interval: 10 }).not.toBe('');
      const started = performance.now();
      const fresh = await i.b.get(
        i.source(async () => ({ value: 'newer-token', expiresIn: 7200 })),
        { call: i.call() },
      );
      const waited = performance.now() - started;
      expect(fresh.value).toBe('newer-token');
      expect(waited).toBeGreaterThanOrEqual(LEASE_SECONDS * 1000 - 50);
      expect(waited).toBeLessThan(LEASE_SECONDS * 1000 + 1500);
      releaseSlow({ value: 'older-token', expiresIn: 7200 });
      expect((await first).value).toBe('newer-token');
      expect(await i.storeB.read(i.key)).toMatchObject({ value: 'newer-token', version: 1, leaseOwner: '' });
    } finally {
      await i.close();
    }
  }, 30_000);

  it('a holder that is slow but alive keeps its lease by heartbeat: nobody starts a second fetch', async (ctx) => {
    if (!shared) return ctx.skip();
    const i = await twoInstances(shared.url, false);
    try {
      let fetches = 0;
      const slowly = (value: string) => async () => {
        fetches++;
        await new Promise((r) => setTimeout(r, LEASE_SECONDS * 1000 * 2));
        return { value, expiresIn: 7200 };
      };
      const first = i.a.get(i.source(slowly('from-a')), { call: i.call() });
      await expect.poll(async () => (await i.storeA.read(i.key))?.leaseOwner ?? '', { interval: 10 }).not.toBe('');
      const second = await i.b.get(i.source(slowly('from-b')), { call: i.call() });
      expect(second.value).toBe('from-a');
      expect((await first).value).toBe('from-a');
      expect(fetches).toBe(1);
    } finally {
      await i.close();
    }
  }, 30_000);
});
