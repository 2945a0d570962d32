/**
 * WeCom credentials through the real HTTP server, against the simulator's gettoken and ticket
 * endpoints. Over 400 lines: tokens, tickets, budgets and registration each need their own cases.
 * docs/design.md §13.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CORP_TICKET_CALLS_PER_CORP_HOUR, TICKET_CALLS_PER_APP_HOUR } from '../lib/credentials/work';
import { jsapiSignature } from '../lib/crypto/jsapi';
import { createMemoryStore } from '../lib/store/memory';
import { WechatSim } from '../sim';
import { ADMIN, MP, REALM, startStack, type Stack } from './support/stack';

const CORP = 'ww0123456789abcdef';
const A1 = { corpid: CORP, agentid: '1000002', secret: 'wecom-agent-secret-1000002-aaaaaaa' };
const A2 = { corpid: CORP, agentid: '1000003', secret: 'wecom-agent-secret-1000003-bbbbbbb' };
const WORK_INTERFACES = ['work.access_token', 'work.ticket', 'work.agent_ticket'];
const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const HOUR = 3_600_000;

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

/** Two configured agents of one corp; the biz realm may use the corp's WeCom interfaces. */
async function workStack(
  opts: { masterKey?: boolean; config?: Record<string, unknown>; sim?: WechatSim; store?: Stack['store'] } = {},
): Promise<Stack> {
  const sim = opts.sim ?? (await simAt(120_000));
  const stack = await startStack({
    sim,
    ...(opts.store ? { store: opts.store } : {}),
    env: opts.masterKey ? { WECRED_MASTER_KEY: MASTER_KEY } : {},
    config: {
      work: [A1, A2],
      realms: [
        { ...REALM, apps: [MP.appid, CORP], interfaces: WORK_INTERFACES, forceAllowance: null },
        { key: 'mponly', secret: 'mponly-realm-secret-0123456789', apps: [MP.appid] },
        { ...ADMIN, admin: true },
      ],
      ...opts.config,
    },
  });
  open.push(stack);
  return stack;
}

async function ok(
  s: Stack,
  name: string,
  para: Record<string, unknown>,
  realm?: { key: string; secret: string } | null,
) {
  const { status, json } = await s.envelope(name, para, realm);
  expect(status).toBe(200);
  expect(json).toMatchObject({ returnCode: 0 });
  return json.returnData as Record<string, any>;
}

const agentPara = (a: { corpid: string; agentid: string }) => ({ corpid: a.corpid, agentid: a.agentid });

/** A simulator whose clock starts `offset` ms into a clock hour (two minutes in: an hour's worth of fetches stays inside it). */
async function simAt(offset: number): Promise<WechatSim> {
  const sim = await WechatSim.start({ now: Math.floor(Date.now() / HOUR) * HOUR + offset });
  open.push(sim);
  return sim;
}

/** This hour's use of each budget of a credential, as status reports it. */
async function budgetUse(s: Stack, key: string): Promise<number[]> {
  const status = await ok(s, 'status', {}, ADMIN);
  return status.credentials.find((c: any) => c.key === key).hourlyBudgets.map((b: any) => b.used);
}

