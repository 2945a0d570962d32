/**
 * quota.clear through the real HTTP server: WeChat's clear_quota/v2 (with the appsecret) ends a
 * 45009 breaker, and the month's 10 clears are counted before WeChat is asked. docs/design.md §5.12.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { beijingMonth, nextBeijingMonth } from '../lib/credentials/day';
import { WechatSim } from '../sim';
import { ADMIN, MP, MP2, REALM, startStack, type Stack } from './support/stack';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

/** MP2 fetches classic tokens; the simulator allows 3 a day, so a few forced refreshes exhaust it. */
async function quotaStack(sim?: WechatSim): Promise<Stack> {
  const s = await startStack({
    ...(sim ? { sim } : { simOptions: { tokenDailyQuota: 3 } }),
    config: { credentials: { forceCooldownSeconds: 0 } },
  });
  open.push(s);
  if (!sim) open.push(s.sim);
  return s;
}

const token = (s: Stack, force = false) =>
  s.envelope('access_token', { appid: MP2.appid, ...(force ? { force } : {}) });

async function status(s: Stack) {
  const { json } = await s.envelope('status', {}, ADMIN);
  const row = json.returnData.credentials.find((c: any) => c.key === `mp:${MP2.appid}:token`);
  const clears = json.returnData.quotaClears.find((q: any) => q.appid === MP2.appid);
  return { row, clears };
}

