/**
 * OAuth web login through the real HTTP server and the simulator (DESIGN §3.2–3.4): the test
 * plays the browser, following each redirect by hand (redirect: 'manual').
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allowedRedirect, createOAuthFlow, RESULT_TTL_SECONDS, STATE_TTL_SECONDS, verifyOAuthResult, type OAuthResult } from '../lib/sessions/oauth';
import { simOpenid, simUnionid } from '../sim';
import { EXCHANGER, MINA, OAUTH_SECRET, startOAuthStack, WEB } from './oauth-stack';
import { ADMIN, MP, MP2, REALM, startStack, type Stack } from './stack';

let stack: Stack;
afterEach(() => stack?.close());

const LANDING = 'https://app.example.com/landing?x=1';
const MIN = 60_000;

interface Hop {
  url: string;
  status: number;
  location: string | null;
  body: string;
}

/** GET without following redirects. */
async function get(url: string, accept?: string): Promise<Hop> {
  const res = await fetch(url, { redirect: 'manual', headers: accept ? { accept } : {} });
  return { url, status: res.status, location: res.headers.get('location'), body: await res.text() };
}

function authorizeUrl(appid: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  return `${stack.url}/oauth/${appid}/authorize?${q}`;
}

/**
 * Walk the chain from `start` like a browser: follow Locations, press 允许 (or 拒绝) on the
 * simulator's page, stop at a page that is not a redirect or at the landing site (not served).
 */
async function walk(start: string, action: 'allow' | 'deny' = 'allow'): Promise<Hop[]> {
  const hops: Hop[] = [];
  let url: string | undefined = start;
  while (url !== undefined && hops.length < 10) {
    const hop = await get(url);
    hops.push(hop);
    url = undefined;
    if (hop.status === 302 && hop.location) {
      if (!hop.location.startsWith('https://app.example.com/')) url = new URL(hop.location, hop.url).href;
    } else if (hop.status === 200) {
      const m = new RegExp(`id="${action}" href="([^"]+)"`).exec(hop.body);
      if (m) url = new URL(m[1]!.replaceAll('&amp;', '&'), hop.url).href;
    }
  }
  return hops;
}

/** The landing URL at the end of a successful chain, and its verified result. */
function landed(hops: Hop[]): { url: URL; result: OAuthResult } {
  const last = hops.at(-1)!;
  expect(last.status).toBe(302);
  const url = new URL(last.location!);
  expect(url.origin + url.pathname).toBe('https://app.example.com/landing');
  const check = verifyOAuthResult(url.searchParams.get('wecred_result')!, OAUTH_SECRET, { now: stack.sim.now() });
  if (!check.ok) throw new Error(`result does not verify: ${check.reason}`);
  return { url, result: check.result };
}

/** Our authorize redirect, the sim's code for it (as if the user allowed), and our state. */
async function begin(appid = MP.appid, params: Record<string, string> = {}): Promise<{ state: string; code: string; location: URL }> {
  const hop = await get(authorizeUrl(appid, { redirect: LANDING, scope: 'snsapi_userinfo', ...params }));
  expect(hop.status).toBe(302);
  const location = new URL(hop.location!);
  const scope = location.searchParams.get('scope') as 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';
  return { state: location.searchParams.get('state')!, code: stack.sim.oauthCode(appid, scope), location };
}

const callback = (appid: string, params: Record<string, string>, accept?: string) => get(`${stack.url}/oauth/${appid}/callback?${new URLSearchParams(params)}`, accept);

/** A refused request: the status, no Location, and the JSON error's reason. */
function refused(hop: Hop, status: number, reason: string, errcode?: number): void {
  expect(hop.status, hop.body).toBe(status);
  expect(hop.location).toBeNull();
  const error = JSON.parse(hop.body).error;
  expect(error.reason).toBe(reason);
  expect(error.message).toEqual(expect.any(String));
  if (errcode !== undefined) expect(error.errcode).toBe(errcode);
}