describe('work.access_token', () => {
  it('two agents of one corp get different tokens, each valid for its own app; a second read costs WeCom nothing', async () => {
    const s = await workStack();
    const t1 = await ok(s, 'work.access_token', agentPara(A1));
    const t2 = await ok(s, 'work.access_token', { corpid: CORP, agentid: 1000003 });
    expect(t1).toMatchObject({ corpid: CORP, agentid: A1.agentid, expires_in: 7200 });
    expect(t1.exp).toBe(Math.floor(s.sim.now() / 1000) + 7200);
    expect(t2).toMatchObject({ corpid: CORP, agentid: A2.agentid });
    expect(t1.access_token).not.toBe(t2.access_token);
    expect(s.sim.workTokenState(CORP, A1.agentid, t1.access_token)).toBe('valid');
    expect(s.sim.workTokenState(CORP, A2.agentid, t1.access_token)).toBe('invalid');
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);
    expect((await ok(s, 'work.access_token', agentPara(A1))).access_token).toBe(t1.access_token);
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);
  });

  it('unknown agents, foreign corps and malformed ids are refused clearly', async () => {
    const s = await workStack();
    const unknown = await s.envelope('work.access_token', { corpid: CORP, agentid: '999' });
    expect(unknown.json).toMatchObject({ returnCode: 1012, error: { code: 'unknown_app' } });
    const foreign = await s.envelope('work.access_token', agentPara(A1), {
      key: 'mponly',
      secret: 'mponly-realm-secret-0123456789',
    });
    expect(foreign.json).toMatchObject({ returnCode: 7005 });
    const badCorp = await s.envelope('work.access_token', { corpid: 'ww1:1000002', agentid: '1' });
    expect(badCorp.json).toMatchObject({ returnCode: 1003 });
    expect(badCorp.json.error.message).toMatch(/para\.corpid/);
    for (const agentid of ['10x', '01000002', 0, 1.5, '12345678901']) {
      const badAgent = await s.envelope('work.access_token', { corpid: CORP, agentid });
      expect(badAgent.json).toMatchObject({ returnCode: 1003 });
      expect(badAgent.json.error.message).toMatch(/para\.agentid/);
    }
    expect(s.sim.calls('work_gettoken')).toBe(0);
  });

  it('a token WeCom ended early: concurrent reports with stale cause one refetch, and everyone gets the new token', async () => {
    const s = await workStack();
    const old = (await ok(s, 'work.access_token', agentPara(A1))).access_token;
    s.sim.invalidateWorkToken(old);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => ok(s, 'work.access_token', { ...agentPara(A1), force: true, stale: old })),
    );
    const tokens = new Set(answers.map((a) => a.access_token));
    expect(tokens.size).toBe(1);
    const [fresh] = tokens;
    expect(fresh).not.toBe(old);
    expect(s.sim.workTokenState(CORP, A1.agentid, fresh)).toBe('valid');
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);
  });

  it('a ticket fetch meeting a token WeCom ended early (40014) refreshes the token once and retries', async () => {
    const s = await workStack();
    const old = (await ok(s, 'work.access_token', agentPara(A1))).access_token;
    s.sim.invalidateWorkToken(old);
    const t = await ok(s, 'work.ticket', agentPara(A1));
    expect(t).toMatchObject({ corpid: CORP, agentid: A1.agentid, expires_in: 7200 });
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);
    expect(s.sim.calls('work_jsapi_ticket', CORP)).toBe(2); // the rejected one and the retry
    expect(await budgetUse(s, `work:${CORP}:${A1.agentid}:ticket`)).toEqual([2, 2]); // both spent the budgets
    const now = (await ok(s, 'work.access_token', agentPara(A1))).access_token;
    expect(now).not.toBe(old);
    expect(s.sim.workTokenState(CORP, A1.agentid, now)).toBe('valid');
  });

  it("the refresher fetches every configured agent's token", async () => {
    const s = await workStack();
    const report = await s.app.refresh();
    expect(report.failed).toEqual([]);
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);
    expect(s.sim.calls('work_agent_ticket')).toBe(0); // tickets only once somebody asked for them
  });
});

