/** The OAuth module of the simulator against docs/protocol.md §2.1–§2.6 and §8. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simOpenid, simUnionid, WechatSim } from './index';
import { getJson, type Json } from './testkit';

const MP = { appid: 'wx1234567890abcdef', secret: 'secret-of-the-mp-app-000000000000' };
const WEB = { appid: 'wxaaaabbbbccccdddd', secret: 'secret-of-the-web-app-00000000000' };
const MINA = { appid: 'wxfedcba0987654321', secret: 'secret-of-the-mini-program-000000' };
const CALLBACK = 'https://cred.example.com/oauth/cb?x=1';
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

let sim: WechatSim;
beforeEach(async () => {
  sim = await WechatSim.start();
  sim.addApp(MP.appid, MP.secret);
  sim.addApp(WEB.appid, WEB.secret, { type: 'web' });
  sim.addApp(MINA.appid, MINA.secret, { type: 'mina' });
});
afterEach(() => sim.close());

function pageUrl(path: string, params: Record<string, string>): string {
  return `${sim.url}${path}?${new URLSearchParams(params)}#wechat_redirect`;
}
const authorize = (params: Record<string, string>) =>
  pageUrl('/connect/oauth2/authorize', { appid: MP.appid, redirect_uri: CALLBACK, response_type: 'code', ...params });
const get = (url: string) => fetch(url, { redirect: 'manual' });

/** The consent page's link for `action`, resolved against the sim. */
async function link(res: Response, action: 'allow' | 'deny'): Promise<string> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await res.text();
  expect(html).toContain('允许');
  expect(html).toContain('拒绝');
  const m = new RegExp(`id="${action}" href="([^"]+)"`).exec(html);
  return new URL(m![1]!.replaceAll('&amp;', '&'), sim.url).href;
}

/** Authorize with consent and return the code WeChat sends back. */
async function codeVia(url: string): Promise<{ code: string; back: URL }> {
  const back = new URL((await get(await link(await get(url), 'allow'))).headers.get('location')!);
  return { code: back.searchParams.get('code')!, back };
}

function exchange(code: string, app = MP): Promise<Json> {
  return getJson(
    sim,
    `/sns/oauth2/access_token?${new URLSearchParams({ appid: app.appid, secret: app.secret, code, grant_type: 'authorization_code' })}`,
  );
}

describe('authorize pages', () => {
  it('snsapi_userinfo: a real page whose 允许 comes back with a code and the state, 拒绝 with the state only', async () => {
    const { code, back } = await codeVia(authorize({ scope: 'snsapi_userinfo', state: 'abcXYZ123' }));
    expect(back.origin + back.pathname).toBe('https://cred.example.com/oauth/cb');
    expect(back.searchParams.get('x')).toBe('1');
    expect(code).toMatch(/^[0-9a-f]{32}$/);
    expect(back.searchParams.get('state')).toBe('abcXYZ123');

    const denied = await get(await link(await get(authorize({ scope: 'snsapi_userinfo', state: 'st8' })), 'deny'));
    expect(denied.status).toBe(302);
    const d = new URL(denied.headers.get('location')!);
    expect([...d.searchParams.keys()].sort()).toEqual(['state', 'x']);
    expect(d.searchParams.get('state')).toBe('st8');
    expect(sim.calls('oauth2_authorize', MP.appid)).toBe(2);
    expect(sim.calls('oauth_confirm', MP.appid)).toBe(2);
  });

  it('snsapi_base is silent (302 with a code at once) unless forcePopup=true', async () => {
    const silent = await get(authorize({ scope: 'snsapi_base', state: 's' }));
    expect(silent.status).toBe(302);
    expect(new URL(silent.headers.get('location')!).searchParams.get('code')).toMatch(/^[0-9a-f]{32}$/);
    const popup = await get(authorize({ scope: 'snsapi_base', state: 's', forcePopup: 'true' }));
    expect(popup.status).toBe(200);
  });

  it('a consent link works once', async () => {
    const allow = await link(await get(authorize({ scope: 'snsapi_userinfo' })), 'allow');
    expect((await get(allow)).status).toBe(302);
    const again = await get(allow);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('id="errcode">10009<');
  });

  it('qrconnect is for website apps with snsapi_login; oauth2/authorize for Official Accounts', async () => {
    const qr = (params: Record<string, string>) =>
      pageUrl('/connect/qrconnect', {
        appid: WEB.appid,
        redirect_uri: CALLBACK,
        response_type: 'code',
        scope: 'snsapi_login',
        state: 'q1',
        ...params,
      });
    const { code } = await codeVia(qr({}));
    expect(code).toMatch(/^[0-9a-f]{32}$/);
    const errcodeOf = async (url: string) => /id="errcode">(\d+)</.exec(await (await get(url)).text())?.[1];
    expect(await errcodeOf(qr({ scope: 'snsapi_userinfo' }))).toBe('10005');
    expect(await errcodeOf(qr({ appid: MP.appid }))).toBe('10005');
    expect(await errcodeOf(authorize({ appid: WEB.appid, scope: 'snsapi_base' }))).toBe('10016');
    expect(await errcodeOf(authorize({ appid: MINA.appid, scope: 'snsapi_base' }))).toBe('10005');
  });

  it('checks appid, redirect_uri, response_type, scope and state as WeChat documents', async () => {
    const errcodeOf = async (params: Record<string, string>) => {
      const res = await get(authorize(params));
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      return /id="errcode">(\d+)</.exec(await res.text())?.[1];
    };
    expect(await errcodeOf({ appid: '', scope: 'snsapi_base' })).toBe('10012');
    expect(await errcodeOf({ appid: 'wx0000000000000000', scope: 'snsapi_base' })).toBe('40013');
    expect(await errcodeOf({ redirect_uri: '', scope: 'snsapi_base' })).toBe('10011');
    expect(await errcodeOf({ redirect_uri: '/relative', scope: 'snsapi_base' })).toBe('10003');
    expect(await errcodeOf({ response_type: 'token', scope: 'snsapi_base' })).toBe('10003');
    expect(await errcodeOf({ scope: '' })).toBe('10010');
    expect(await errcodeOf({ scope: 'snsapi_login' })).toBe('10005');
    expect(await errcodeOf({ scope: 'snsapi_base', state: 'a'.repeat(129) })).toBe('10013');
    expect(await errcodeOf({ scope: 'snsapi_base', state: 'has-dash' })).toBe('10013');
    expect((await get(authorize({ scope: 'snsapi_base', state: 'a'.repeat(128) }))).status).toBe(302);
  });

  it('needs #wechat_redirect: the page hides its buttons without it (checked in the browser)', async () => {
    const html = await (await get(authorize({ scope: 'snsapi_userinfo' }).replace('#wechat_redirect', ''))).text();
    expect(html).toContain("location.hash !== '#wechat_redirect'");
  });
});