describe('quota.clear', () => {
  it("resets the simulator's counter and the 45009 breaker; the app's tokens flow again", async () => {
    const s = await quotaStack();
    for (const force of [false, true, true]) expect((await token(s, force)).json.returnCode).toBe(0);
    const exhausted = await token(s, true);
    expect(exhausted.json).toMatchObject({ returnCode: 7101, error: { code: 'quota_exhausted', errcode: 45009 } });
    expect(s.sim.calls('token', MP2.appid)).toBe(4);
    // the breaker: no further call reaches WeChat today
    expect((await token(s, true)).json.returnCode).toBe(7101);
    expect(s.sim.calls('token', MP2.appid)).toBe(4);
    expect((await status(s)).row.blockedUntil).not.toBeNull();

    const before = Math.floor(s.sim.now() / 1000);
    const cleared = await s.envelope('quota.clear', { appid: MP2.appid }, ADMIN);
    expect(cleared.json).toMatchObject({
      returnCode: 0,
      returnData: { appid: MP2.appid, used: 1, limit: 10, unblocked: [`mp:${MP2.appid}:token`] },
    });
    expect(cleared.json.returnData.lastClearAt).toBeGreaterThanOrEqual(before);
    expect(cleared.json.returnData.lastClearAt).toBeLessThanOrEqual(Math.floor(s.sim.now() / 1000));
    const after = await status(s);
    expect(after.row).toMatchObject({ blockedUntil: null, state: expect.not.stringMatching(/refused/) });
    expect(after.clears).toMatchObject({ used: 1, limit: 10, lastClearAt: cleared.json.returnData.lastClearAt });

    const again = await token(s, true);
    expect(again.json.returnCode).toBe(0);
    expect(s.sim.tokenState(MP2.appid, again.json.returnData.access_token)).toBe('valid');
    expect(s.sim.calls('token', MP2.appid)).toBe(5);
    // the simulator's day counter started again: three fetches in all before the next 45009
    expect((await token(s, true)).json.returnCode).toBe(0);
    expect((await token(s, true)).json.returnCode).toBe(0);
    expect((await token(s, true)).json.returnCode).toBe(7101);
  });

  it('the 11th clear of a month is refused before WeChat is asked, and changes nothing', async () => {
    const s = await quotaStack();
    for (let i = 1; i <= 10; i++) {
      const { json } = await s.envelope('quota.clear', { appid: MP.appid }, ADMIN);
      expect(json).toMatchObject({ returnCode: 0, returnData: { used: i } });
    }
    expect(s.sim.calls('clear_quota', MP.appid)).toBe(10);
    const refused = await s.envelope('quota.clear', { appid: MP.appid }, ADMIN);
    expect(refused.json).toMatchObject({ returnCode: 7104, error: { code: 'budget_exhausted' } });
    const month = beijingMonth(s.sim.now());
    expect(refused.json.error.message).toBe(
      `${MP.appid}: the 10 quota clears WeChat allows per month are used for ${month} (Beijing time); the next is possible from ${new Date(nextBeijingMonth(s.sim.now())).toISOString()}`,
    );
    // each clear WeChat was asked for is one line, and one upstream call on its request's line
    const cleared = s.logs.filter((l) => l.event === 'quota_cleared');
    expect(cleared).toHaveLength(10);
    expect(cleared[9]).toMatchObject({ appid: MP.appid, month, used: 10, caller: ADMIN.key });
    const requests = s.logs.filter((l) => l.event === 'request' && l.route === 'quota.clear');
    expect(requests.map((l) => l.upstream)).toEqual([...Array(10).fill(1), 0]);
    expect(s.sim.calls('clear_quota', MP.appid)).toBe(10);
    expect((await status(s)).clears).toBeDefined();
    const { json } = await s.envelope('status', {}, ADMIN);
    expect(json.returnData.quotaClears.find((q: any) => q.appid === MP.appid)).toMatchObject({ used: 10 });
    // another app has its own ten
    expect((await s.envelope('quota.clear', { appid: MP2.appid }, ADMIN)).json.returnCode).toBe(0);
  });

  it('two instances sharing a store share the ten, and one clear opens the breaker for both', async () => {
    const a = await quotaStack();
    const b = await startStack({
      sim: a.sim,
      store: a.store,
      config: { credentials: { forceCooldownSeconds: 0, localCacheSeconds: 0 } },
    });
    open.push(b);
    for (const force of [false, true, true, true]) await token(a, force);
    expect((await token(b, true)).json.returnCode).toBe(7101); // a's breaker, seen by b
    for (let i = 0; i < 10; i++)
      expect((await (i % 2 ? a : b).envelope('quota.clear', { appid: MP2.appid }, ADMIN)).json.returnCode).toBe(0);
    expect((await b.envelope('quota.clear', { appid: MP2.appid }, ADMIN)).json.returnCode).toBe(7104);
    expect((await a.envelope('quota.clear', { appid: MP2.appid }, ADMIN)).json.returnCode).toBe(7104);
    expect(a.sim.calls('clear_quota', MP2.appid)).toBe(10);
    expect((await token(b, true)).json.returnCode).toBe(0);
  });

  it("WeChat's own monthly limit (48006, clears made elsewhere) is passed on, and our count catches up", async () => {
    const sim = await WechatSim.start();
    open.push(sim);
    sim.addApp(MP.appid, MP.secret);
    for (let i = 0; i < 10; i++) {
      const r = await fetch(`${sim.url}/cgi-bin/clear_quota/v2`, {
        method: 'POST',
        body: JSON.stringify({ appid: MP.appid, appsecret: MP.secret }),
      });
      expect(await r.json()).toMatchObject({ errcode: 0 });
    }
    const s = await quotaStack(sim);
    const { json } = await s.envelope('quota.clear', { appid: MP.appid }, ADMIN);
    expect(json).toMatchObject({ returnCode: 7101, error: { code: 'quota_exhausted', errcode: 48006 } });
    expect(json.returnMessage).toContain(
      `clear_quota/v2 for ${MP.appid} answered errcode 48006: WeChat counts this month's 10 clears as used`,
    );
    const state = await s.envelope('status', {}, ADMIN);
    expect(state.json.returnData.quotaClears.find((q: any) => q.appid === MP.appid)).toMatchObject({
      used: 10,
      lastClearAt: null,
    });
    expect((await s.envelope('quota.clear', { appid: MP.appid }, ADMIN)).json.returnCode).toBe(7104);
    expect(sim.calls('clear_quota', MP.appid)).toBe(11);
  });

  it('a clear WeChat refuses or never answers is not counted against the month, and says what WeChat answered', async () => {
    const s = await quotaStack();
    s.sim.fault('clear_quota', { errcode: 40013, errmsg: 'invalid appid' });
    const refused = await s.envelope('quota.clear', { appid: MP2.appid }, ADMIN);
    expect(refused.json).toMatchObject({
      returnCode: 7302,
      error: { code: 'config_fault', errcode: 40013 },
    });
    expect(refused.json.returnMessage).toContain(
      `clear_quota/v2 for ${MP2.appid} answered errcode 40013: check the app's secret, appid and WeChat's IP allow-list`,
    );
    s.sim.fault('clear_quota', { http: 502 });
    expect((await s.envelope('quota.clear', { appid: MP2.appid }, ADMIN)).json.returnCode).not.toBe(0);
    // the refused clear gave its count back; the one that never got an answer may have been made
    expect((await status(s)).clears).toMatchObject({ used: 1, lastClearAt: null });
    expect((await s.envelope('quota.clear', { appid: MP2.appid }, ADMIN)).json.returnData).toMatchObject({ used: 2 });
    // the last clear is the app's own
    const { json } = await s.envelope('status', {}, ADMIN);
    expect(json.returnData.quotaClears.find((q: any) => q.appid === MP2.appid).lastClearAt).toEqual(expect.any(Number));
    expect(json.returnData.quotaClears.find((q: any) => q.appid === MP.appid).lastClearAt).toBeNull();
  });

  it('admin only; an unknown app or a missing appid is refused; no secret in any answer or log line', async () => {
    const s = await quotaStack();
    expect((await s.envelope('quota.clear', { appid: MP.appid }, REALM)).json.returnCode).toBe(7006);
    expect((await s.envelope('quota.clear', { appid: 'wx9999999999999999' }, ADMIN)).json.returnCode).toBe(1012);
    expect((await s.envelope('quota.clear', {}, ADMIN)).json.returnCode).toBe(1003);
    expect(s.sim.calls('clear_quota')).toBe(0);
    await s.envelope('quota.clear', { appid: MP.appid }, ADMIN);
    expect(JSON.stringify(s.logs)).not.toContain(MP.secret);
  });
});