describe('the whole flow', () => {
  it('snsapi_base: authorize → WeChat (silent) → callback → the allowed target with a signed result and the caller\'s state', async () => {
    stack = await startOAuthStack();
    const hops = await walk(authorizeUrl(MP.appid, { redirect: LANDING, state: 'caller state/ü' }));
    expect(hops.map((h) => h.status)).toEqual([302, 302, 302]);

    // 1. our redirect to WeChat's page
    const wx = hops[0]!.location!;
    expect(wx).toMatch(new RegExp(`^${stack.sim.url}/connect/oauth2/authorize\\?appid=${MP.appid}&redirect_uri=[^&#]+&response_type=code&scope=snsapi_base&state=[A-Za-z0-9]{64}#wechat_redirect$`));
    expect(new URL(wx).searchParams.get('redirect_uri')).toBe(`${stack.url}/oauth/${MP.appid}/callback`);
    expect(hops[0]!.body).toBe('');
    // 2. WeChat back to our callback with a code
    expect(hops[1]!.location).toMatch(new RegExp(`^${stack.url}/oauth/${MP.appid}/callback\\?code=\\w+&state=`));
    // 3. our callback to the target
    const { url, result } = landed(hops);
    expect(url.searchParams.get('x')).toBe('1');
    expect(url.searchParams.get('state')).toBe('caller state/ü');
    const now = Math.floor(stack.sim.now() / 1000);
    expect(result).toEqual({
      iss: 'wecred',
      appid: MP.appid,
      openid: simOpenid(MP.appid, 'user1'),
      scope: 'snsapi_base',
      state: 'caller state/ü',
      jti: expect.stringMatching(/^[A-Za-z0-9]{16}$/),
      iat: expect.any(Number),
      exp: result.iat + RESULT_TTL_SECONDS,
    });
    expect(Math.abs(result.iat - now)).toBeLessThanOrEqual(2);
    expect(stack.sim.calls('sns_access_token', MP.appid)).toBe(1);
    expect(stack.sim.calls('sns_userinfo')).toBe(0);

    // the user's token is kept until its refresh_token dies (30 days)
    const raw = await stack.store.getRecord(`oauth:user:${MP.appid}:${result.openid}`, stack.sim.now());
    const record = JSON.parse(raw!);
    expect(record).toMatchObject({ appid: MP.appid, openid: result.openid, scope: 'snsapi_base', sealed: false });
    expect(record.refreshExpiresAt - stack.sim.now()).toBeGreaterThan(30 * 24 * 60 * MIN - MIN);
    expect(await stack.store.getRecord(`oauth:user:${MP.appid}:${result.openid}`, stack.sim.now() + 30 * 24 * 60 * MIN + MIN)).toBeNull();
  });

  it('snsapi_userinfo: the consent page, 允许, and a result with unionid, nickname and headimgurl', async () => {
    stack = await startOAuthStack();
    stack.sim.setOAuthUser('alice');
    const hops = await walk(authorizeUrl(MP.appid, { redirect: LANDING, scope: 'snsapi_userinfo' }));
    expect(hops.map((h) => h.status)).toEqual([302, 200, 302, 302]);
    expect(hops[1]!.body).toContain('允许');
    const { url, result } = landed(hops);
    expect(url.searchParams.has('state')).toBe(false);
    const profile = stack.sim.oauthUser(MP.appid, 'alice');
    expect(result).toMatchObject({ appid: MP.appid, openid: profile.openid, unionid: simUnionid('alice'), scope: 'snsapi_userinfo', nickname: '微信用户 alice', headimgurl: profile.headimgurl });
    expect(result).not.toHaveProperty('state');
    expect(stack.sim.calls('sns_userinfo', MP.appid)).toBe(1);
  });

  it('website apps: qrconnect with snsapi_login', async () => {
    stack = await startOAuthStack();
    const hops = await walk(authorizeUrl(WEB.appid, { redirect: LANDING, state: 'w' }));
    expect(hops[0]!.location).toMatch(new RegExp(`^${stack.sim.url}/connect/qrconnect\\?appid=${WEB.appid}&redirect_uri=.+&response_type=code&scope=snsapi_login&state=\\w{64}#wechat_redirect$`));
    const { result } = landed(hops);
    expect(result).toMatchObject({ appid: WEB.appid, openid: simOpenid(WEB.appid, 'user1'), unionid: simUnionid('user1'), scope: 'snsapi_login', nickname: '微信用户 user1', state: 'w' });

    refused(await get(authorizeUrl(WEB.appid, { redirect: LANDING, scope: 'snsapi_userinfo' })), 400, 'bad_request');
    refused(await get(authorizeUrl(MP.appid, { redirect: LANDING, scope: 'snsapi_login' })), 400, 'bad_request');
    const mina = await get(authorizeUrl(MINA.appid, { redirect: LANDING }));
    expect(mina.status).toBe(400);
    expect(JSON.parse(mina.body).error.message).toMatch(/Mini Program/);
    const unknown = await get(authorizeUrl('wx9999999999999999', { redirect: LANDING }));
    expect([unknown.status, JSON.parse(unknown.body).error.code]).toEqual([404, 'unknown_app']);
  });

  it('keeps website apps out of the token lifecycle', async () => {
    stack = await startOAuthStack();
    const report = await stack.app.refresh();
    expect(report.failed).toEqual([]);
    expect(stack.sim.calls('stable_token', WEB.appid) + stack.sim.calls('token', WEB.appid)).toBe(0);
    const status = await stack.envelope('status', {}, ADMIN);
    const keys = status.json.returnData.credentials.map((c: { key: string }) => c.key);
    expect(keys).toContain(`mp:${MP.appid}:token`);
    expect(keys.some((k: string) => k.includes(WEB.appid))).toBe(false);
    const token = await stack.envelope('access_token', { appid: WEB.appid }, ADMIN);
    expect(token.json.returnCode).toBe(1003);
  });
});

