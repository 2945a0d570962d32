/**
 * Third-party platforms across real wecred processes sharing MySQL (docs/design.md §19): one fetch
 * of each credential in the chain for 900 cold requests, and a process killed inside an authorizer
 * refresh never losing the refresh token (the simulator rotating refresh tokens on use).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../lib/store/open';
import type { Store } from '../lib/store/port';
import { WechatSim } from '../sim';
import { COMPONENT, MASTER_KEY } from './support/component-stack';
import { freshMysql } from './support/mysql';
import { OAUTH_SECRET } from './support/oauth-stack';
import { type ServerProcess, signedEnvelope, startServerProcess } from './support/processes';
import type { TestStore } from './support/services';
import { REALM } from './support/stack';

const PROCESSES = 3;
const REQUESTS = 300;
const PAGE = 'https://app.example.com/contention';

let shared: TestStore | null = null;
let config: string;
let store: Store;
let sim: WechatSim;
const procs: ServerProcess[] = [];

beforeAll(async () => {
  shared = await freshMysql();
  if (!shared) return;
  store = await openStore(shared.url);
  sim = await WechatSim.start({ rotateRefreshTokens: 'on-use' });
  sim.addComponent(COMPONENT.appid, COMPONENT);
  config = JSON.stringify({
    components: [COMPONENT],
    realms: [REALM],
    oauth: {
      redirects: ['https://app\\.example\\.com/.*'],
      callbackBase: 'https://wecred.example.com',
      secret: OAUTH_SECRET,
    },
    store: shared.url,
    upstream: { mp: sim.url, open: sim.url, mpPages: sim.url, timeoutMs: 2000 },
    credentials: { leaseSeconds: 3 },
  });
  procs.push(
    ...(await Promise.all(
      Array.from({ length: PROCESSES }, () =>
        startServerProcess({ ...shared!.env, WECRED_CONFIG_JSON: config, WECRED_MASTER_KEY: MASTER_KEY }),
      ),
    )),
  );
  // WeChat pushes its tickets and authorization events to the first process.
  await sim.componentPushUrl(COMPONENT.appid, `${procs[0]!.url}/wechat/component/${COMPONENT.appid}`);
  await sim.componentPushesSettled();
}, 60_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await sim?.close();
  await store?.close();
  await shared?.close();
});

/**
 * `appid` authorizes the component on WeChat's page; the `authorized` push (not the redirect,
 * which the test does not follow) completes it in the first process.
 */
async function authorizeByPush(appid: string, via = procs[0]!): Promise<void> {
  sim.setComponentAccount(appid);
  const links = await signedEnvelope(via, 'component.authorize_url', { redirect_uri: 'https://app.example.com/x' });
  expect(links.returnCode).toBe(0);
  const page = await (await fetch(links.returnData.pc_url)).text();
  const href = /id="allow" href="([^"]+)"/.exec(page)![1]!.replaceAll('&#38;', '&');
  expect((await fetch(new URL(href, sim.url), { redirect: 'manual' })).status).toBe(302);
  await sim.componentPushesSettled();
}

/** Drop a credential row as lifecycle.invalidate does: every process fetches it anew. */
async function drop(key: string): Promise<void> {
  const row = await store.read(key);
  if (!row) return;
  const leased = await store.acquireLease(key, 'test:drop');
  expect(leased).not.toBeNull();
  await store.commit(key, 'test:drop', leased!.version, { value: '', expiresAt: 0, refreshedAt: 0, forcedAt: 0 });
}

function jsapiConfig(p: ServerProcess, appid: string) {
  return fetch(`${p.url}/jsapi/${appid}/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: PAGE }),
  }).then((r) => r.json() as Promise<any>);
}

describe('a third-party platform on processes sharing MySQL', () => {
  it(`${PROCESSES} processes × ${REQUESTS} cold jsapi.config for an authorizer: one component token, one authorizer token, one ticket`, async (ctx) => {
    if (!shared) return ctx.skip();
    const appid = 'wxa2a2a2a2a2a2a2a2';
    // Authorized through another process, gone since: nothing is warm in the three.
    const installer = await startServerProcess({
      ...shared.env,
      WECRED_CONFIG_JSON: config,
      WECRED_MASTER_KEY: MASTER_KEY,
    });
    await sim.componentPushUrl(COMPONENT.appid, `${installer.url}/wechat/component/${COMPONENT.appid}`);
    await authorizeByPush(appid, installer);
    await installer.stop();
    await sim.componentPushUrl(COMPONENT.appid, `${procs[0]!.url}/wechat/component/${COMPONENT.appid}`);
    await sim.componentPushesSettled();
    await drop(`component:${COMPONENT.appid}:token`); // cold: nothing is fresh
    sim.resetCalls();
    const answers = await Promise.all(
      Array.from({ length: PROCESSES * REQUESTS }, (_, i) => jsapiConfig(procs[i % PROCESSES]!, appid)),
    );
    expect(sim.calls('component_token')).toBe(1);
    expect(sim.calls('component_authorizer_token', appid)).toBe(1);
    expect(sim.calls('getticket', appid)).toBe(1);
    for (const a of answers)
      expect(
        sim.verifyJsapiSignature({
          appid,
          url: PAGE,
          nonceStr: a.nonceStr,
          timestamp: a.timestamp,
          signature: a.signature,
        }),
      ).toBe(true);
  }, 120_000);

  it('a process killed inside an authorizer refresh loses no refresh token: the next refresh succeeds with the stored one', async (ctx) => {
    if (!shared) return ctx.skip();
    const appid = 'wxa3a3a3a3a3a3a3a3';
    await authorizeByPush(appid);
    const [doomed, survivor] = [procs[1]!, procs[2]!];
    // WeChat rotates the refresh token, then takes 3 s to answer: the process dies before it hears the new one.
    sim.slowAuthorizerRefresh(3000);
    sim.resetCalls();
    const never = jsapiConfig(doomed, appid).catch(() => 'killed');
    await expect.poll(() => sim.calls('component_authorizer_token', appid), { timeout: 10_000, interval: 20 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await doomed.kill();
    procs.splice(procs.indexOf(doomed), 1);
    expect(await never).toBe('killed');
    sim.slowAuthorizerRefresh(0);
    expect(sim.validRefreshTokens(COMPONENT.appid, appid)).toHaveLength(2); // the one used, and the unheard successor

    const answer = await jsapiConfig(survivor, appid);
    expect(answer.appId).toBe(appid);
    expect(sim.verifyJsapiSignature({ appid, url: PAGE, ...answer })).toBe(true);
    expect(sim.calls('component_authorizer_token', appid)).toBe(2);
    // The refresh token stored now is one WeChat takes: a forced refresh uses it.
    const forced = await signedEnvelope(survivor, 'access_token', { appid, force: true });
    expect(forced.returnCode).toBe(0);
    expect(sim.tokenState(appid, forced.returnData.access_token)).toBe('valid');
    expect(sim.calls('component_authorizer_token', appid)).toBe(3);
    for (const p of procs) expect(p.output()).not.toMatch(/refreshtoken@@@/);
  }, 60_000);
});