describe('secrets without an agent (contacts, customer contact)', () => {
  const CONTACTS = { corpid: CORP, kind: 'contacts', secret: 'wecom-contacts-secret-ccccccccccccc' };

  it("work.access_token with kind contacts: the contacts secret's own token, WeCom accepting it; no tickets for it", async () => {
    const s = await workStack({ config: { work: [A1, A2, CONTACTS] } });
    const t = await ok(s, 'work.access_token', { corpid: CORP, kind: 'contacts' });
    expect(t).toMatchObject({ corpid: CORP, kind: 'contacts' });
    expect(t.expires_in).toBeGreaterThan(7190);
    expect(t.agentid).toBeUndefined();
    expect(s.sim.workTokenState(CORP, 'contacts', t.access_token)).toBe('valid');
    const agent = await ok(s, 'work.access_token', agentPara(A1));
    expect(agent.access_token).not.toBe(t.access_token);
    expect((await ok(s, 'work.access_token', { corpid: CORP, kind: 'contacts' })).access_token).toBe(t.access_token);
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);

    const ticket = await s.envelope('work.ticket', { corpid: CORP, kind: 'contacts' });
    expect(ticket.json).toMatchObject({ returnCode: 1003, error: { code: 'bad_para' } });
    expect(ticket.json.error.message).toMatch(/tickets belong to agents only/);
    const both = await s.envelope('work.access_token', { corpid: CORP, kind: 'contacts', agentid: A1.agentid });
    expect(both.json).toMatchObject({ returnCode: 1003 });
    const absent = await s.envelope('work.access_token', { corpid: CORP, kind: 'externalcontact' });
    expect(absent.json).toMatchObject({ returnCode: 1012 });
    expect(absent.json.error.message).toMatch(/no externalcontact secret of WeCom corp/);
    const bad = await s.envelope('work.access_token', { corpid: CORP, kind: 'app' });
    expect(bad.json).toMatchObject({ returnCode: 1003 });
    expect(s.sim.calls('work_jsapi_ticket')).toBe(0);
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);
    const status = await ok(s, 'status', {}, ADMIN);
    const keys = status.credentials.map((c: any) => c.key);
    expect(keys).toContain(`work:${CORP}:contacts:token`);
    expect(keys).not.toContain(`work:${CORP}:contacts:ticket`);
  });
});