describe('sns/oauth2/access_token', () => {
  it('issues a user token: openid per app and user, unionid only for userinfo/login scopes', async () => {
    const base = await exchange(sim.oauthCode(MP.appid, 'snsapi_base', 'alice'));
    expect(base).toMatchObject({ expires_in: 7200, openid: simOpenid(MP.appid, 'alice'), scope: 'snsapi_base' });
    expect(base.openid).toMatch(/^o[A-Za-z0-9_-]{27}$/);
    expect(base).not.toHaveProperty('unionid');
    expect(base).not.toHaveProperty('errcode');
    const info = await exchange(sim.oauthCode(MP.appid, 'snsapi_userinfo', 'alice'));
    expect(info).toMatchObject({ openid: base.openid, scope: 'snsapi_userinfo', unionid: simUnionid('alice') });
    const web = await exchange(sim.oauthCode(WEB.appid, 'snsapi_login', 'alice'), WEB);
    expect(web.openid).not.toBe(base.openid);
    expect(web.unionid).toBe(info.unionid);
    // the page's user: setOAuthUser, or &sim_user= on the page URL
    sim.setOAuthUser('bob');
    expect((await exchange((await codeVia(authorize({ scope: 'snsapi_userinfo' }))).code)).openid).toBe(
      simOpenid(MP.appid, 'bob'),
    );
    expect(
      (await exchange((await codeVia(authorize({ scope: 'snsapi_userinfo', sim_user: 'carol' }))).code)).openid,
    ).toBe(simOpenid(MP.appid, 'carol'));
  });

  it('a 快照页 user (id "snapshot…") gets is_snapshotuser: 1 on snsapi_userinfo, and userinfo answers 48001', async () => {
    const snap = await exchange(sim.oauthCode(MP.appid, 'snsapi_userinfo', 'snapshot1'));
    expect(snap).toMatchObject({
      openid: simOpenid(MP.appid, 'snapshot1'),
      scope: 'snsapi_userinfo',
      is_snapshotuser: 1,
    });
    expect((await getJson(sim, `/sns/userinfo?access_token=${snap.access_token}&openid=${snap.openid}`)).errcode).toBe(
      48001,
    );
    // only snsapi_userinfo leads to the 快照页; other users never carry the field
    expect(await exchange(sim.oauthCode(MP.appid, 'snsapi_base', 'snapshot1'))).not.toHaveProperty('is_snapshotuser');
    expect(await exchange(sim.oauthCode(MP.appid, 'snsapi_userinfo', 'alice'))).not.toHaveProperty('is_snapshotuser');
    // on the page too (&sim_user=)
    expect(
      (await exchange((await codeVia(authorize({ scope: 'snsapi_userinfo', sim_user: 'snapshot2' }))).code))
        .is_snapshotuser,
    ).toBe(1);
  });

  it('codes are single-use (40163), die after 5 minutes (42003), unknown or foreign ones are 40029', async () => {
    const code = sim.oauthCode(MP.appid, 'snsapi_base');
    expect((await exchange(code)).access_token).toEqual(expect.any(String));
    expect((await exchange(code)).errcode).toBe(40163);
    const old = sim.oauthCode(MP.appid, 'snsapi_base');
    sim.advance(5 * MIN);
    expect((await exchange(old)).errcode).toBe(42003);
    expect((await exchange('0'.repeat(32))).errcode).toBe(40029);
    expect((await exchange(sim.oauthCode(WEB.appid, 'snsapi_login'))).errcode).toBe(40029);
    const fresh = sim.oauthCode(MP.appid, 'snsapi_base');
    sim.advance(5 * MIN - 1000);
    expect((await exchange(fresh)).openid).toEqual(expect.any(String));
  });

  it('checks grant_type, appid, secret and code presence', async () => {
    const q = (p: Record<string, string>) =>
      getJson(
        sim,
        `/sns/oauth2/access_token?${new URLSearchParams({ appid: MP.appid, secret: MP.secret, code: 'c', grant_type: 'authorization_code', ...p })}`,
      );
    expect((await q({ grant_type: 'client_credential' })).errcode).toBe(40002);
    expect((await q({ appid: '' })).errcode).toBe(41002);
    expect((await q({ secret: '' })).errcode).toBe(41004);
    expect((await q({ appid: 'wx0000000000000000' })).errcode).toBe(40013);
    expect((await q({ secret: 'wrong' })).errcode).toBe(40125);
    const missing = await q({ code: '' });
    expect(missing.errcode).toBe(41008);
    expect(missing.errmsg).toMatch(/^missing code, rid: /);
  });
});

