/**
 * The guarantee wecred exists for, on every store that processes can share: real wecred
 * processes, one shared store, the simulator as WeChat. docs/design.md §5, §9.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestStore } from './support/services';
import { WechatSim } from '../sim';
import { accessTokenEnvelope, startServerProcess, type ServerProcess } from './support/processes';
import { MP, REALM } from './support/stack';
import { SHARED_STORES } from './support/stores';

const LEASE_SECONDS = 3;
/** upstream.budgetMs by default. */
const DEFAULT_BUDGET_MS = 10_000;
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

  it("a process killed while holding a classic token's lease, WeChat answering in 3 s: the survivor's own request is answered within the default budget, with one more token fetch", async (ctx) => {
    if (!shared) return ctx.skip();
    const appid = 'wx3333333333333333';
    sim.addApp(appid, MP.secret);
    // The defaults: a 3 s lease renewed every second, 5 s per upstream call, a 10 s request budget.
    const config = JSON.stringify({
      apps: [{ appid, secret: MP.secret, type: 'mp', tokenMode: 'classic' }],
      realms: [REALM],
      store: shared.url,
      upstream: { mp: sim.url },
    });
    const [doomed, survivor] = await Promise.all(
      [0, 1].map(() => startServerProcess({ ...shared!.env, WECRED_CONFIG_JSON: config })),
    );
    servers.push(doomed!, survivor!);
    sim.fault('token', { delayMs: 3_000 }, 10);
    // The doomed process takes the lease and dies 0.8 s into its fetch, the lease still fresh.
    const never = accessTokenEnvelope(doomed!, { appid }).catch(() => 'killed');
    await expect.poll(() => sim.calls('token', appid), { timeout: 10_000, interval: 20 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 800));
    await doomed!.kill();
    expect(await never).toBe('killed');

    const started = performance.now();
    const answer = await accessTokenEnvelope(survivor!, { appid });
    const elapsed = performance.now() - started;
    expect(answer.returnCode).toBe(0);
    expect(sim.tokenState(appid, answer.returnData.access_token)).toBe('valid');
    expect(sim.calls('token', appid)).toBe(2); // the dead holder's, and one
    expect(elapsed).toBeLessThan(DEFAULT_BUDGET_MS);
    await ctx.annotate(`the survivor answered in ${Math.round(elapsed)} ms`);
  }, 60_000);
});
