/**
 * A suite's authorized corp under a cold burst: real wecred processes sharing MySQL, the simulator
 * as WeCom. One process receives WeCom's pushes (the ticket, the corp's create_auth) and stops; the
 * suite_access_token is then dropped from the store, so that every credential of the burst is cold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../lib/store/open';
import { WechatSim } from '../sim';
import { type ServerProcess, startServerProcess } from './support/processes';
import { REALM } from './support/stack';
import { SHARED_STORES } from './support/stores';
import type { TestStore } from './support/services';

const PROCESSES = 3;
const REQUESTS = 300;
const SUITE = {
  suiteId: 'ww0000000000000c55',
  secret: 'suite-contention-secret-cccccccccc',
  token: 'suitecontentiontoken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
};
const CORP = 'ww0000000000c0rp55';
const AGENTID = '1000055';
const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

describe('a suite-authorized corp, processes sharing one MySQL store', () => {
  let shared: TestStore | null = null;
  let sim: WechatSim;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    shared = await SHARED_STORES.find((s) => s.name === 'mysql')!.open();
    sim = await WechatSim.start();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await sim?.close();
    await shared?.close();
  });

  it(`${PROCESSES} processes × ${REQUESTS} concurrent cold work.jsapi.config: one suite token, one corp token, one ticket of each kind`, async (ctx) => {
    if (!shared) return ctx.skip();
    sim.addSuite(SUITE.suiteId, SUITE.secret, SUITE.token, SUITE.encodingAESKey);
    const env = {
      ...shared.env,
      WECRED_MASTER_KEY: MASTER_KEY,
      WECRED_CONFIG_JSON: JSON.stringify({
        suites: [SUITE],
        realms: [REALM],
        store: shared.url,
        // a generous request budget: on a loaded machine the burst's last requests wait long for the first fetches
        upstream: { work: sim.url, timeoutMs: 2000, budgetMs: 30000 },
        credentials: { leaseSeconds: 3 },
      }),
    };
    const receiver = await startServerProcess(env);
    servers.push(receiver);
    expect(await sim.setSuiteCallback(SUITE.suiteId, `${receiver.url}/work/suite/${SUITE.suiteId}`)).toEqual({
      status: 200,
      body: 'success',
    });
    expect((await sim.installSuite(SUITE.suiteId, CORP, { agentid: AGENTID })).answer.body).toBe('success');
    expect(sim.calls('suite_permanent_code')).toBe(1);
    await receiver.stop();

    // The suite token the receiver fetched is dropped: the burst starts with nothing fresh.
    const store = await openStore(shared.url);
    const key = `suite:${SUITE.suiteId}:token`;
    const row = await store.acquireLease(key, 'test-drop');
    expect(row?.value).not.toBe('');
    expect(
      await store.commit(key, 'test-drop', row!.version, { value: '', expiresAt: 0, refreshedAt: 0, forcedAt: 0 }),
    ).toBe(true);
    await store.close();

    const procs = await Promise.all(Array.from({ length: PROCESSES }, () => startServerProcess(env)));
    servers.push(...procs);
    sim.resetCalls();
    const url = 'https://example.com/suite/page';
    const body = JSON.stringify({
      interface: { interfaceName: 'work.jsapi.config', para: { corpid: CORP, agentid: AGENTID, url } },
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
    // One look at everything, so that a failure under load says what happened.
    const codes: Record<string, number> = {};
    for (const a of answers) codes[a.returnCode] = (codes[a.returnCode] ?? 0) + 1;
    expect({
      suiteToken: sim.calls('suite_token'),
      corpToken: sim.calls('suite_corp_token', CORP),
      corpTicket: sim.calls('work_jsapi_ticket', CORP),
      agentTicket: sim.calls('work_agent_ticket', CORP),
      codes,
    }).toEqual({ suiteToken: 1, corpToken: 1, corpTicket: 1, agentTicket: 1, codes: { 0: PROCESSES * REQUESTS } });
    for (const a of answers) {
      expect(a.returnCode).toBe(0);
      const { config: c, agentConfig: ac } = a.returnData;
      for (const [kind, p] of [
        ['jsapi', c],
        ['agent_config', ac],
      ] as const)
        expect(sim.verifyWorkSignature({ corpid: CORP, agentid: AGENTID, kind, url, ...p })).toBe(true);
    }
  }, 120_000);
});
