/**
 * The Credentials face (docs/design.md §5): one source per credential, the set the refresher keeps fresh, and the
 * guards that keep callers to configured credentials.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WechatSim } from '../../sim';
import { parseConfig } from '../config/load';
import { silentLogger } from '../log/logger';
import { StoreHealth } from '../store/health';
import { createMemoryStore } from '../store/memory';
import { createMpClient } from '../wechat/mp';
import { createWorkClient } from '../wechat/work';
import { createCredentials } from '.';

const MP_A = { appid: 'wx1111111111111111', secret: 'a', type: 'mp' };
const MP_B = { appid: 'wx2222222222222222', secret: 'b', type: 'mp' };
const MINA = { appid: 'wx3333333333333333', secret: 'c', type: 'mina' };
const WEB = { appid: 'wx4444444444444444', secret: 'd', type: 'web' };
const AGENT = { corpid: 'ww1', agentid: '1000002', secret: 'e' };
const CONTACTS = { corpid: 'ww1', kind: 'contacts', secret: 'f' };
const SCOPE = { bucket: 'examplebucket-1250000000', prefix: 'a/', actions: ['name/cos:PutObject'] };

// Unless a test passes the simulator's address, nothing is ever called: every upstream is unreachable.
function credentials(mp = 'http://127.0.0.1:9') {
  const config = parseConfig(
    {
      apps: [MP_A, MP_B, MINA, WEB],
      work: [AGENT, CONTACTS],
      cos: { secretId: 'AKIDindex', secretKey: 'index-secret-key', region: 'ap-beijing', scopes: [SCOPE] },
      upstream: { mp, work: 'http://127.0.0.1:9', sts: 'http://127.0.0.1:9' },
    },
    {},
  );
  const store = createMemoryStore();
  const clock = Date.now;
  const creds = createCredentials({
    config,
    store,
    health: new StoreHealth(clock, silentLogger),
    clock,
    log: silentLogger,
    mp: createMpClient(config.upstream.mp),
    work: createWorkClient(config.upstream.work),
  });
  const app = (appid: string) => config.apps.find((a) => a.appid === appid)!;
  const agent = (agentid: string) => config.work.find((w) => w.agentid === agentid)!;
  return { creds, config, app, agent };
}

describe('Credentials', () => {
  it('names each credential by its kind and owner, and hands out one source per credential', () => {
    const { creds, app, agent } = credentials();
    expect(creds.token(app(MP_A.appid)).key).toBe(`mp:${MP_A.appid}:token`);
    expect(creds.ticket(app(MP_A.appid), 'jsapi').key).toBe(`mp:${MP_A.appid}:ticket:jsapi`);
    expect(creds.ticket(app(MP_B.appid), 'wx_card').key).toBe(`mp:${MP_B.appid}:ticket:wx_card`);
    expect(creds.workToken(agent('1000002')).key).toBe('work:ww1:1000002:token');
    expect(creds.workTicket(agent('1000002'), 'agent').key).toBe('work:ww1:1000002:agent_ticket');
    expect(creds.token(app(MP_A.appid))).toBe(creds.token(app(MP_A.appid)));
    expect(creds.ticket(app(MP_A.appid), 'jsapi')).toBe(creds.ticket(app(MP_A.appid), 'jsapi'));
    expect(creds.ticket(app(MP_A.appid), 'jsapi')).not.toBe(creds.ticket(app(MP_B.appid), 'jsapi'));
  });

  it('the refresher keeps every global token, the tickets of Official Accounts and agents, and COS keys', () => {
    const { creds } = credentials();
    expect(creds.all().map((s) => s.key)).toEqual([
      `mp:${MP_A.appid}:token`,
      `mp:${MP_B.appid}:token`,
      `mp:${MINA.appid}:token`,
      `mp:${MP_A.appid}:ticket:jsapi`,
      `mp:${MP_A.appid}:ticket:wx_card`,
      `mp:${MP_B.appid}:ticket:jsapi`,
      `mp:${MP_B.appid}:ticket:wx_card`,
      'work:ww1:1000002:token',
      'work:ww1:contacts:token',
      'work:ww1:1000002:ticket',
      'work:ww1:1000002:agent_ticket',
      expect.stringMatching(/^cos:ap-beijing:examplebucket-1250000000:a\/:[0-9a-f]{16}$/),
    ]);
  });

  it('refuses what the configuration does not hold: tickets of a contacts secret, COS keys of another scope', () => {
    const { creds, config, agent } = credentials();
    expect(() => creds.workTicket(agent('contacts'), 'corp')).toThrow(
      new TypeError('contacts secrets have no JS-SDK tickets'),
    );
    expect(() => creds.cos({ ...config.cos!.scopes[0]! })).toThrow(
      new TypeError('credentials.cos takes an entry of config.cos.scopes'),
    );
    expect(creds.cos(config.cos!.scopes[0]!).key).toMatch(/^cos:/);
  });

  it('the refresher leaves credentials fetched on demand alone until somebody asked once', async () => {
    const { creds, app, config } = credentials();
    const call = { caller: 'refresher', upstreamCalls: 0, deadline: performance.now() + 1000 };
    expect(await creds.refreshIfDue(creds.ticket(app(MP_A.appid), 'jsapi'), call)).toBe('unused');
    expect(await creds.refreshIfDue(creds.cos(config.cos!.scopes[0]!), call)).toBe('unused');
    expect(call.upstreamCalls).toBe(0);
  });
});

describe('Credentials against the simulator', () => {
  let sim: WechatSim;
  beforeAll(async () => {
    sim = await WechatSim.start();
    for (const a of [MP_A, MP_B, MINA, WEB]) sim.addApp(a.appid, a.secret, { type: a.type as 'mp' | 'mina' | 'web' });
  });
  afterAll(() => sim.close());
  const newCall = () => ({ caller: 'refresher', upstreamCalls: 0, deadline: performance.now() + 5000 });
  const refused = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'quota_exhausted' });

  it('refreshIfDue fetches what is due once, then finds it fresh; a caller that joined a fetch made none', async () => {
    const { creds, app } = credentials(sim.url);
    const token = creds.token(app(MP_A.appid));
    const [first, joined] = [newCall(), newCall()];
    expect(await Promise.all([creds.refreshIfDue(token, first), creds.refreshIfDue(token, joined)])).toEqual([
      'refreshed',
      'fresh',
    ]);
    expect([first.upstreamCalls, joined.upstreamCalls]).toEqual([1, 0]);
    const again = newCall();
    expect(await creds.refreshIfDue(token, again)).toBe('fresh');
    expect(again.upstreamCalls).toBe(0);
  });

  it('peek tells a fresh value from none', async () => {
    const { creds, app } = credentials(sim.url);
    const token = creds.token(app(MP_B.appid));
    expect(await creds.peek(token, [])).toMatchObject({ row: null, fresh: false });
    await creds.get(token, { mode: 'read', call: newCall() });
    expect(await creds.peek(token, [])).toMatchObject({ row: { value: expect.any(String) }, fresh: true });
  });

  it('a ticket refused before it ever had a value stays unused for the refresher', async () => {
    const { creds, app } = credentials(sim.url);
    const jsapi = creds.ticket(app(MP_A.appid), 'jsapi');
    sim.fault('getticket', { errcode: 45009 }, 3);
    await refused(creds.get(jsapi, { mode: 'read', call: newCall() }));
    sim.clearFaults();
    const call = newCall();
    expect(await creds.refreshIfDue(jsapi, call)).toBe('unused');
    expect(call.upstreamCalls).toBe(0);
  });

  it('45009 on a forced stable_token call ends forcing only: the token stays unblocked and served', async () => {
    const { creds, app } = credentials(sim.url);
    const token = creds.token(app(MP_B.appid));
    const { value } = await creds.get(token, { mode: 'read', call: newCall() });
    sim.fault('stable_token', { errcode: 45009 });
    await refused(creds.get(token, { mode: 'force', call: newCall() }));
    const { row } = await creds.peek(token, []);
    expect(row).toMatchObject({ value, blockedUntil: 0 });
    expect((await creds.get(token, { mode: 'read', call: newCall() })).value).toBe(value);
  });

  it("a quota clear ends the breakers of the app's own token and tickets, and of no other", async () => {
    const { creds, app } = credentials(sim.url);
    const [mpA, mpB, mina] = [app(MP_A.appid), app(MP_B.appid), app(MINA.appid)];
    sim.fault('getticket', { errcode: 45009 }, 20);
    for (const a of [mpA, mpB])
      for (const type of ['jsapi', 'wx_card'] as const)
        await refused(creds.get(creds.ticket(a, type), { mode: 'read', call: newCall() }));
    sim.clearFaults();
    sim.fault('token', { errcode: 45009 }, 20);
    sim.fault('stable_token', { errcode: 45009 }, 20);
    await refused(creds.get(creds.token(mina), { mode: 'read', call: newCall() }));
    sim.clearFaults();

    expect((await creds.quota.clear(mpA, newCall())).unblocked).toEqual([
      `mp:${MP_A.appid}:ticket:jsapi`,
      `mp:${MP_A.appid}:ticket:wx_card`,
    ]);
    expect((await creds.quota.clear(mina, newCall())).unblocked).toEqual([`mp:${MINA.appid}:token`]);
    expect((await creds.quota.clear(app(WEB.appid), newCall())).unblocked).toEqual([]);
    // MP_B's tickets are still refused without a call upstream
    const call = newCall();
    await refused(creds.get(creds.ticket(mpB, 'jsapi'), { mode: 'read', call }));
    expect(call.upstreamCalls).toBe(0);
  });
});