describe('work.ticket and work.agent_ticket', () => {
  it('100 concurrent agent-ticket requests: one upstream ticket fetch and one token fetch', async () => {
    const s = await workStack();
    const answers = await Promise.all(Array.from({ length: 100 }, () => ok(s, 'work.agent_ticket', agentPara(A1))));
    expect(new Set(answers.map((a) => a.agent_ticket)).size).toBe(1);
    expect(answers[0]).toMatchObject({ corpid: CORP, agentid: A1.agentid, expires_in: 7200 });
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(1);
    expect(s.sim.calls('work_gettoken', CORP)).toBe(1);
    expect(s.sim.calls('work_jsapi_ticket')).toBe(0);
  });

  it('the 101st agent-ticket fetch within an hour is refused before WeCom with 7104; reads keep the ticket; once that hour and the next are over it works', async () => {
    const s = await workStack({ config: { credentials: { forceCooldownSeconds: 0 } } });
    const first = await ok(s, 'work.agent_ticket', agentPara(A1));
    for (let i = 1; i < 100; i++) {
      s.sim.advance(1000);
      await ok(s, 'work.agent_ticket', { ...agentPara(A1), force: true });
    }
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(100);
    s.sim.advance(1000);
    const refused = await s.envelope('work.agent_ticket', { ...agentPara(A1), force: true });
    expect(refused.json).toMatchObject({ returnCode: 7104, returnData: '', error: { code: 'budget_exhausted' } });
    expect(refused.json.error.message).toMatch(/100 calls per hour/);
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(100);
    const status = await ok(s, 'status', {}, ADMIN);
    expect(
      status.credentials.find((c: any) => c.key === `work:${CORP}:${A1.agentid}:agent_ticket`).hourlyBudgets,
    ).toEqual([
      { scope: `work:${CORP}:${A1.agentid}:agent_ticket`, limit: 100, used: s.sim.calls('work_agent_ticket', CORP) },
    ]);
    // A plain read still serves the ticket WeCom gave (unchanged while valid).
    expect((await ok(s, 'work.agent_ticket', agentPara(A1))).agent_ticket).toBe(first.agent_ticket);
    // The other agent and the corp ticket have budgets of their own.
    await ok(s, 'work.agent_ticket', agentPara(A2));
    await ok(s, 'work.ticket', agentPara(A1));

    s.sim.advance(HOUR); // the next hour still counts this one's 100 whole
    expect((await s.envelope('work.agent_ticket', { ...agentPara(A1), force: true })).json).toMatchObject({
      returnCode: 7104,
    });
    s.sim.advance(HOUR);
    await ok(s, 'work.agent_ticket', { ...agentPara(A1), force: true });
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(102);
  });

  it('100 fetches at HH:59 still count whole at HH+1:30 (7104, WeCom not called); at HH+2:00:01 a fetch goes through', async () => {
    const sim = await simAt(-60_000); // HH:59
    const s = await workStack({ sim, config: { credentials: { forceCooldownSeconds: 0 } } });
    const hh = s.sim.now() - (s.sim.now() % HOUR);
    for (let i = 0; i < 100; i++) {
      s.sim.advance(500);
      await ok(s, 'work.agent_ticket', { ...agentPara(A1), force: true });
    }
    s.sim.advance(hh + HOUR + 30 * 60_000 - s.sim.now()); // HH+1:30
    const refused = await s.envelope('work.agent_ticket', { ...agentPara(A1), force: true });
    expect(refused.json).toMatchObject({ returnCode: 7104 });
    expect(refused.json.error.message).toContain(`no further calls before ${new Date(hh + 2 * HOUR).toISOString()}`);
    expect(await budgetUse(s, `work:${CORP}:${A1.agentid}:agent_ticket`)).toEqual([100]);
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(100);
    s.sim.advance(hh + 2 * HOUR + 1000 - s.sim.now()); // HH+2:00:01
    await ok(s, 'work.agent_ticket', { ...agentPara(A1), force: true });
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(101);
  });

  it('a 45009 from WeCom blocks the ticket for an hour (7101) without calling WeCom again', async () => {
    const s = await workStack();
    s.sim.fault('work_agent_ticket', { errcode: 45009, errmsg: 'api freq out of limit' });
    const quota = await s.envelope('work.agent_ticket', agentPara(A1));
    expect(quota.json).toMatchObject({ returnCode: 7101, error: { code: 'quota_exhausted', errcode: 45009 } });
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(1);
    s.sim.advance(59 * 60_000);
    expect((await s.envelope('work.agent_ticket', agentPara(A1))).json).toMatchObject({ returnCode: 7101 });
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(1);
    s.sim.advance(2 * 60_000);
    await ok(s, 'work.agent_ticket', agentPara(A1));
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(2);
  });

  it("a 45009 on an agent's token blocks that token for an hour, not the other agents'", async () => {
    const s = await workStack();
    s.sim.fault('work_gettoken', { errcode: 45009, errmsg: 'api freq out of limit' });
    expect((await s.envelope('work.access_token', agentPara(A1))).json).toMatchObject({
      returnCode: 7101,
      error: { errcode: 45009 },
    });
    expect((await s.envelope('work.access_token', agentPara(A1))).json).toMatchObject({ returnCode: 7101 });
    expect(s.sim.calls('work_gettoken', CORP)).toBe(1);
    await ok(s, 'work.access_token', agentPara(A2));
    s.sim.advance(61 * 60_000);
    await ok(s, 'work.access_token', agentPara(A1));
    expect(s.sim.calls('work_gettoken', CORP)).toBe(3);
  });
});

