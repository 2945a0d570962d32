/** What requests see when WeChat or the store fails (docs/design.md §5.6, §6.4), through the real server. */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../lib/store/memory';
import { closedPortBase } from './support/raw-upstream';
import { ADMIN, beijingNoon, MP, MP2, REALM, startStack, type Stack } from './support/stack';
import { switchable } from './support/switchable-store';

const stacks: Stack[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
});
async function stackOf(...args: Parameters<typeof startStack>) {
  const s = await startStack(...args);
  stacks.push(s);
  return s;
}

const ms = (since: number) => performance.now() - since;
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

describe('WeChat unreachable or failing, with nothing cached', () => {
  it('connections refused: a couple of attempts, then every request fails fast while the circuit is open, and naming WeChat', async () => {
    const s = await stackOf({ config: { upstream: { mp: await closedPortBase(), timeoutMs: 1000, budgetMs: 4000 } } });
    const first = performance.now();
    const res = await s.envelope('access_token', { appid: MP.appid });
    expect(res.json).toMatchObject({ returnCode: 1005, error: { code: 'upstream_unavailable' } });
    expect(res.json.returnMessage).toMatch(/^WeChat /);
    expect(ms(first)).toBeLessThan(1500);
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      const r = await s.envelope('access_token', { appid: MP.appid });
      times.push(ms(t));
      expect(r.json.returnCode).toBe(1005);
    }
    expect(Math.max(...times)).toBeLessThan(1000);
  });

  it('WeChat answering -1: over a minute of load a handful of upstream calls, each request answered at once, and back within seconds', async () => {
    const s = await stackOf();
    s.sim.fault('stable_token', { errcode: -1, errmsg: 'system error' }, 100_000);
    const times: number[] = [];
    for (let second = 0; second < 60; second++) {
      const burst = await Promise.all(
        Array.from({ length: 5 }, async () => {
          const t = performance.now();
          const r = await s.envelope('access_token', { appid: MP.appid });
          times.push(ms(t));
          return r.json.returnCode;
        }),
      );
      expect(burst.every((code) => code === 1005)).toBe(true);
      s.sim.advance(1000);
    }
    // 3 attempts for the first refresh, then one per hold of 1, 2, 4, 8, 10, 10 … s
    expect(s.sim.calls('stable_token')).toBeLessThanOrEqual(15);
    expect(p99(times.slice(10))).toBeLessThan(1000);
    s.sim.clearFaults();
    s.sim.advance(10_000);
    const back = await s.envelope('access_token', { appid: MP.appid });
    expect(back.json.returnCode).toBe(0);
  });

  it('a WeCom failure names WeCom', async () => {
    const s = await stackOf({
      config: {
        work: [{ corpid: 'ww0000000000000001', agentid: '1000002', secret: 'work-secret-0001' }],
        realms: [{ ...REALM, apps: [], forceAllowance: null }],
      },
    });
    s.sim.fault('work_gettoken', { http: 502 }, 100);
    const res = await s.envelope('work.access_token', { corpid: 'ww0000000000000001', agentid: '1000002' });
    expect(res.json).toMatchObject({ returnCode: 1005 });
    expect(res.json.returnMessage).toMatch(/^WeCom /);
  });
});

describe('a refresh ahead of expiry runs beside the requests', () => {
  it('with WeChat answering in 6 s and a valid token stored, p99 of requests stays under 50 ms while it runs', async () => {
    const s = await stackOf({ config: { upstream: { timeoutMs: 8000, budgetMs: 10_000 } } });
    const first = (await s.envelope('access_token', { appid: MP.appid })).json.returnData.access_token;
    s.sim.advance(7200_000 - 200_000); // inside the refresh window
    s.sim.fault('stable_token', { delayMs: 6000 }, 1);
    const times: number[] = [];
    const started = performance.now();
    while (ms(started) < 2000) {
      const t = performance.now();
      const r = await s.envelope('access_token', { appid: MP.appid });
      times.push(ms(t));
      expect(r.json.returnData.access_token).toBe(first);
    }
    expect(times.length).toBeGreaterThan(50);
    expect(p99(times)).toBeLessThan(50);
    expect(s.sim.calls('stable_token')).toBe(2); // the first fetch, and the one refresh under way
  }, 20_000);
});