describe('refresh_token, userinfo and auth', () => {
  it('userinfo answers the profile for userinfo tokens and 48001 for base ones; auth checks token and openid', async () => {
    const info = await exchange(sim.oauthCode(MP.appid, 'snsapi_userinfo', 'alice'));
    const user = await getJson(sim, `/sns/userinfo?access_token=${info.access_token}&openid=${info.openid}&lang=zh_CN`);
    expect(user).toEqual(sim.oauthUser(MP.appid, 'alice'));
    expect(user).toMatchObject({ openid: info.openid, unionid: simUnionid('alice'), privilege: [] });
    expect(user.nickname).toBe('微信用户 alice');
    expect(user.headimgurl).toMatch(/^https:\/\/thirdwx\.qlogo\.cn\/.+\/132$/);
    expect((await getJson(sim, `/sns/userinfo?access_token=${info.access_token}&openid=oOther`)).errcode).toBe(40003);
    expect((await getJson(sim, `/sns/userinfo?access_token=nope&openid=${info.openid}`)).errcode).toBe(40001);

    const base = await exchange(sim.oauthCode(MP.appid, 'snsapi_base', 'alice'));
    expect((await getJson(sim, `/sns/userinfo?access_token=${base.access_token}&openid=${base.openid}`)).errcode).toBe(
      48001,
    );
    expect(await getJson(sim, `/sns/auth?access_token=${base.access_token}&openid=${base.openid}`)).toEqual({
      errcode: 0,
      errmsg: 'ok',
    });
    expect((await getJson(sim, `/sns/auth?access_token=${base.access_token}&openid=oOther`)).errcode).toBe(40003);
    sim.advance(7200_000);
    expect((await getJson(sim, `/sns/auth?access_token=${base.access_token}&openid=${base.openid}`)).errcode).toBe(
      42001,
    );
    expect(sim.calls('sns_userinfo', MP.appid)).toBe(3); // counted by the token's app: the unknown token's call is not
  });

  it('refresh_token keeps a live access_token (extended), replaces a dead one, and lives 30 days', async () => {
    const t = await exchange(sim.oauthCode(MP.appid, 'snsapi_userinfo'));
    const refresh = (token = t.refresh_token as string, appid = MP.appid) =>
      getJson(
        sim,
        `/sns/oauth2/refresh_token?${new URLSearchParams({ appid, grant_type: 'refresh_token', refresh_token: token })}`,
      );
    sim.advance(7000_000);
    const kept = await refresh();
    expect(kept).toEqual({
      access_token: t.access_token,
      expires_in: 7200,
      refresh_token: t.refresh_token,
      openid: t.openid,
      scope: 'snsapi_userinfo',
    });
    sim.advance(7000_000); // alive only thanks to the extension
    expect((await getJson(sim, `/sns/auth?access_token=${t.access_token}&openid=${t.openid}`)).errcode).toBe(0);
    sim.advance(7200_000);
    const replaced = await refresh();
    expect(replaced.access_token).not.toBe(t.access_token);
    expect((await getJson(sim, `/sns/auth?access_token=${t.access_token}&openid=${t.openid}`)).errcode).toBe(40001);
    expect((await refresh('unknown')).errcode).toBe(40030);
    expect((await refresh(t.refresh_token as string, WEB.appid)).errcode).toBe(40030);
    expect((await refresh('')).errcode).toBe(41003);
    sim.advance(30 * DAY);
    expect((await refresh()).errcode).toBe(42002);
  });
});
