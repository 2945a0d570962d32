import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../lib/store/memory';
import { ADMIN, beijingNoon, MP, MP2, startStack, type Stack } from './support/stack';

const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});
/** Each test counts forced refreshes of one Beijing day: its simulator starts at noon there. */
async function stackOf(opts: Parameters<typeof startStack>[0] = {}) {
  const s = await startStack({ simOptions: { now: beijingNoon() }, ...opts });
  stacks.push(s);
  return s;
}

describe('force refresh of an access_token WeChat rejected', () => {
  it('20 concurrent force requests with the same stale token, over two instances sharing a store: one rotation, everybody gets the new token', async () => {
    const store = createMemoryStore();
    const a = await stackOf({ store });
    const b = await stackOf({ store, sim: a.sim });
    const first = await a.envelope('access_token', { appid: MP.appid });
    const stale = first.json.returnData.access_token;
    expect(a.sim.calls('stable_token')).toBe(1);
    a.sim.advance(31_000); // a token is not replaced within 30 s of its issue (see below)
    a.sim.invalidateToken(stale); // WeChat ended it: the reports are true

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).envelope('access_token', { appid: MP.appid, force: true, stale }),
      ),
    );
    expect(a.sim.calls('stable_token')).toBe(2);
    expect(a.sim.calls('api_domain_ip')).toBe(1); // one probe confirmed it, for all of them
    const tokens = new Set(answers.map((r) => r.json.returnData.access_token));
    expect(tokens.size).toBe(1);
    const [fresh] = tokens;
    expect(fresh).not.toBe(stale);
    expect(a.sim.tokenState(MP.appid, fresh as string)).toBe('valid');

    // A late report about the already-replaced token rotates nothing.
    const late = await b.envelope('access_token', { appid: MP.appid, force: 'true', stale });
    expect(late.json.returnData.access_token).toBe(fresh);
    expect(a.sim.calls('stable_token')).toBe(2);
    // status tells the operator what the reports were found to be
    const status = await a.envelope('status', {}, ADMIN);
    const row = status.json.returnData.credentials.find((c: any) => c.key === `mp:${MP.appid}:token`);
    expect(row.today.reports).toMatchObject({ rejected: { total: 1 }, live: { total: 0 } });
  });

  it('force without stale inside the cooldown is refused with its own returnCode; after the cooldown it rotates', async () => {
    const s = await stackOf();
    const before = (await s.envelope('access_token', {})).json.returnData.access_token;
    const forced = await s.envelope('access_token', { force: true });
    expect(forced.json.returnCode).toBe(0);
    expect(forced.json.returnData.access_token).not.toBe(before);
    const refused = await s.envelope('access_token', { force: true });
    expect(refused.json).toMatchObject({ returnCode: 7102, returnData: '', error: { code: 'force_refused' } });
    expect(s.sim.calls('stable_token')).toBe(2);
    s.sim.advance(61_000);
    const again = await s.envelope('access_token', { force: true });
    expect(again.json.returnCode).toBe(0);
    expect(again.json.returnData.access_token).not.toBe(forced.json.returnData.access_token);
  });

  it('"force": "false" is no force; stale without force is refused as bad para', async () => {
    const s = await stackOf();
    await s.envelope('access_token', {});
    const notForced = await s.envelope('access_token', { force: 'false' });
    expect(notForced.json.returnCode).toBe(0);
    expect(s.sim.calls('stable_token')).toBe(1);
    const bad = await s.envelope('access_token', { stale: 'x' });
    expect(bad.json.returnCode).toBe(1003);
  });

  it('classic mode: a forced refresh mints a new token and the old one keeps working for 5 minutes', async () => {
    const s = await stackOf();
    const old = (await s.envelope('access_token', { appid: MP2.appid })).json.returnData.access_token;
    s.sim.advance(31_000);
    const fresh = (await s.envelope('access_token', { appid: MP2.appid, force: true })).json.returnData.access_token;
    expect(fresh).not.toBe(old);
    expect(s.sim.calls('token', MP2.appid)).toBe(2);
    expect(s.sim.tokenState(MP2.appid, old)).toBe('valid');
    s.sim.advance(301_000);
    expect(s.sim.tokenState(MP2.appid, old)).not.toBe('valid');
  });

  it('a replacement reported stale within 30 s is not replaced again: 7102, no upstream call', async () => {
    const s = await stackOf();
    const first = (await s.envelope('access_token', { appid: MP2.appid })).json.returnData.access_token;
    s.sim.invalidateToken(first);
    const second = (await s.envelope('access_token', { appid: MP2.appid, force: true, stale: first })).json.returnData
      .access_token;
    expect(second).not.toBe(first);
    const refused = await s.envelope('access_token', { appid: MP2.appid, force: true, stale: second });
    expect(refused.json).toMatchObject({ returnCode: 7102, error: { code: 'force_refused' } });
    expect(refused.json.returnMessage).toMatch(/another server may be fetching tokens/);
    expect(s.sim.calls('token', MP2.appid)).toBe(2);
    s.sim.advance(30_000);
    s.sim.invalidateToken(second);
    const third = await s.envelope('access_token', { appid: MP2.appid, force: true, stale: second });
    expect(third.json.returnData.access_token).not.toBe(second);
    expect(s.sim.calls('token', MP2.appid)).toBe(3);
  });

  it('stable mode spends at most 20 forced refreshes a day', async () => {
    const s = await stackOf({ config: { credentials: { forceCooldownSeconds: 0 } } });
    let token = (await s.envelope('access_token', {})).json.returnData.access_token;
    for (let i = 0; i < 20; i++) {
      s.sim.advance(31_000); // WeChat only rotates forced tokens 30 s apart
      s.sim.invalidateToken(token);
      const r = await s.envelope('access_token', { force: true, stale: token });
      expect(r.json.returnCode).toBe(0);
      token = r.json.returnData.access_token;
    }
    const calls = s.sim.calls('stable_token');
    s.sim.advance(31_000);
    s.sim.invalidateToken(token);
    const over = await s.envelope('access_token', { force: true, stale: token });
    expect(over.json).toMatchObject({ returnCode: 7101, error: { code: 'quota_exhausted' } });
    expect(s.sim.calls('stable_token')).toBe(calls);
    // Normal reads keep working.
    expect((await s.envelope('access_token', {})).json.returnData.access_token).toBe(token);
  });

  it("a stable force answered 45009 spends today's force budget: later forces are refused without calling WeChat, normal reads go on", async () => {
    const s = await stackOf({ config: { credentials: { forceCooldownSeconds: 0 } } });
    const token = (await s.envelope('access_token', {})).json.returnData.access_token;
    s.sim.advance(31_000);
    s.sim.invalidateToken(token);
    s.sim.fault('stable_token', { errcode: 45009, errmsg: 'reach max api daily quota limit' });
    expect((await s.envelope('access_token', { force: true, stale: token })).json).toMatchObject({
      returnCode: 7101,
      error: { errcode: 45009 },
    });
    const calls = s.sim.calls('stable_token');
    s.sim.advance(31_000);
    expect((await s.envelope('access_token', { force: true, stale: token })).json.returnCode).toBe(7101);
    expect(s.sim.calls('stable_token')).toBe(calls);
    expect((await s.envelope('access_token', {})).json.returnData.access_token).toBe(token);
  });
});