describe('redirect targets', () => {
  const REFUSED = [
    'https://evil.net/landing',
    'https://app.example.com.evil.net/',
    'https://app.example.com.evil.net/landing',
    'https://notapp.example.com/landing',
    '//evil.net/landing',
    '//app.example.com/landing',
    '/landing',
    'app.example.com/landing',
    'javascript:alert(1)//https://app.example.com/',
    'JavaScript:alert(document.domain)',
    'data:text/html,<script>alert(1)</script>',
    'https://app.example.com\\@evil.net/',
    'https:\\\\evil.net\\app.example.com/',
    'https://evil.net\\app.example.com/',
    'https://app.example.com@evil.net/',
    'https://app.example.com:x@evil.net/',
    'https://app.example.com%2F@evil.net/',
    'https://user:pw@app.example.com/landing',
    'https://evil.net/https://app.example.com/',
    'https://evil.net/?https://app.example.com/',
    'http://app.example.com/landing',
    'https://app.example.com:8443/landing',
    'ftp://app.example.com/landing',
    ' https://app.example.com/landing',
    'https://app.example.com/\tlanding',
    'https://app.example.com/landing\n',
    '',
  ];

  it('refuses foreign, look-alike, protocol-relative, javascript:, data:, backslash and userinfo targets with 400 and no Location', async () => {
    stack = await startOAuthStack();
    for (const redirect of REFUSED) {
      const hop = await get(authorizeUrl(MP.appid, { redirect }));
      expect({ redirect, status: hop.status, location: hop.location }).toEqual({ redirect, status: 400, location: null });
      expect(JSON.parse(hop.body).error).toMatchObject({ code: 'bad_para', reason: 'redirect_not_allowed' });
    }
    refused(await get(authorizeUrl(MP.appid, {})), 400, 'redirect_not_allowed');
    // browsers get a page, still without a Location
    const page = await get(authorizeUrl(MP.appid, { redirect: 'https://evil.net/' }), 'text/html,application/xhtml+xml');
    expect([page.status, page.location]).toEqual([400, null]);
    expect(page.body).toContain('<p id="reason"><code>redirect_not_allowed</code></p>');
    expect(stack.sim.calls('oauth2_authorize')).toBe(0);
  });

  it('allows matching targets, case-insensitively in the host, and sends the browser to the normalised URL', async () => {
    stack = await startOAuthStack();
    for (const [redirect, normalised] of [
      ['HTTPS://APP.Example.COM/landing?x=1', 'https://app.example.com/landing?x=1'],
      ['https://app.example.com:443/landing?x=1', 'https://app.example.com/landing?x=1'],
      ['https://app.example.com/landing?x=1#frag', 'https://app.example.com/landing?x=1#frag'],
      ['https://app.example.com', 'https://app.example.com/'],
    ] as const) {
      const hops = await walk(authorizeUrl(MP.appid, { redirect, scope: 'snsapi_base' }));
      const target = new URL(hops.at(-1)!.location!);
      target.searchParams.delete('wecred_result');
      expect(target.href).toBe(normalised);
    }
  });

  it('patterns match the whole normalised URL, with or without their own ^ and $; none configured, none allowed', () => {
    expect(allowedRedirect(['^https://app\\.example\\.com/$'], 'https://APP.example.com')).toBe('https://app.example.com/');
    expect(allowedRedirect(['^https://app\\.example\\.com/'], 'https://app.example.com/landing')).toBeNull();
    expect(allowedRedirect(['^https://app\\.example\\.com/.*$'], 'https://app.example.com/landing')).toBe('https://app.example.com/landing');
    const two = ['https://app\\.example\\.com/a|https://b\\.example\\.com/b'];
    expect(allowedRedirect(two, 'https://b.example.com/b')).toBe('https://b.example.com/b');
    expect(allowedRedirect(two, 'https://app.example.com/ab')).toBeNull();
    expect(allowedRedirect(['https://app\\.example\\.com/\\$x'], 'https://app.example.com/$x')).toBe('https://app.example.com/$x');
    expect(allowedRedirect([], 'https://app.example.com/')).toBeNull();
  });
});