describe('budgets across processes sharing one store', () => {
  it(`forced corp-ticket fetches of five agents in two processes never pass the corp's ${CORP_TICKET_CALLS_PER_CORP_HOUR} per hour`, async () => {
    const agents = Array.from({ length: 5 }, (_, i) => ({
      corpid: CORP,
      agentid: String(1000010 + i),
      secret: `wecom-agent-secret-corp-budget-${i}`,
    }));
    const sim = await simAt(120_000);
    const store = createMemoryStore();
    const config = { work: agents, credentials: { forceCooldownSeconds: 0 } };
    const stacks = [await workStack({ sim, store, config }), await workStack({ sim, store, config })];
    const codes = new Set<number>();
    for (let round = 0; round < 100; round++) {
      sim.advance(500);
      const answers = await Promise.all(
        stacks.flatMap((s) => agents.map((a) => s.envelope('work.ticket', { ...agentPara(a), force: true }))),
      );
      for (const a of answers) codes.add(a.json.returnCode);
    }
    expect([...codes].sort()).toEqual([0, 7104]); // refused by us, never by WeCom (45009 → 7101)
    expect(sim.calls('work_jsapi_ticket', CORP)).toBe(CORP_TICKET_CALLS_PER_CORP_HOUR);
    expect((await budgetUse(stacks[0]!, `work:${CORP}:${agents[0]!.agentid}:ticket`))[1]).toBe(
      sim.calls('work_jsapi_ticket', CORP),
    );
  });

  it(`an app's ${TICKET_CALLS_PER_APP_HOUR} agent-ticket calls per hour are shared by two processes`, async () => {
    const sim = await simAt(120_000);
    const store = createMemoryStore();
    const config = { credentials: { forceCooldownSeconds: 0 } };
    const stacks = [await workStack({ sim, store, config }), await workStack({ sim, store, config })];
    const codes: number[] = [];
    for (let i = 0; i < 2 * TICKET_CALLS_PER_APP_HOUR; i++) {
      sim.advance(500);
      codes.push(
        (await stacks[i % 2]!.envelope('work.agent_ticket', { ...agentPara(A1), force: true })).json.returnCode,
      );
    }
    expect(codes.filter((c) => c === 0)).toHaveLength(TICKET_CALLS_PER_APP_HOUR);
    expect(codes.filter((c) => c === 7104)).toHaveLength(TICKET_CALLS_PER_APP_HOUR);
    expect(sim.calls('work_agent_ticket', CORP)).toBe(TICKET_CALLS_PER_APP_HOUR);
    expect(await budgetUse(stacks[1]!, `work:${CORP}:${A1.agentid}:agent_ticket`)).toEqual([
      sim.calls('work_agent_ticket', CORP),
    ]);
  });
});

describe('configuration faults', () => {
  it('a wrong agent secret: 50 public work.jsapi.config requests make one gettoken call, and one more after 60 s', async () => {
    const s = await workStack();
    s.sim.addWorkApp(CORP, A1.agentid, 'the-secret-was-reset-in-wecom-000'); // ours now answers 40001
    for (let i = 0; i < 50; i++) {
      const r = await s.envelope('work.jsapi.config', { ...agentPara(A1), url: 'https://work.example.com/' }, null);
      expect(r.json).toMatchObject({ returnCode: 7302, error: { code: 'config_fault' } });
    }
    expect(s.sim.calls('work_gettoken', CORP)).toBe(1);
    s.sim.advance(60_000);
    expect(
      (await s.envelope('work.jsapi.config', { ...agentPara(A1), url: 'https://work.example.com/' }, null)).json,
    ).toMatchObject({ returnCode: 7302 });
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);
  });
});

describe('configuration faults across instances sharing a store', () => {
  it("instance B meets a wrong agent secret and pauses; instance A registers the fixed one; B's next request fetches with it", async () => {
    const A9 = { corpid: CORP, agentid: '1000009' };
    const sim = await simAt(120_000);
    const store = createMemoryStore();
    const [a, b] = [await workStack({ sim, store, masterKey: true }), await workStack({ sim, store, masterKey: true })];
    const fixed = 'registered-agent-secret-9-fixed-eee';
    sim.addWorkApp(CORP, A9.agentid, fixed);
    await ok(a!, 'work.register_agent', { ...A9, agentsecret: 'registered-agent-secret-9-typo-fff' }, ADMIN);
    for (let i = 0; i < 3; i++)
      expect((await b!.envelope('work.access_token', A9)).json).toMatchObject({
        returnCode: 7302,
        error: { code: 'config_fault' },
      });
    expect(sim.calls('work_gettoken', CORP)).toBe(1); // B pauses: the wrong secret is not sent again
    await ok(a!, 'work.register_agent', { ...A9, agentsecret: fixed }, ADMIN);
    const token = await ok(b!, 'work.access_token', A9); // well inside B's 60 s pause
    expect(sim.calls('work_gettoken', CORP)).toBe(2);
    expect(sim.workTokenState(CORP, A9.agentid, token.access_token)).toBe('valid');
  });
});

