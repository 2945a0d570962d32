/** The WeCom simulator against docs/protocol.md §4.1–§4.7 and §8. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WechatSim } from './index';
import { jsapiSignature } from './jsapi';
import { getJson, type Json } from './testkit';

const CORP = 'ww1234567890abcdef';
const CORP2 = 'wwfedcba0987654321';
const A1 = { agentid: '1000002', secret: 'agent-secret-1000002-aaaaaaaaaaaaaaa' };
const A2 = { agentid: '1000003', secret: 'agent-secret-1000003-bbbbbbbbbbbbbbb' };
const OTHER = { agentid: '1000002', secret: 'agent-secret-of-another-corp-ccccc' };
const HOUR = 3_600_000;

let sim: WechatSim;
beforeEach(async () => {
  // Two minutes into a clock hour, so that an hour of calls stays inside it.
  sim = await WechatSim.start({ now: Date.UTC(2025, 0, 6, 9, 2) });
  sim.addWorkApp(CORP, A1.agentid, A1.secret);
  sim.addWorkApp(CORP, A2.agentid, A2.secret);
  sim.addWorkApp(CORP2, OTHER.agentid, OTHER.secret);
});
afterEach(async () => {
  await sim.close();
});

const gettoken = (q: Record<string, string>) => getJson(sim, `/cgi-bin/gettoken?${new URLSearchParams(q)}`);
const corpTicket = (token: string) =>
  getJson(sim, `/cgi-bin/get_jsapi_ticket?${new URLSearchParams({ access_token: token })}`);
const agentTicket = (token: string) =>
  getJson(sim, `/cgi-bin/ticket/get?${new URLSearchParams({ access_token: token, type: 'agent_config' })}`);
async function tokenOf(agent: { secret: string }, corpid = CORP): Promise<string> {
  const r = await gettoken({ corpid, corpsecret: agent.secret });
  expect(r).toMatchObject({ errcode: 0, errmsg: 'ok' });
  expect(r.expires_in).toBeGreaterThan(0);
  return r.access_token as string;
}
const errcode = (r: Json) => r.errcode;

describe('cgi-bin/gettoken', () => {
  it('one token per app secret; the same token again while it lives, with its remaining lifetime', async () => {
    const first = await gettoken({ corpid: CORP, corpsecret: A1.secret });
    expect(first).toMatchObject({ errcode: 0, errmsg: 'ok', expires_in: 7200 });
    const t1 = first.access_token;
    const t2 = await tokenOf(A2);
    expect(t1).not.toBe(t2);
    sim.advance(600_000);
    const again = await gettoken({ corpid: CORP, corpsecret: A1.secret });
    expect(again).toMatchObject({ errcode: 0, access_token: t1, expires_in: 6600 });
    expect(sim.workTokenState(CORP, A1.agentid, t1 as string)).toBe('valid');
    expect(sim.workTokenState(CORP, A2.agentid, t1 as string)).toBe('invalid');
    expect(sim.calls('work_gettoken', CORP)).toBe(3);
  });

  it("checks the secret first (41004), then the corpid (41002, 40013), then the secret (40091 another corp's, 40001 wrong)", async () => {
    expect(errcode(await gettoken({}))).toBe(41004);
    expect(errcode(await gettoken({ corpid: CORP }))).toBe(41004);
    expect(errcode(await gettoken({ corpsecret: A1.secret }))).toBe(41002);
    const unknown = await gettoken({ corpid: 'wwunknown', corpsecret: A1.secret });
    expect(unknown).toMatchObject({ errcode: 40013 });
    expect(unknown.errmsg).toMatch(/^invalid corpid, rid: /);
    expect(errcode(await gettoken({ corpid: CORP, corpsecret: OTHER.secret }))).toBe(40091);
    expect(errcode(await gettoken({ corpid: CORP, corpsecret: 'wrong' }))).toBe(40001);
  });

  it('after its lifetime, or once WeCom ended it early, gettoken issues a new token', async () => {
    const t1 = await tokenOf(A1);
    sim.advance(7200_000);
    expect(sim.workTokenState(CORP, A1.agentid, t1)).toBe('expired');
    const t2 = await tokenOf(A1);
    expect(t2).not.toBe(t1);
    sim.invalidateWorkToken(t2);
    expect(sim.workTokenState(CORP, A1.agentid, t2)).toBe('invalid');
    const t3 = await tokenOf(A1);
    expect(t3).not.toBe(t2);
  });
});

describe('tickets', () => {
  it('corp and agent tickets: per app, re-issued unchanged while valid, new after expiry', async () => {
    const token = await tokenOf(A1);
    const c1 = await corpTicket(token);
    expect(c1).toMatchObject({ errcode: 0, errmsg: 'ok', expires_in: 7200 });
    const a1 = await agentTicket(token);
    expect(a1).toMatchObject({ errcode: 0, expires_in: 7200 });
    expect(a1.ticket).not.toBe(c1.ticket);
    sim.advance(60_000);
    expect(await corpTicket(token)).toMatchObject({ ticket: c1.ticket, expires_in: 7140 });
    expect(await agentTicket(await tokenOf(A2))).not.toMatchObject({ ticket: a1.ticket });
    expect(sim.calls('work_jsapi_ticket', CORP)).toBe(2);
    expect(sim.calls('work_agent_ticket', CORP)).toBe(2);
  });

  it('a missing token 41001, an unknown or early-ended one 40014, an expired one 42001; ticket/get serves type=agent_config only', async () => {
    expect(errcode(await getJson(sim, '/cgi-bin/get_jsapi_ticket'))).toBe(41001);
    expect(errcode(await corpTicket('garbage'))).toBe(40014);
    const token = await tokenOf(A1);
    const ticket = (await agentTicket(token)).ticket;
    // WeCom's answer to another type is undocumented: the sim fails the request loudly instead.
    expect((await fetch(`${sim.url}/cgi-bin/ticket/get?access_token=${token}&type=jsapi`)).status).toBe(400);
    sim.invalidateWorkToken(token);
    expect(errcode(await agentTicket(token))).toBe(40014);
    // The ticket is still valid and re-issued, but only to a live token of its app.
    expect((await agentTicket(await tokenOf(A1))).ticket).toBe(ticket);
    const fresh = await tokenOf(A1);
    sim.advance(7200_000);
    expect(errcode(await corpTicket(fresh))).toBe(42001);
  });

  it('get_jsapi_ticket: 100 per app per hour, then 45009 and the app is blocked for 60 minutes', async () => {
    const token = await tokenOf(A1);
    for (let i = 0; i < 100; i++) expect(errcode(await corpTicket(token))).toBe(0);
    sim.advance(30 * 60_000);
    const over = await corpTicket(token);
    expect(over).toMatchObject({ errcode: 45009 });
    expect(over.errmsg).toMatch(/^api freq out of limit/);
    // Another app of the corp still has its own 100; the agent ticket has its own limit.
    expect(errcode(await corpTicket(await tokenOf(A2)))).toBe(0);
    expect(errcode(await agentTicket(token))).toBe(0);
    // The 100 calls left the last hour 30 minutes ago, but the block lasts 60 minutes from the 45009.
    sim.advance(59 * 60_000);
    expect(errcode(await corpTicket(await tokenOf(A1)))).toBe(45009);
    sim.advance(2 * 60_000);
    expect(errcode(await corpTicket(await tokenOf(A1)))).toBe(0);
  });

  it('the hour is a rolling one, not the clock hour: 100 calls at 09:59 leave none at 10:00', async () => {
    sim.advance(57 * 60_000); // 09:59
    const token = await tokenOf(A1);
    for (let i = 0; i < 100; i++) expect(errcode(await agentTicket(token))).toBe(0);
    sim.advance(60_000); // 10:00
    expect(errcode(await agentTicket(token))).toBe(45009);
  });

  it('get_jsapi_ticket: 400 per corp per hour over all its apps', async () => {
    const agents = Array.from({ length: 5 }, (_, i) => ({
      agentid: String(2000000 + i),
      secret: `corp-limit-secret-${i}`,
    }));
    for (const a of agents) sim.addWorkApp(CORP, a.agentid, a.secret);
    const tokens = await Promise.all(agents.map((a) => tokenOf(a)));
    for (let i = 0; i < 400; i++) expect(errcode(await corpTicket(tokens[i % 4]!))).toBe(0);
    expect(errcode(await corpTicket(tokens[4]!))).toBe(45009);
    // Another corp is not affected.
    expect(errcode(await corpTicket(await tokenOf(OTHER, CORP2)))).toBe(0);
  });

  it('ticket/get?type=agent_config: 100 per app per hour, then 45009', async () => {
    const token = await tokenOf(A1);
    for (let i = 0; i < 100; i++) expect(errcode(await agentTicket(token))).toBe(0);
    expect(errcode(await agentTicket(token))).toBe(45009);
    expect(errcode(await agentTicket(await tokenOf(A2)))).toBe(0);
  });
});

describe('JS-SDK signatures (docs/protocol.md §4.4)', () => {
  it('the official WeCom vector verifies with a seeded corp ticket; the agent signature needs the agent ticket', () => {
    const ticket = 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg';
    sim.seedWorkTicket(CORP, A1.agentid, 'jsapi', ticket, sim.now() + HOUR);
    const page = { nonceStr: 'Wm3WZYTPz0wzccnW', timestamp: 1414587457, url: 'http://mp.weixin.qq.com?params=value' };
    const signature = '0f9de62fce790f9a083d5c99e95740ceb90c27ed';
    expect(jsapiSignature({ ticket, ...page })).toBe(signature);
    expect(sim.verifyWorkSignature({ corpid: CORP, agentid: A1.agentid, kind: 'jsapi', ...page, signature })).toBe(
      true,
    );
    expect(
      sim.verifyWorkSignature({ corpid: CORP, agentid: A1.agentid, kind: 'agent_config', ...page, signature }),
    ).toBe(false);
    expect(sim.verifyWorkSignature({ corpid: CORP2, agentid: A1.agentid, kind: 'jsapi', ...page, signature })).toBe(
      false,
    );
    sim.advance(HOUR);
    expect(sim.verifyWorkSignature({ corpid: CORP, agentid: A1.agentid, kind: 'jsapi', ...page, signature })).toBe(
      false,
    );
  });
});

describe('secrets without an agent', () => {
  it('a contacts secret gets its own token, which the JS-SDK ticket APIs refuse (48002)', async () => {
    const sim = await WechatSim.start();
    try {
      sim.addWorkApp('wwc0000000000000c1', '1000002', 'agent-secret');
      sim.addWorkSecret('wwc0000000000000c1', 'contacts', 'contacts-secret');
      const get = async (path: string) => (await (await fetch(`${sim.url}${path}`)).json()) as Record<string, any>;
      const t = await get('/cgi-bin/gettoken?corpid=wwc0000000000000c1&corpsecret=contacts-secret');
      expect(t).toMatchObject({ errcode: 0, expires_in: 7200 });
      expect(sim.workTokenState('wwc0000000000000c1', 'contacts', t.access_token)).toBe('valid');
      expect((await get(`/cgi-bin/get_jsapi_ticket?access_token=${t.access_token}`)).errcode).toBe(48002);
      expect((await get(`/cgi-bin/ticket/get?access_token=${t.access_token}&type=agent_config`)).errcode).toBe(48002);
    } finally {
      await sim.close();
    }
  });
});