describe('state', () => {
  it('refuses a tampered, foreign or missing state before calling WeChat', async () => {
    stack = await startOAuthStack();
    const { state, code } = await begin();
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    for (const bad of [flip(state, 0), flip(state, 25), flip(state, 63), state.slice(0, 63), `${state}0`, state.toUpperCase(), 'abc']) {
      refused(await callback(MP.appid, { code, state: bad }), 400, 'bad_state');
    }
    refused(await callback(MP2.appid, { code, state }), 400, 'bad_state'); // made for MP
    refused(await callback(MP.appid, { code }), 400, 'bad_state');
    expect(stack.sim.calls('sns_access_token')).toBe(0);
    // the genuine one still works
    const ok = await callback(MP.appid, { code, state });
    expect(ok.status).toBe(302);
  });

  it('refuses an expired state (10 minutes)', async () => {
    stack = await startOAuthStack();
    const { state } = await begin();
    stack.sim.advance(STATE_TTL_SECONDS * 1000 + 1000);
    refused(await callback(MP.appid, { code: stack.sim.oauthCode(MP.appid, 'snsapi_userinfo'), state }), 400, 'state_expired');
    expect(stack.sim.calls('sns_access_token')).toBe(0);
  });

  it('is good once: a replayed callback is refused', async () => {
    stack = await startOAuthStack();
    const { state, code } = await begin();
    expect((await callback(MP.appid, { code, state })).status).toBe(302);
    refused(await callback(MP.appid, { code, state }), 400, 'state_used');
    // two racing callbacks with one state: one goes on
    const second = await begin();
    const both = await Promise.all([callback(MP.appid, { code: second.code, state: second.state }), callback(MP.appid, { code: second.code, state: second.state })]);
    expect(both.map((h) => h.status).sort()).toEqual([302, 400]);
  });
});

describe('codes and refusals', () => {
  it('a reused, expired or invalid code ends on a clear 400 error, never at the target', async () => {
    stack = await startOAuthStack();
    const a = await begin();
    const b = await begin();
    expect((await callback(MP.appid, { code: a.code, state: a.state })).status).toBe(302);
    refused(await callback(MP.appid, { code: a.code, state: b.state }), 400, 'code_used', 40163);

    const c = await begin();
    stack.sim.advance(5 * MIN);
    refused(await callback(MP.appid, { code: c.code, state: c.state }), 400, 'code_expired', 42003);

    const d = await begin();
    refused(await callback(MP.appid, { code: 'not-a-code', state: d.state }), 400, 'code_invalid', 40029);

    const e = await begin();
    const page = await callback(MP.appid, { code: e.code, state: e.state }, 'text/html');
    expect(page.status).toBe(302); // sanity: the same request with a good code goes through
    const f = await begin();
    const html = await callback(MP.appid, { code: a.code, state: f.state }, 'text/html');
    expect([html.status, html.location]).toEqual([400, null]);
    expect(html.body).toContain('微信登录失败');
    expect(html.body).toContain('40163');
  });

  it('a refusal (拒绝: only ?state comes back) ends on a clear 400 error', async () => {
    stack = await startOAuthStack();
    const hops = await walk(authorizeUrl(MP.appid, { redirect: LANDING, scope: 'snsapi_userinfo' }), 'deny');
    expect(hops.map((h) => h.status)).toEqual([302, 200, 302, 400]);
    expect(new URL(hops[2]!.location!).searchParams.has('code')).toBe(false);
    refused(hops[3]!, 400, 'refused');
    expect(stack.sim.calls('sns_access_token')).toBe(0);
  });

  it('WeChat unavailable → 503, WeChat refusing the app → 502, both without a Location', async () => {
    stack = await startOAuthStack();
    const a = await begin();
    stack.sim.fault('sns_access_token', { http: 502 });
    refused(await callback(MP.appid, { code: a.code, state: a.state }), 503, 'upstream_unavailable');
    const b = await begin();
    stack.sim.fault('sns_access_token', { errcode: 40125 });
    refused(await callback(MP.appid, { code: b.code, state: b.state }), 502, 'upstream_config', 40125);
  });

  it('the routes are off (404) without oauth.callbackBase and oauth.secret', async () => {
    stack = await startStack({ config: { oauth: { redirects: ['https://app\\.example\\.com/.*'] } } });
    refused(await get(authorizeUrl(MP.appid, { redirect: LANDING })), 404, 'not_configured');
    refused(await get(`${stack.url}/oauth/${MP.appid}/callback?code=x&state=y`), 404, 'not_configured');
  });
});