describe('work.jsapi.config', () => {
  it('public: wx.config (corp ticket, corpid as appId) and wx.agentConfig (agent ticket) parameters that WeCom accepts', async () => {
    const s = await workStack();
    const url = 'https://work.example.com/page?x=1';
    const d = await ok(
      s,
      'work.jsapi.config',
      { ...agentPara(A1), url: `${url}#section`, jsApiList: ['selectExternalContact'] },
      null,
    );
    expect(d.config).toMatchObject({ beta: true, appId: CORP, jsApiList: ['selectExternalContact'] });
    expect(d.agentConfig).toMatchObject({
      corpid: CORP,
      agentid: A1.agentid,
      timestamp: d.config.timestamp,
      nonceStr: d.config.nonceStr,
    });
    const signed = {
      corpid: CORP,
      agentid: A1.agentid,
      url,
      nonceStr: d.config.nonceStr,
      timestamp: d.config.timestamp,
    };
    expect(s.sim.verifyWorkSignature({ ...signed, kind: 'jsapi', signature: d.config.signature })).toBe(true);
    expect(s.sim.verifyWorkSignature({ ...signed, kind: 'agent_config', signature: d.agentConfig.signature })).toBe(
      true,
    );
    expect(s.sim.verifyWorkSignature({ ...signed, kind: 'agent_config', signature: d.config.signature })).toBe(false);

    const only = await ok(s, 'work.jsapi.config', { ...agentPara(A2), url, agent: false }, null);
    expect(only.agentConfig).toBeUndefined();
    expect(
      s.sim.verifyWorkSignature({
        ...signed,
        agentid: A2.agentid,
        nonceStr: only.config.nonceStr,
        timestamp: only.config.timestamp,
        kind: 'jsapi',
        signature: only.config.signature,
      }),
    ).toBe(true);
    expect(s.sim.calls('work_agent_ticket', CORP)).toBe(1);
  });

  it('signs with the corp ticket WeCom issued (a seeded known ticket)', async () => {
    const s = await workStack();
    const ticket = 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg';
    s.sim.seedWorkTicket(CORP, A1.agentid, 'jsapi', ticket, s.sim.now() + HOUR);
    const url = 'http://mp.weixin.qq.com?params=value';
    const d = await ok(s, 'work.jsapi.config', { ...agentPara(A1), url, agent: false }, null);
    expect(d.config.signature).toBe(
      jsapiSignature({ ticket, nonceStr: d.config.nonceStr, timestamp: d.config.timestamp, url }),
    );
  });

  it('a bad url or an unknown agent is refused before any fetch', async () => {
    const s = await workStack();
    const bad = await s.envelope('work.jsapi.config', { ...agentPara(A1), url: 'javascript:alert(1)' }, null);
    expect(bad.json).toMatchObject({ returnCode: 1003 });
    const unknown = await s.envelope(
      'work.jsapi.config',
      { corpid: 'wwnobody', agentid: '1', url: 'https://a.example/' },
      null,
    );
    expect(unknown.json).toMatchObject({ returnCode: 1012 });
    expect(s.sim.calls('work_gettoken')).toBe(0);
  });
});