describe("WeChat's daily quota", () => {
  it('classic tokens: our own budget stops fetches before WeChat answers 45009, keeping a reserve for replacing rejected tokens', async () => {
    const s = await stackOf({ config: { credentials: { forceCooldownSeconds: 0 } } });
    let token = '';
    let over: { returnCode: number; returnMessage: string } | undefined;
    // forced refreshes as fast as they come (a force that finished since a request started serves it)
    while (!over) {
      const r = await s.envelope('access_token', { appid: MP2.appid, force: true });
      if (r.json.returnCode === 0) token = r.json.returnData.access_token;
      else over = r.json;
    }
    expect(over).toMatchObject({ returnCode: 7101, error: { code: 'quota_exhausted' } });
    expect(over.returnMessage).toMatch(/1900 of the daily budget of 2000 fetches are used \(the last 100 are kept/);
    expect(s.sim.calls('token', MP2.appid)).toBe(1900);
    // a token WeChat rejected is still replaced, from the reserve
    s.sim.advance(31_000);
    s.sim.invalidateToken(token);
    const replaced = await s.envelope('access_token', { appid: MP2.appid, force: true, stale: token });
    expect(replaced.json.returnCode).toBe(0);
    expect(s.sim.calls('token', MP2.appid)).toBe(1901);
  }, 60_000);
});

describe('stale reports are checked with WeChat before anything is replaced', () => {
  it('reports of a live token rotate nothing: one probe per reported value, for stable and classic tokens', async () => {
    const s = await stackOf();
    for (const app of [MP, MP2]) {
      const endpoint = app === MP ? 'stable_token' : 'token';
      const token = (await s.envelope('access_token', { appid: app.appid })).json.returnData.access_token;
      const probes = s.sim.calls('api_domain_ip');
      for (let i = 0; i < 20; i++) {
        s.sim.advance(2_000);
        const r = await s.envelope('access_token', { appid: app.appid, force: true, stale: token });
        expect(r.json.returnData.access_token).toBe(token);
      }
      expect(s.sim.calls(endpoint, app.appid)).toBe(1);
      expect(s.sim.calls('api_domain_ip') - probes).toBe(1);
    }
  });

  it('a WeCom token reported stale is probed on WeCom; a dead one is replaced exactly once', async () => {
    const corpid = 'ww0000000000000001';
    const s = await stackOf({
      config: {
        work: [{ corpid, agentid: '1000002', secret: 'work-secret-0001' }],
        realms: [{ ...REALM, apps: [], forceAllowance: null }],
      },
    });
    const para = { corpid, agentid: '1000002' };
    const token = (await s.envelope('work.access_token', para)).json.returnData.access_token;
    s.sim.advance(31_000);
    const live = await Promise.all(
      Array.from({ length: 10 }, () => s.envelope('work.access_token', { ...para, force: true, stale: token })),
    );
    expect(live.every((r) => r.json.returnData.access_token === token)).toBe(true);
    expect(s.sim.calls('work_gettoken')).toBe(1);
    s.sim.invalidateWorkToken(token);
    s.sim.advance(61_000); // past the verdict that it was live
    const dead = await Promise.all(
      Array.from({ length: 10 }, () => s.envelope('work.access_token', { ...para, force: true, stale: token })),
    );
    const fresh = new Set(dead.map((r) => r.json.returnData.access_token));
    expect(fresh.size).toBe(1);
    expect(fresh.has(token)).toBe(false);
    expect(s.sim.calls('work_gettoken')).toBe(2);
  });

  it('a realm over its daily allowance of forced refreshes is refused; other realms are not', async () => {
    const quiet = { key: 'quiet', secret: 'quiet-realm-secret-0123456789' };
    const s = await stackOf({
      simOptions: { now: beijingNoon() }, // the allowance is a Beijing day's
      config: {
        realms: [
          { ...REALM, apps: [MP.appid], forceAllowance: 2 },
          { ...quiet, apps: [MP.appid] },
          { ...ADMIN, admin: true },
        ],
      },
    });
    let token = (await s.envelope('access_token', { appid: MP.appid })).json.returnData.access_token;
    const report = async (realm: { key: string; secret: string }) => {
      s.sim.advance(31_000);
      s.sim.invalidateToken(token);
      const r = await s.envelope('access_token', { appid: MP.appid, force: true, stale: token }, realm);
      if (r.json.returnCode === 0) token = r.json.returnData.access_token;
      return r.json;
    };
    expect((await report(REALM)).returnCode).toBe(0);
    expect((await report(REALM)).returnCode).toBe(0);
    expect(await report(REALM)).toMatchObject({
      returnCode: 7101,
      returnMessage: expect.stringMatching(/biz has used its daily allowance of 2 forced refreshes/),
    });
    expect((await report(quiet)).returnCode).toBe(0);
    expect((await report(ADMIN)).returnCode).toBe(0);
  });
});

describe('the store away', () => {
  async function outage(nonces: 'memory' | 'refuse') {
    const { store, state } = switchable(createMemoryStore());
    const s = await stackOf({ store, config: { storeOutage: { nonces } } });
    const token = (await s.envelope('access_token', { appid: MP.appid })).json.returnData.access_token;
    s.sim.advance(31_000); // past the warm cache: requests read the store
    state.down = 'error';
    return { s, state, token };
  }

  it('signed calls go on with nonces kept in memory: a token in memory is served, a replay is still refused', async () => {
    const { s, token } = await outage('memory');
    const body = JSON.stringify({ interface: { interfaceName: 'access_token', para: { appid: MP.appid } } });
    const { signedHeaders } = await import('./support/stack');
    const headers = signedHeaders(REALM, '/', body);
    const first = await s.post('/', body, headers);
    expect(first.json).toMatchObject({ returnCode: 0, returnData: { access_token: token } });
    const replay = await s.post('/', body, headers);
    expect(replay.json).toMatchObject({ returnCode: 7004 });
    expect(s.sim.calls('stable_token')).toBe(1);
  });

  it('with storeOutage.nonces "refuse", signed calls are refused as store_unavailable', async () => {
    const { s } = await outage('refuse');
    const res = await s.envelope('access_token', { appid: MP.appid });
    expect(res.json).toMatchObject({ returnCode: 7201, error: { code: 'store_unavailable' } });
  });

  it('a store that does not answer is store_unavailable in time, not "being refreshed"', async () => {
    const { store, state } = switchable(createMemoryStore());
    const s = await stackOf({ store });
    state.down = 'hang';
    const t = performance.now();
    const res = await s.post('/jsapi/wx1111111111111111/config', { url: 'https://example.com/' });
    expect(res.json.error).toMatchObject({ code: 'store_unavailable' });
    expect(ms(t)).toBeLessThan(2500);
  });
});

describe('status after failures', () => {
  it('a refresh refused for the IP names the IP to allow-list, in the answer, the log line and status', async () => {
    const s = await stackOf();
    s.sim.fault(
      'stable_token',
      { errcode: 40164, errmsg: 'invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 1' },
      5,
    );
    const res = await s.envelope('access_token', { appid: MP.appid });
    expect(res.json).toMatchObject({ returnCode: 7302, error: { errcode: 40164 } });
    expect(res.json.returnMessage).toMatch(
      /203\.0\.113\.7 is not on WeChat's IP allow-list of wx1111111111111111: add it/,
    );
    expect(s.logs.find((l) => l.event === 'refresh_failed')).toMatchObject({ ip: '203.0.113.7', errcode: 40164 });
    const status = await s.envelope('status', {}, ADMIN);
    const token = status.json.returnData.credentials.find((c: { key: string }) => c.key === `mp:${MP.appid}:token`);
    expect(token).toMatchObject({ state: 'refused', lastError: { code: 'config_fault', errcode: 40164 } });
    expect(token.lastError.message).toMatch(/203\.0\.113\.7/);
  });

  it('a failing WeChat shows as failing, with the hold; a later success as fresh', async () => {
    const s = await stackOf();
    s.sim.fault('stable_token', { http: 502 }, 3);
    expect((await s.envelope('access_token', { appid: MP.appid })).json.returnCode).toBe(1005);
    const creds = async () => (await s.envelope('status', {}, ADMIN)).json.returnData.credentials;
    const failing = (await creds()).find((c: { key: string }) => c.key === `mp:${MP.appid}:token`);
    expect(failing).toMatchObject({ state: 'failing', failures: 1, lastError: { code: 'upstream_unavailable' } });
    expect(failing.heldUntil).toBeGreaterThan(0);
    s.sim.advance(2000);
    expect((await s.envelope('access_token', { appid: MP.appid })).json.returnCode).toBe(0);
    expect((await creds()).find((c: { key: string }) => c.key === `mp:${MP.appid}:token`)).toMatchObject({
      state: 'fresh',
      failures: 0,
      heldUntil: null,
    });
  });
});