describe('the signed result', () => {
  it('verifies; a tampered, re-signed, expired or foreign-app one does not', async () => {
    stack = await startOAuthStack();
    const hops = await walk(authorizeUrl(MP.appid, { redirect: LANDING }));
    const token = new URL(hops.at(-1)!.location!).searchParams.get('wecred_result')!;
    const now = stack.sim.now();
    expect(verifyOAuthResult(token, OAUTH_SECRET, { now, appid: MP.appid }).ok).toBe(true);

    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const other = Buffer.from(JSON.stringify({ ...claims, openid: 'oEvil' })).toString('base64url');
    expect(verifyOAuthResult(`${h}.${other}.${s}`, OAUTH_SECRET, { now })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyOAuthResult(token, 'another-secret-0123456789abcdef0123', { now })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyOAuthResult(token, OAUTH_SECRET, { now: now + RESULT_TTL_SECONDS * 1000 + 1000 })).toEqual({ ok: false, reason: 'expired' });
    expect(verifyOAuthResult(token, OAUTH_SECRET, { now, appid: MP2.appid })).toEqual({ ok: false, reason: 'wrong_app' });
    expect(verifyOAuthResult('garbage', OAUTH_SECRET, { now })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('verifies with nothing but node:crypto (what a business server without our code does)', async () => {
    stack = await startOAuthStack();
    const hops = await walk(authorizeUrl(MP.appid, { redirect: LANDING }));
    const token = new URL(hops.at(-1)!.location!).searchParams.get('wecred_result')!;
    const { createHmac, timingSafeEqual } = await import('node:crypto');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const expected = createHmac('sha256', OAUTH_SECRET).update(`${header}.${payload}`).digest();
    expect(timingSafeEqual(Buffer.from(signature, 'base64url'), expected)).toBe(true);
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims.exp * 1000).toBeGreaterThan(stack.sim.now());
  });
});

describe('envelope interfaces', () => {
  it('oauth.authorize_url (public) builds WeChat\'s URL for an allowed redirect_uri and a WeChat-style state', async () => {
    stack = await startOAuthStack();
    const res = await stack.envelope('oauth.authorize_url', { appid: MP.appid, redirect_uri: 'https://app.example.com/wx/cb', scope: 'snsapi_userinfo', state: 'abc123' }, null);
    expect(res.json.returnCode).toBe(0);
    expect(res.json.returnData).toEqual({
      appid: MP.appid,
      scope: 'snsapi_userinfo',
      url: `${stack.sim.url}/connect/oauth2/authorize?appid=${MP.appid}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fwx%2Fcb&response_type=code&scope=snsapi_userinfo&state=abc123#wechat_redirect`,
    });
    const web = await stack.envelope('oauth.authorize_url', { appid: WEB.appid, redirect_uri: 'https://app.example.com/wx/cb' }, null);
    expect(web.json.returnData.url).toMatch(new RegExp(`^${stack.sim.url}/connect/qrconnect\\?appid=${WEB.appid}&.*scope=snsapi_login#wechat_redirect$`));
    // the URL really works at (simulated) WeChat
    const page = await get(res.json.returnData.url);
    expect(page.body).toContain('允许');

    for (const para of [
      { appid: MP.appid, redirect_uri: 'https://app.example.com.evil.net/' },
      { appid: MP.appid, redirect_uri: 'javascript:alert(1)' },
      { appid: MP.appid, redirect_uri: 'https://app.example.com/cb', state: 'has-dash' },
      { appid: MP.appid, redirect_uri: 'https://app.example.com/cb', state: 'a'.repeat(129) },
      { appid: MP.appid, redirect_uri: 'https://app.example.com/cb', scope: 'snsapi_login' },
      { appid: MINA.appid, redirect_uri: 'https://app.example.com/cb' },
      { appid: MP.appid },
    ]) {
      const bad = await stack.envelope('oauth.authorize_url', para, null);
      expect({ para, returnCode: bad.json.returnCode }).toEqual({ para, returnCode: 1003 });
    }
  });

  it('oauth.exchange (signed realm): a code → openid, unionid, scope and the user; errors carry WeChat\'s errcode', async () => {
    stack = await startOAuthStack();
    const code = stack.sim.oauthCode(MP.appid, 'snsapi_userinfo', 'dave');
    const res = await stack.envelope('oauth.exchange', { appid: MP.appid, code }, EXCHANGER);
    expect(res.json.returnCode).toBe(0);
    expect(res.json.returnData).toEqual({
      appid: MP.appid,
      openid: simOpenid(MP.appid, 'dave'),
      unionid: simUnionid('dave'),
      scope: 'snsapi_userinfo',
      user: stack.sim.oauthUser(MP.appid, 'dave'),
    });
    const base = await stack.envelope('oauth.exchange', { appid: MP.appid, code: stack.sim.oauthCode(MP.appid, 'snsapi_base', 'dave') }, EXCHANGER);
    expect(base.json.returnData).toEqual({ appid: MP.appid, openid: simOpenid(MP.appid, 'dave'), scope: 'snsapi_base' });

    const reused = await stack.envelope('oauth.exchange', { appid: MP.appid, code }, EXCHANGER);
    expect(reused.json).toMatchObject({ returnCode: 40029, returnData: '', error: { code: 'bad_code', errcode: 40163 } });
    expect((await stack.envelope('oauth.exchange', { appid: MP.appid, code: 'x' }, null)).json.returnCode).toBe(7001);
    expect((await stack.envelope('oauth.exchange', { appid: MP.appid, code: 'x' }, REALM)).json.returnCode).toBe(7006);
    expect((await stack.envelope('oauth.exchange', { appid: MP2.appid, code: 'x' }, EXCHANGER)).json.returnCode).toBe(7005);
    expect((await stack.envelope('oauth.exchange', { appid: MP.appid }, EXCHANGER)).json.returnCode).toBe(1003);
  });
});

describe('user token records', () => {
  it('refresh through sns/oauth2/refresh_token when the access_token is spent, and are sealed under WECRED_MASTER_KEY', async () => {
    stack = await startOAuthStack();
    const app = stack.config.apps.find((a) => a.appid === MP.appid)!;
    const sealedConfig = { ...stack.config, masterKey: Buffer.alloc(32, 7) };
    const flow = createOAuthFlow({ config: sealedConfig, store: stack.store, clock: () => stack.sim.now() });
    const call = { upstreamCalls: 0, deadline: performance.now() + 4000 };
    const login = await flow.exchange(app, stack.sim.oauthCode(MP.appid, 'snsapi_userinfo', 'erin'), call);
    const kept = (await flow.readUserToken(MP.appid, login.openid))!;
    expect(kept).toMatchObject({ appid: MP.appid, openid: login.openid, unionid: simUnionid('erin'), scope: 'snsapi_userinfo' });
    const raw = (await stack.store.getRecord(`oauth:user:${MP.appid}:${login.openid}`, stack.sim.now()))!;
    expect(raw).not.toContain(kept.accessToken);
    expect(raw).not.toContain(kept.refreshToken);
    expect(JSON.parse(raw).sealed).toBe(true);

    expect((await flow.userAccessToken(app, login.openid, call))!.accessToken).toBe(kept.accessToken);
    expect(stack.sim.calls('sns_refresh_token')).toBe(0);
    stack.sim.advance(7200_000);
    const fresh = (await flow.userAccessToken(app, login.openid, call))!;
    expect(fresh.accessToken).not.toBe(kept.accessToken);
    expect(fresh.refreshExpiresAt).toBe(kept.refreshExpiresAt);
    expect(stack.sim.calls('sns_refresh_token', MP.appid)).toBe(1);
    expect(await flow.userAccessToken(app, 'oNobody', call)).toBeNull();
  });
});