describe('work.register_agent', () => {
  const A9 = { corpid: CORP, agentid: '1000009', secret: 'registered-agent-secret-9-ccccccc' };

  it('admin only', async () => {
    const s = await workStack({ masterKey: true });
    const denied = await s.envelope('work.register_agent', { ...agentPara(A9), agentsecret: A9.secret });
    expect(denied.json).toMatchObject({ returnCode: 7006 });
    expect(await s.store.getRecord(`agent:${CORP}:${A9.agentid}`, s.sim.now())).toBeNull();
  });

  it('without WECRED_MASTER_KEY it is refused, naming the variable, and nothing is stored', async () => {
    const s = await workStack();
    const r = await s.envelope('work.register_agent', { ...agentPara(A9), agentsecret: A9.secret }, ADMIN);
    expect(r.json).toMatchObject({ returnCode: 7302, error: { code: 'config_fault' } });
    expect(r.json.error.message).toMatch(/WECRED_MASTER_KEY/);
    expect(await s.store.getRecord(`agent:${CORP}:${A9.agentid}`, s.sim.now())).toBeNull();
  });

  it('a registered agent serves tokens; its secret is sealed in the store and in no log line; a replaced secret drops its token', async () => {
    const s = await workStack({ masterKey: true });
    s.sim.addWorkApp(CORP, A9.agentid, A9.secret);
    const reg = await ok(
      s,
      'qcloud.work.initagent',
      { ...agentPara(A9), agentsecret: A9.secret, remark: 'sales' },
      ADMIN,
    );
    expect(reg).toEqual({ corpid: CORP, agentid: A9.agentid, remark: 'sales', created: true, replaced: false });
    const stored = await s.store.getRecord(`agent:${CORP}:${A9.agentid}`, s.sim.now());
    expect(stored).not.toContain(A9.secret);
    expect(JSON.parse(stored!)).toMatchObject({ secret: expect.stringMatching(/^v1\./), remark: 'sales' });

    const first = await ok(s, 'work.access_token', agentPara(A9));
    expect(s.sim.workTokenState(CORP, A9.agentid, first.access_token)).toBe('valid');
    expect(s.sim.calls('work_gettoken', CORP)).toBe(1);

    // The same secret again (a retry) says so, and still drops the token: the next read fetches it again.
    expect(await ok(s, 'work.register_agent', { ...agentPara(A9), agentsecret: A9.secret }, ADMIN)).toMatchObject({
      created: false,
      replaced: false,
    });
    expect((await ok(s, 'work.access_token', agentPara(A9))).access_token).toBe(first.access_token); // WeCom re-issues a live token
    expect(s.sim.calls('work_gettoken', CORP)).toBe(2);

    // The secret is reset in WeCom (the old one now answers 40001) and replaced here.
    const newSecret = 'registered-agent-secret-9-reset-ddd';
    s.sim.addWorkApp(CORP, A9.agentid, newSecret);
    expect(await ok(s, 'work.register_agent', { ...agentPara(A9), agentsecret: newSecret }, ADMIN)).toMatchObject({
      created: false,
      replaced: true,
    });
    const after = await ok(s, 'work.access_token', agentPara(A9));
    expect(s.sim.calls('work_gettoken', CORP)).toBe(3); // fetched anew, with the new secret (the old one would fail)
    expect(s.sim.workTokenState(CORP, A9.agentid, after.access_token)).toBe('valid');

    const logs = JSON.stringify(s.logs);
    for (const secret of [A9.secret, newSecret]) expect(logs).not.toContain(secret);
  });

  it('status lists a registered agent once, with its token and tickets, however often it is registered', async () => {
    const s = await workStack({ masterKey: true });
    s.sim.addWorkApp(CORP, A9.agentid, A9.secret);
    const keys = async () => (await ok(s, 'status', {}, ADMIN)).credentials.map((c: { key: string }) => c.key);
    expect(await keys()).not.toContain(`work:${CORP}:${A9.agentid}:token`);
    await Promise.all(
      [1, 2, 3].map(() => ok(s, 'work.register_agent', { ...agentPara(A9), agentsecret: A9.secret }, ADMIN)),
    );
    await ok(s, 'work.register_agent', { ...agentPara(A9), agentsecret: A9.secret }, ADMIN);
    await ok(s, 'work.access_token', agentPara(A9));
    const listed = (await keys()).filter((k: string) => k.startsWith(`work:${CORP}:${A9.agentid}:`));
    expect(listed).toEqual([
      `work:${CORP}:${A9.agentid}:token`,
      `work:${CORP}:${A9.agentid}:ticket`,
      `work:${CORP}:${A9.agentid}:agent_ticket`,
    ]);
    const token = (await ok(s, 'status', {}, ADMIN)).credentials.find((c: { key: string }) => c.key === listed[0]);
    expect(token).toMatchObject({ appType: 'work', state: 'fresh', present: true });
  });

  it('a damaged agent record is a clear configuration fault, never echoed; registering again cures it', async () => {
    const s = await workStack({ masterKey: true });
    s.sim.addWorkApp(CORP, A9.agentid, A9.secret);
    for (const damaged of ['{"secret": "not-json-closed', '{"secret": 42, "createdAt": 1, "updatedAt": 1}', 'null']) {
      await s.store.putRecord(`agent:${CORP}:${A9.agentid}`, damaged, Date.UTC(9999, 0, 1), s.sim.now());
      const r = await s.envelope('work.access_token', agentPara(A9));
      expect(r.json).toMatchObject({ returnCode: 7302, error: { code: 'config_fault' } });
      expect(r.json.error.message).toMatch(/damaged; register it again/);
      expect(JSON.stringify(s.logs)).not.toContain(damaged.slice(1));
    }
    expect(await ok(s, 'work.register_agent', { ...agentPara(A9), agentsecret: A9.secret }, ADMIN)).toMatchObject({
      created: false,
      replaced: true,
    });
    await ok(s, 'work.access_token', agentPara(A9));
    expect(s.sim.calls('work_gettoken', CORP)).toBe(1);
  });

  it('a configured agent cannot be registered over; a realm limited to other apps cannot register into a corp', async () => {
    const s = await workStack({
      masterKey: true,
      config: {
        realms: [
          { ...ADMIN, admin: true },
          { key: 'ops2', secret: 'ops2-realm-secret-0123456789', admin: true, apps: [MP.appid] },
        ],
      },
    });
    const configured = await s.envelope('work.register_agent', { ...agentPara(A1), agentsecret: 'x' }, ADMIN);
    expect(configured.json).toMatchObject({ returnCode: 1003 });
    const scoped = await s.envelope(
      'work.register_agent',
      { ...agentPara(A9), agentsecret: A9.secret },
      { key: 'ops2', secret: 'ops2-realm-secret-0123456789' },
    );
    expect(scoped.json).toMatchObject({ returnCode: 7005 });
    const missing = await s.envelope('work.register_agent', agentPara(A9), ADMIN);
    expect(missing.json.error.message).toMatch(/para\.agentsecret/);
  });
});

describe('Wafer fork aliases', () => {
  it("qcloud.work.* answer in the fork's shapes; a realm naming an alias may call the canonical interface too", async () => {
    const s = await workStack({
      config: {
        realms: [
          { ...REALM, apps: [CORP], interfaces: ['qcloud.work.access_token', 'work.ticket', 'work.agent_ticket'] },
          { ...ADMIN, admin: true },
        ],
      },
    });
    const token = await ok(s, 'qcloud.work.access_token', agentPara(A1));
    expect(Object.keys(token).sort()).toEqual(['access_token', 'corpid', 'exp']);
    expect(token.corpid).toBe(CORP);
    expect((await ok(s, 'work.access_token', agentPara(A1))).access_token).toBe(token.access_token);

    const ticket = await ok(s, 'qcloud.work.ticket', agentPara(A1));
    expect(Object.keys(ticket).sort()).toEqual(['corpid', 'exp', 'ticket']);
    const agentTicket = await ok(s, 'qcloud.work.agent.ticket', agentPara(A1));
    expect(Object.keys(agentTicket).sort()).toEqual(['agent_ticket', 'corpid', 'exp']);
    expect(agentTicket.agent_ticket).not.toBe(ticket.ticket);
  });
});
