/** The simulator's third-party platform, against docs/protocol.md §11 (no wecred involved). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WechatSim } from './wechat-sim';

const C = {
  appid: 'wxc0c0c0c0c0c0c0c0',
  secret: 'component-secret',
  token: 'msg-token',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
};
const ACCOUNT = 'wxa1a1a1a1a1a1a1a1';

let sim: WechatSim;
let closeReceiver: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeReceiver?.();
  closeReceiver = undefined;
  await sim?.close();
});

async function post(path: string, body: unknown): Promise<Record<string, any>> {
  const res = await fetch(sim.url + path, { method: 'POST', body: JSON.stringify(body) });
  return res.json() as Promise<Record<string, any>>;
}

/** A receiver that answers `success` and keeps what it got. */
async function receiver(): Promise<{ url: string; got: { query: string; body: string }[] }> {
  const got: { query: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ query: req.url ?? '', body });
      res.end('success');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closeReceiver = () => new Promise((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`, got };
}

async function componentToken(ticket = sim.latestVerifyTicket(C.appid)): Promise<string> {
  const r = await post('/cgi-bin/component/api_component_token', {
    component_appid: C.appid,
    component_appsecret: C.secret,
    component_verify_ticket: ticket,
  });
  return r.component_access_token;
}

/** Through the consent page: the auth_code the redirect carries. */
async function authorize(token: string): Promise<string> {
  const pre = await post(`/cgi-bin/component/api_create_preauthcode?component_access_token=${token}`, {
    component_appid: C.appid,
  });
  const page = await fetch(
    `${sim.url}/cgi-bin/componentloginpage?component_appid=${C.appid}&pre_auth_code=${encodeURIComponent(pre.pre_auth_code)}&redirect_uri=${encodeURIComponent('https://example.com/back')}&auth_type=1`,
  );
  const href = /id="allow" href="([^"]+)"/.exec(await page.text())![1]!.replaceAll('&#38;', '&');
  const back = await fetch(sim.url + href, { redirect: 'manual' });
  const location = new URL(back.headers.get('location')!);
  expect(location.searchParams.get('expires_in')).toBe('600');
  return location.searchParams.get('auth_code')!;
}

describe('verify tickets and the component token', () => {
  it('pushes an encrypted ticket now and every 10 minutes; tickets last 12 hours', async () => {
    sim = await WechatSim.start();
    sim.addComponent(C.appid, C);
    const r = await receiver();
    await sim.componentPushUrl(C.appid, r.url);
    await sim.componentPushesSettled();
    expect(r.got).toHaveLength(1);
    expect(r.got[0]!.query).toMatch(/msg_signature=[0-9a-f]{40}.*|encrypt_type=aes/);
    expect(r.got[0]!.body).toMatch(/^<xml><AppId><!\[CDATA\[wxc0c0c0c0c0c0c0c0\]\]><\/AppId><Encrypt>/);
    const first = sim.latestVerifyTicket(C.appid)!;
    sim.advance(10 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sim.componentPushesSettled();
    expect(r.got).toHaveLength(2);
    // An older ticket still works within its 12 hours, then 61005; one never issued is 61006.
    expect(await componentToken(first)).toBeTruthy();
    sim.advance(12 * 3_600_000);
    const expired = await post('/cgi-bin/component/api_component_token', {
      component_appid: C.appid,
      component_appsecret: C.secret,
      component_verify_ticket: first,
    });
    expect(expired.errcode).toBe(61005);
    const unknown = await post('/cgi-bin/component/api_component_token', {
      component_appid: C.appid,
      component_appsecret: C.secret,
      component_verify_ticket: 'ticket@@@never',
    });
    expect(unknown.errcode).toBe(61006);
    const foreign = await post('/cgi-bin/component/api_component_token', {
      component_appid: 'wxffffffffffffffff',
      component_appsecret: C.secret,
      component_verify_ticket: first,
    });
    expect(foreign.errcode).toBe(61011);
  });
});

describe('the authorization', () => {
  it('makes pre_auth_code and auth_code single use, and auth codes die after 10 minutes', async () => {
    sim = await WechatSim.start();
    sim.addComponent(C.appid, C);
    sim.setComponentAccount(ACCOUNT);
    await sim.pushVerifyTicket(C.appid);
    const token = await componentToken();
    const code = await authorize(token);
    const query = (c: string) =>
      post(`/cgi-bin/component/api_query_auth?component_access_token=${token}`, {
        component_appid: C.appid,
        authorization_code: c,
      });
    const info = (await query(code)).authorization_info;
    expect(info).toMatchObject({ authorizer_appid: ACCOUNT, expires_in: 7200 });
    expect(sim.tokenState(ACCOUNT, info.authorizer_access_token)).toBe('valid');
    expect((await query(code)).errcode).toBe(61009);
    const late = await authorize(token);
    sim.advance(601_000);
    expect((await query(late)).errcode).toBe(61010);
  });

  it("keeps WeChat's documented refresh token: the same one back on every use, until the account cancels", async () => {
    sim = await WechatSim.start();
    sim.addComponent(C.appid, C);
    sim.setComponentAccount(ACCOUNT);
    await sim.pushVerifyTicket(C.appid);
    const token = await componentToken();
    const info = (
      await post(`/cgi-bin/component/api_query_auth?component_access_token=${token}`, {
        component_appid: C.appid,
        authorization_code: await authorize(token),
      })
    ).authorization_info;
    const refresh = (r: string) =>
      post(`/cgi-bin/component/api_authorizer_token?component_access_token=${token}`, {
        component_appid: C.appid,
        authorizer_appid: ACCOUNT,
        authorizer_refresh_token: r,
      });
    const once = await refresh(info.authorizer_refresh_token);
    expect(once.authorizer_refresh_token).toBe(info.authorizer_refresh_token);
    expect((await refresh('refreshtoken@@@wrong')).errcode).toBe(61023);
    await sim.componentUnauthorize(C.appid, ACCOUNT);
    expect((await refresh(info.authorizer_refresh_token)).errcode).toBe(61003);
    expect(sim.tokenState(ACCOUNT, once.authorizer_access_token)).toBe('invalid');
  });

  it('rotating refresh tokens: the one used stays valid until its successor is used once', async () => {
    sim = await WechatSim.start({ rotateRefreshTokens: 'on-use' });
    sim.addComponent(C.appid, C);
    sim.setComponentAccount(ACCOUNT);
    await sim.pushVerifyTicket(C.appid);
    const token = await componentToken();
    const r0 = (
      await post(`/cgi-bin/component/api_query_auth?component_access_token=${token}`, {
        component_appid: C.appid,
        authorization_code: await authorize(token),
      })
    ).authorization_info.authorizer_refresh_token;
    const refresh = (r: string) =>
      post(`/cgi-bin/component/api_authorizer_token?component_access_token=${token}`, {
        component_appid: C.appid,
        authorizer_appid: ACCOUNT,
        authorizer_refresh_token: r,
      });
    const r1 = (await refresh(r0)).authorizer_refresh_token;
    expect(r1).not.toBe(r0);
    // The answer was lost: r0 still works (and hands out another successor).
    const r1b = (await refresh(r0)).authorizer_refresh_token;
    expect(r1b).not.toBe(r1);
    // Using a successor ends r0 and the other successors.
    const r2 = (await refresh(r1)).authorizer_refresh_token;
    expect((await refresh(r0)).errcode).toBe(61023);
    expect((await refresh(r1b)).errcode).toBe(61023);
    expect(sim.validRefreshTokens(C.appid, ACCOUNT)).toEqual([r1, r2]);
  });
});
