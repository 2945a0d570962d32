import { afterEach, describe, expect, it } from 'vitest';
import { MP, MP2, startStack, type Stack } from './support/stack';

let stack: Stack;
afterEach(() => stack?.close());

const tokenOf = async (appid = MP.appid) => (await stack.envelope('access_token', { appid })).json;

describe('upstream faults', () => {
  it.each([
    ['errcode -1', { errcode: -1, errmsg: 'system error' }],
    ['errcode 45011', { errcode: 45011, errmsg: 'api minute-quota reach limit mustslower retry next minute' }],
    ['HTTP 502', { http: 502 }],
    ['a garbage body', { garbage: true as const }],
    ['a dropped connection', { drop: true as const }],
    ['a timeout', { delayMs: 1500 }],
  ])('%s is retried inside the request budget', async (_what, fault) => {
    stack = await startStack();
    stack.sim.fault('stable_token', fault, 2);
    const res = await tokenOf();
    expect(res.returnCode).toBe(0);
    expect(stack.sim.calls('stable_token')).toBe(3);
    expect(stack.sim.tokenState(MP.appid, res.returnData.access_token)).toBe('valid');
  });

  it('gives up with 1005 when the budget runs out, and stores nothing', async () => {
    stack = await startStack();
    stack.sim.fault('stable_token', { http: 503 }, 1000);
    const started = Date.now();
    const res = await tokenOf();
    expect(res).toMatchObject({ returnCode: 1005, returnData: '', error: { code: 'upstream_unavailable' } });
    expect(Date.now() - started).toBeLessThan(4500);
    expect(stack.sim.calls('stable_token')).toBeGreaterThan(1);
    expect(await stack.store.read(`mp:${MP.appid}:token`)).toMatchObject({ value: '', version: 0 });
  });

  it.each([
    [40125, 'invalid appsecret'],
    [40164, 'invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist'],
    [41004, 'appsecret missing'],
    [40013, 'invalid appid'],
  ])('errcode %i is a configuration fault, reported with the errcode and not retried', async (errcode, errmsg) => {
    stack = await startStack();
    stack.sim.fault('stable_token', { errcode, errmsg });
    const res = await tokenOf();
    expect(res).toMatchObject({ returnCode: 7302, returnData: '', error: { code: 'config_fault', errcode } });
    expect(stack.sim.calls('stable_token')).toBe(1);
  });

  it('a wrong secret (the simulator answers 40125) is a configuration fault', async () => {
    stack = await startStack({ config: { apps: [{ ...MP, default: true }] } });
    stack.sim.addApp(MP.appid, 'the-real-secret'); // the sim now disagrees with our config
    const res = await tokenOf();
    expect(res).toMatchObject({ returnCode: 7302, error: { errcode: 40125 } });
  });

  it('45009 stops every further call for that credential until the next Beijing day', async () => {
    stack = await startStack();
    stack.sim.fault('token', { errcode: 45009, errmsg: 'reach max api daily quota limit' });
    expect(await tokenOf(MP2.appid)).toMatchObject({
      returnCode: 7101,
      error: { code: 'quota_exhausted', errcode: 45009 },
    });
    for (let i = 0; i < 3; i++) expect((await tokenOf(MP2.appid)).returnCode).toBe(7101);
    expect(stack.sim.calls('token', MP2.appid)).toBe(1);
    // The other app is not affected.
    expect((await tokenOf(MP.appid)).returnCode).toBe(0);
    const now = stack.sim.now();
    const nextMidnight = (Math.floor((now + 8 * 3600_000) / 86_400_000) + 1) * 86_400_000 - 8 * 3600_000;
    stack.sim.advance(nextMidnight - now + 1000);
    expect((await tokenOf(MP2.appid)).returnCode).toBe(0);
    expect(stack.sim.calls('token', MP2.appid)).toBe(2);
  });

  it('a failed refresh never overwrites a good token, which is served until it really expires', async () => {
    stack = await startStack();
    const good = (await tokenOf(MP2.appid)).returnData.access_token;
    const row = await stack.store.read(`mp:${MP2.appid}:token`);
    stack.sim.advance(7200_000 - 200_000); // inside the 300 s refresh window
    stack.sim.fault('token', { errcode: -1 }, 1000);
    const res = await tokenOf(MP2.appid);
    expect(res.returnData.access_token).toBe(good);
    // the refresh runs beside the request, fails, and leaves the good token as it was
    await expect.poll(async () => (await stack.store.read(`mp:${MP2.appid}:token`))?.failures).toBe(1);
    expect(await stack.store.read(`mp:${MP2.appid}:token`)).toMatchObject({
      value: good,
      version: row!.version,
      leaseOwner: '',
    });
  });

  it('refreshes ahead: inside the window one request refreshes while the old token is still valid', async () => {
    stack = await startStack();
    const first = (await tokenOf(MP2.appid)).returnData.access_token;
    stack.sim.advance(7200_000 - 250_000);
    const answers = await Promise.all(Array.from({ length: 50 }, () => tokenOf(MP2.appid)));
    await expect.poll(() => stack.sim.calls('token', MP2.appid)).toBe(2);
    const second = (await tokenOf(MP2.appid)).returnData.access_token;
    expect(second).not.toBe(first);
    for (const a of answers) expect([first, second]).toContain(a.returnData.access_token);
  });

  it('a crashed refresh winner blocks nobody past leaseSeconds', async () => {
    stack = await startStack({ config: { credentials: { leaseSeconds: 2 } } });
    const key = `mp:${MP.appid}:token`;
    expect(await stack.store.acquireLease(key, 'crashed-instance')).not.toBeNull();
    const started = Date.now();
    const res = await tokenOf();
    expect(res.returnCode).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(stack.sim.calls('stable_token')).toBe(1);
  });

  it('a ticket fetch rejected for its token (40001) replaces the token once and retries', async () => {
    stack = await startStack();
    const old = (await tokenOf(MP2.appid)).returnData.access_token;
    // Somebody else fetched classic tokens with our secret; ours dies 5 minutes later.
    await fetch(
      `${stack.sim.url}/cgi-bin/token?grant_type=client_credential&appid=${MP2.appid}&secret=${stack.config.apps[1]!.secret}`,
    );
    stack.sim.advance(301_000);
    expect(stack.sim.tokenState(MP2.appid, old)).not.toBe('valid');
    const res = await stack.envelope('ticket', { appid: MP2.appid });
    expect(res.json.returnCode).toBe(0);
    expect(stack.sim.calls('getticket')).toBe(2);
    expect(stack.sim.calls('token', MP2.appid)).toBe(3);
    const now = (await tokenOf(MP2.appid)).returnData.access_token;
    expect(now).not.toBe(old);
    expect(stack.sim.tokenState(MP2.appid, now)).toBe('valid');
  });

  it('while the old token still works, a failing WeChat costs one attempt beside the requests, and then nothing for a minute', async () => {
    stack = await startStack();
    const good = (await tokenOf(MP2.appid)).returnData.access_token;
    stack.sim.advance(7200_000 - 200_000);
    stack.sim.fault('token', { errcode: -1 }, 1000);
    const started = Date.now();
    expect((await tokenOf(MP2.appid)).returnData.access_token).toBe(good);
    expect(Date.now() - started).toBeLessThan(300); // answered at once: the refresh runs beside it
    await expect.poll(async () => (await stack.store.read(`mp:${MP2.appid}:token`))?.failures).toBe(1);
    const calls = stack.sim.calls('token', MP2.appid);
    expect(calls).toBe(2);
    const again = Date.now();
    for (let i = 0; i < 5; i++) expect((await tokenOf(MP2.appid)).returnData.access_token).toBe(good);
    expect(Date.now() - again).toBeLessThan(300);
    expect(stack.sim.calls('token', MP2.appid)).toBe(calls);
    stack.sim.advance(61_000);
    stack.sim.clearFaults();
    expect((await tokenOf(MP2.appid)).returnData.access_token).toBe(good); // served while it is refreshed
    await expect.poll(async () => (await tokenOf(MP2.appid)).returnData.access_token).not.toBe(good);
  });

  it('a ticket request never outlives its budget, even while its token is slow to come', async () => {
    stack = await startStack({ config: { upstream: { timeoutMs: 1000, budgetMs: 2000 } } });
    stack.sim.fault('stable_token', { delayMs: 1500 }, 20);
    const started = Date.now();
    const res = await stack.envelope('ticket', { appid: MP.appid });
    expect(res.json.returnCode).toBe(1005);
    expect(Date.now() - started).toBeLessThan(2600);
    expect(stack.sim.calls('getticket')).toBe(0);
  });
});
