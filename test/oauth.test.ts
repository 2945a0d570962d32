/**
 * OAuth web login through the real HTTP server and the simulator: the test plays the browser,
 * following each redirect by hand and keeping wecred's cookie. Over 400 lines: every refused
 * target, state and code is its own case. docs/design.md §3.2–§3.4, §11.2.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { demoConfig } from '../lib/config/load';
import { cipherFor } from '../lib/crypto/at-rest';
import { createOAuthFlow, RESULT_TTL_SECONDS, verifyOAuthResult, type OAuthResult } from '../lib/sessions/oauth';
import { OAuthError } from '../lib/sessions/oauth-errors';
import { allowedRedirect } from '../lib/sessions/oauth-redirects';
import { STATE_COOKIE, STATE_TTL_SECONDS } from '../lib/sessions/oauth-state';
import { createMemoryStore } from '../lib/store/memory';
import type { Store } from '../lib/store/port';
import type { SnsClient } from '../lib/wechat/sns';
import { simOpenid, simUnionid } from '../sim';
import { EXCHANGER, MINA, OAUTH_SECRET, startOAuthStack, WEB } from './support/oauth-stack';
import { ADMIN, MP, MP2, REALM, startStack, type Stack } from './support/stack';

let stack: Stack;
afterEach(() => stack?.close());

const LANDING = 'https://app.example.com/landing?x=1';
const MIN = 60_000;

interface Hop {
  url: string;
  status: number;
  location: string | null;
  /** The Set-Cookie header, if any. */
  setCookie: string | null;
  body: string;
}

/** GET without following redirects, with a Cookie header when given. */
async function get(url: string, accept?: string, cookie?: string): Promise<Hop> {
  const headers: Record<string, string> = {};
  if (accept) headers.accept = accept;
  if (cookie) headers.cookie = cookie;
  const res = await fetch(url, { redirect: 'manual', headers });
  return {
    url,
    status: res.status,
    location: res.headers.get('location'),
    setCookie: res.headers.get('set-cookie'),
    body: await res.text(),
  };
}

/** `name=value` of a Set-Cookie header (what a browser sends back). */
const sent = (setCookie: string | null) => setCookie!.split(';')[0]!;

function authorizeUrl(appid: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
  return `${stack.url}/oauth/${appid}/authorize?${q}`;
}

/**
 * Walk the chain from `start` like a browser: follow Locations, press 允许 (or 拒绝) on the
 * simulator's page, stop at a page that is not a redirect or at the landing site (not served).
 * wecred's cookie is kept and sent back to wecred (one browser, one cookie: enough here).
 */
async function walk(start: string, action: 'allow' | 'deny' = 'allow'): Promise<Hop[]> {
  const hops: Hop[] = [];
  let cookie: string | undefined;
  let url: string | undefined = start;
  while (url !== undefined && hops.length < 10) {
    const ours: boolean = url.startsWith(`${stack.url}/`);
    const hop = await get(url, undefined, ours ? cookie : undefined);
    hops.push(hop);
    if (ours && hop.setCookie) cookie = / Max-Age=0;/.test(hop.setCookie) ? undefined : sent(hop.setCookie);
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

/** Our authorize redirect, the sim's code for it (as if the user allowed), our state and this browser's cookie. */
async function begin(
  appid = MP.appid,
  params: Record<string, string> = {},
): Promise<{ state: string; code: string; location: URL; cookie: string }> {
  const hop = await get(authorizeUrl(appid, { redirect: LANDING, scope: 'snsapi_userinfo', ...params }));
  expect(hop.status).toBe(302);
  const location = new URL(hop.location!);
  const scope = location.searchParams.get('scope') as 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';
  return {
    state: location.searchParams.get('state')!,
    code: stack.sim.oauthCode(appid, scope),
    location,
    cookie: sent(hop.setCookie),
  };
}

/** The callback as WeChat sends the browser there; `cookie` is what that browser holds for wecred. */
const callback = (appid: string, params: Record<string, string>, cookie?: string, accept?: string) =>
  get(`${stack.url}/oauth/${appid}/callback?${new URLSearchParams(params)}`, accept, cookie);

/** A refused request: the status, no Location, and the JSON error's reason. */
function refused(hop: Hop, status: number, reason: string, errcode?: number): void {
  expect(hop.status, hop.body).toBe(status);
  expect(hop.location).toBeNull();
  const error = JSON.parse(hop.body).error;
  expect(error.reason).toBe(reason);
  expect(error.message).toEqual(expect.any(String));
  if (errcode !== undefined) expect(error.errcode).toBe(errcode);
}

/** A memory store that records the name of every write. */
function countingStore(): { store: Store; writes: string[] } {
  const inner = createMemoryStore();
  const writes: string[] = [];
  const WRITES = new Set([
    'acquireLease',
    'renewLease',
    'commit',
    'releaseLease',
    'insertIfAbsent',
    'increment',
    'putRecord',
    'deleteRecord',
  ]);
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (WRITES.has(String(prop))) writes.push(`${String(prop)} ${String(args[0])}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, writes };
}

describe('the whole flow', () => {
  it("snsapi_base: authorize → WeChat (silent) → callback → the allowed target with a signed result and the caller's state", async () => {
    stack = await startOAuthStack();
    const hops = await walk(authorizeUrl(MP.appid, { redirect: LANDING, state: 'caller state/ü' }));
    expect(hops.map((h) => h.status)).toEqual([302, 302, 302]);

    // 1. our redirect to WeChat's page
    const wx = hops[0]!.location!;
    expect(wx).toMatch(
      new RegExp(
        `^${stack.sim.url}/connect/oauth2/authorize\\?appid=${MP.appid}&redirect_uri=[^&#]+&response_type=code&scope=snsapi_base&state=[A-Za-z0-9]{64}#wechat_redirect$`,
      ),
    );
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
    expect(
      await stack.store.getRecord(
        `oauth:user:${MP.appid}:${result.openid}`,
        stack.sim.now() + 30 * 24 * 60 * MIN + MIN,
      ),
    ).toBeNull();
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
    expect(result).toMatchObject({
      appid: MP.appid,
      openid: profile.openid,
      unionid: simUnionid('alice'),
      scope: 'snsapi_userinfo',
      nickname: '微信用户 alice',
      headimgurl: profile.headimgurl,
    });
    expect(result).not.toHaveProperty('state');
    expect(stack.sim.calls('sns_userinfo', MP.appid)).toBe(1);
  });

  it('website apps: qrconnect with snsapi_login', async () => {
    stack = await startOAuthStack();
    const hops = await walk(authorizeUrl(WEB.appid, { redirect: LANDING, state: 'w' }));
    expect(hops[0]!.location).toMatch(
      new RegExp(
        `^${stack.sim.url}/connect/qrconnect\\?appid=${WEB.appid}&redirect_uri=.+&response_type=code&scope=snsapi_login&state=\\w{64}#wechat_redirect$`,
      ),
    );
    const { result } = landed(hops);
    expect(result).toMatchObject({
      appid: WEB.appid,
      openid: simOpenid(WEB.appid, 'user1'),
      unionid: simUnionid('user1'),
      scope: 'snsapi_login',
      nickname: '微信用户 user1',
      state: 'w',
    });

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
      expect({ redirect, status: hop.status, location: hop.location }).toEqual({
        redirect,
        status: 400,
        location: null,
      });
      expect(JSON.parse(hop.body).error).toMatchObject({ code: 'bad_para', reason: 'redirect_not_allowed' });
    }
    refused(await get(authorizeUrl(MP.appid, {})), 400, 'redirect_not_allowed');
    // browsers get a page, still without a Location
    const page = await get(
      authorizeUrl(MP.appid, { redirect: 'https://evil.net/' }),
      'text/html,application/xhtml+xml',
    );
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
    expect(allowedRedirect(['^https://app\\.example\\.com/$'], 'https://APP.example.com')).toBe(
      'https://app.example.com/',
    );
    expect(allowedRedirect(['^https://app\\.example\\.com/'], 'https://app.example.com/landing')).toBeNull();
    expect(allowedRedirect(['^https://app\\.example\\.com/.*$'], 'https://app.example.com/landing')).toBe(
      'https://app.example.com/landing',
    );
    const two = ['https://app\\.example\\.com/a|https://b\\.example\\.com/b'];
    expect(allowedRedirect(two, 'https://b.example.com/b')).toBe('https://b.example.com/b');
    expect(allowedRedirect(two, 'https://app.example.com/ab')).toBeNull();
    expect(allowedRedirect(['https://app\\.example\\.com/\\$x'], 'https://app.example.com/$x')).toBe(
      'https://app.example.com/$x',
    );
    expect(allowedRedirect([], 'https://app.example.com/')).toBeNull();
  });

  it('a pattern that does not pin the host allows nothing (it would admit look-alikes), and says which one it is', () => {
    const loose: number[] = [];
    const onLoose = (i: number) => loose.push(i);
    const patterns = ['https://b\\.example\\.com/.*', 'https://app\\.example\\.com.*'];
    for (const target of [
      'https://app.example.com.evil.net/',
      'https://app.example.com.evil.net/landing',
      'https://app.example.com/landing',
      'https://app.example.com:8443/',
    ]) {
      expect(allowedRedirect(patterns, target, onLoose)).toBeNull();
    }
    expect(loose).toEqual([1, 1, 1, 1]);
    // fail closed: a strict pattern matching too does not rescue the target
    expect(
      allowedRedirect(
        ['https://app\\.example\\.com/.*', 'https://app\\.example\\.com.*'],
        'https://app.example.com/x',
        onLoose,
      ),
    ).toBeNull();
    for (const p of [
      'https://app\\.example\\.com[^/]*/.*',
      'https://[^/]*example\\.com/.*',
      'https://.*example\\.com/.*',
      'https?://.*',
      '.*',
    ]) {
      expect({ p, allowed: allowedRedirect([p], 'https://app.example.com/landing') }).toEqual({ p, allowed: null });
    }
    // patterns that do pin the host still work: exact hosts, subdomain wildcards, ports, IP literals
    loose.length = 0;
    expect(allowedRedirect(['https://app\\.example\\.com/.*'], 'https://app.example.com/landing', onLoose)).toBe(
      'https://app.example.com/landing',
    );
    expect(allowedRedirect(['https://[a-z0-9-]+\\.example\\.com/.*'], 'https://shop.example.com/x', onLoose)).toBe(
      'https://shop.example.com/x',
    );
    expect(
      allowedRedirect(['https://([a-z]+\\.)?example\\.com(:\\d+)?/.*'], 'https://example.com:8443/x', onLoose),
    ).toBe('https://example.com:8443/x');
    expect(allowedRedirect(['https://(.*\\.)?example\\.co\\.uk/.*'], 'https://a.b.example.co.uk/x', onLoose)).toBe(
      'https://a.b.example.co.uk/x',
    );
    expect(allowedRedirect(['http://\\[::1\\]:\\d+/.*'], 'http://[::1]:8080/x', onLoose)).toBe('http://[::1]:8080/x');
    expect(
      allowedRedirect(['http://127\\.0\\.0\\.1:\\d+/landing(\\?.*)?'], 'http://127.0.0.1:4000/landing?a=1', onLoose),
    ).toBe('http://127.0.0.1:4000/landing?a=1');
    expect(loose).toEqual([]);
  });

  it('through the server: the look-alike and everything else refused under a host-loose pattern, with one warning naming the pattern, not the URL', async () => {
    stack = await startOAuthStack({ oauth: { redirects: ['https://app\\.example\\.com.*'] } });
    for (const redirect of ['https://app.example.com.evil.net/landing', LANDING])
      refused(await get(authorizeUrl(MP.appid, { redirect })), 400, 'redirect_not_allowed');
    const warnings = stack.logs.filter((l) => l.event === 'oauth_redirect_pattern_loose');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ level: 'warn', pattern: 'oauth.redirects[0]' });
    expect(JSON.stringify(stack.logs)).not.toContain('evil.net');
    const envelope = await stack.envelope(
      'oauth.authorize_url',
      { appid: MP.appid, redirect_uri: 'https://app.example.com.evil.net/' },
      null,
    );
    expect(envelope.json.returnCode).toBe(1003);
    expect(stack.logs.filter((l) => l.event === 'oauth_redirect_pattern_loose')).toHaveLength(3);
  });

  it("demo mode allows any path on this machine only, and sends the browser to the simulator's authorize page", () => {
    const demo = demoConfig('http://127.0.0.1:4010', {});
    expect(demo.upstream.open).toBe('http://127.0.0.1:4010');
    expect(demo.oauth.callbackBase).toBeUndefined();
    for (const ok of [
      'http://localhost:3000/',
      'http://localhost:3000/deep/path?x=1',
      'http://127.0.0.1/cb',
      'https://localhost/a#b',
    ]) {
      expect(allowedRedirect(demo.oauth.redirects, ok)).toBe(new URL(ok).href);
    }
    for (const bad of [
      'http://localhost.evil.net/',
      'http://127.0.0.1.evil.net/x',
      'http://evil.net/localhost/',
      'http://localhost:3000@evil.net/',
    ]) {
      expect(allowedRedirect(demo.oauth.redirects, bad)).toBeNull();
    }
  });
});

describe('state', () => {
  it('refuses a tampered, foreign or missing state before calling WeChat', async () => {
    stack = await startOAuthStack();
    const { state, code, cookie } = await begin();
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'a' ? 'b' : 'a') + s.slice(i + 1);
    for (const bad of [
      flip(state, 0),
      flip(state, 25),
      flip(state, 63),
      state.slice(0, 63),
      `${state}0`,
      state.toUpperCase(),
      'abc',
    ]) {
      refused(await callback(MP.appid, { code, state: bad }, cookie), 400, 'bad_state');
    }
    refused(await callback(MP2.appid, { code, state }, cookie), 400, 'bad_state'); // made for MP
    refused(await callback(MP.appid, { code }, cookie), 400, 'bad_state');
    expect(stack.sim.calls('sns_access_token')).toBe(0);
    // the genuine one still works
    const ok = await callback(MP.appid, { code, state }, cookie);
    expect(ok.status).toBe(302);
  });

  it('refuses a state whose expiry digits were changed (the tag covers the expiry)', async () => {
    stack = await startOAuthStack();
    const { state, code, cookie } = await begin();
    // layout: id (22) ‖ exp (10 digits, unix seconds) ‖ tag (32 hex)
    const [id, exp, tag] = [state.slice(0, 22), Number(state.slice(22, 32)), state.slice(32)];
    expect(exp * 1000).toBe(Math.floor(stack.sim.now() / 1000) * 1000 + STATE_TTL_SECONDS * 1000);
    for (const other of [exp + 3600, exp + 1, exp - 60]) {
      refused(
        await callback(MP.appid, { code, state: `${id}${String(other).padStart(10, '0')}${tag}` }, cookie),
        400,
        'bad_state',
      );
    }
    expect(stack.sim.calls('sns_access_token')).toBe(0);
    expect((await callback(MP.appid, { code, state }, cookie)).status).toBe(302);
  });

  it('refuses an expired state (10 minutes)', async () => {
    stack = await startOAuthStack();
    const { state, cookie } = await begin();
    stack.sim.advance(STATE_TTL_SECONDS * 1000 + 1000);
    refused(
      await callback(MP.appid, { code: stack.sim.oauthCode(MP.appid, 'snsapi_userinfo'), state }, cookie),
      400,
      'state_expired',
    );
    expect(stack.sim.calls('sns_access_token')).toBe(0);
  });

  it('is good once: a replayed callback is refused', async () => {
    stack = await startOAuthStack();
    const { state, code, cookie } = await begin();
    expect((await callback(MP.appid, { code, state }, cookie)).status).toBe(302);
    // even by a browser that kept the cookie it was told to drop
    refused(await callback(MP.appid, { code, state }, cookie), 400, 'state_used');
    // two racing callbacks with one state: one goes on
    const second = await begin();
    const both = await Promise.all([
      callback(MP.appid, { code: second.code, state: second.state }, second.cookie),
      callback(MP.appid, { code: second.code, state: second.state }, second.cookie),
    ]);
    expect(both.map((h) => h.status).sort()).toEqual([302, 400]);
  });
});

describe('the login cookie (login CSRF)', () => {
  it("authorize sets it HttpOnly, SameSite=Lax, for the app's /oauth/<appid>/ path, living as long as the state", async () => {
    stack = await startOAuthStack();
    const hop = await get(authorizeUrl(MP.appid, { redirect: LANDING }));
    const attrs = hop.setCookie!.split('; ');
    expect(attrs[0]).toMatch(new RegExp(`^${STATE_COOKIE}=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));
    expect(attrs.slice(1).sort()).toEqual([
      'HttpOnly',
      `Max-Age=${STATE_TTL_SECONDS + 60}`,
      `Path=/oauth/${MP.appid}/`,
      'SameSite=Lax',
    ]);
    // what the browser sent (redirect, state) is not hidden from it, but WeChat's state only carries our id
    expect(new URL(hop.location!).searchParams.get('state')).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(hop.location).not.toContain('app.example.com/landing');
  });

  it("is Secure when callbackBase is https, and its path follows callbackBase's stage path", async () => {
    stack = await startOAuthStack({ oauth: { callbackBase: 'https://cred.example.com/release' } });
    const hop = await get(authorizeUrl(MP.appid, { redirect: LANDING }));
    expect(hop.setCookie).toMatch(new RegExp(`; Path=/release/oauth/${MP.appid}/;`));
    expect(hop.setCookie!.split('; ')).toContain('Secure');
    expect(new URL(hop.location!).searchParams.get('redirect_uri')).toBe(
      `https://cred.example.com/release/oauth/${MP.appid}/callback`,
    );
  });

  it("a callback URL replayed in another browser (no cookie, or that browser's own) is refused before WeChat, and the login still works where it started", async () => {
    stack = await startOAuthStack();
    const victim = await begin(); // attacker's login, in the attacker's browser
    const other = await begin(); // the browser the URL is replayed in has its own login going
    const noCookie = await callback(MP.appid, { code: victim.code, state: victim.state });
    refused(noCookie, 400, 'bad_state');
    expect(JSON.parse(noCookie.body).error.message).toMatch(/start in the browser/);
    refused(await callback(MP.appid, { code: victim.code, state: victim.state }, other.cookie), 400, 'bad_state');
    // a cookie altered or signed with another key is no cookie either
    const [h, p] = victim.cookie.split('.') as [string, string, string];
    refused(await callback(MP.appid, { code: victim.code, state: victim.state }, `${h}.${p}.AAAA`), 400, 'bad_state');
    expect(stack.sim.calls('sns_access_token')).toBe(0);
    const page = await callback(MP.appid, { code: victim.code, state: victim.state }, undefined, 'text/html');
    expect([page.status, page.location]).toEqual([400, null]);
    expect(page.body).toContain('bad_state');

    const ok = await callback(MP.appid, { code: victim.code, state: victim.state }, `other=1; ${victim.cookie}`);
    expect(ok.status).toBe(302);
  });

  it('the callback takes exactly one login cookie: a second one (planted beside it) is refused before WeChat', async () => {
    stack = await startOAuthStack();
    const mine = await begin();
    const planted = await begin(); // what a sibling domain could set for this path
    for (const both of [
      `${mine.cookie}; ${planted.cookie}`,
      `${planted.cookie}; ${mine.cookie}`,
      `${mine.cookie}; ${mine.cookie}`,
    ])
      refused(await callback(MP.appid, { code: mine.code, state: mine.state }, both), 400, 'bad_state');
    expect(stack.sim.calls('sns_access_token')).toBe(0);
    expect((await callback(MP.appid, { code: mine.code, state: mine.state }, mine.cookie)).status).toBe(302);
  });

  it('on an https callback at the host root it is __Host- prefixed (Path=/, Secure, per app), and only that name counts', async () => {
    stack = await startOAuthStack({ oauth: { callbackBase: 'https://cred.example.com' } });
    const hop = await get(authorizeUrl(MP.appid, { redirect: LANDING }));
    const name = `__Host-${STATE_COOKIE}_${MP.appid}`;
    expect(hop.setCookie!.split('; ').slice(1).sort()).toEqual([
      'HttpOnly',
      `Max-Age=${STATE_TTL_SECONDS + 60}`,
      'Path=/',
      'SameSite=Lax',
      'Secure',
    ]);
    const cookie = sent(hop.setCookie);
    expect(cookie.startsWith(`${name}=`)).toBe(true);
    const state = new URL(hop.location!).searchParams.get('state')!;
    const code = stack.sim.oauthCode(MP.appid, 'snsapi_base');
    // The same value under the unprefixed name, as a sibling domain could set it, is no login cookie here.
    const unprefixed = cookie.replace(`${name}=`, `${STATE_COOKIE}=`);
    refused(await callback(MP.appid, { code, state }, unprefixed), 400, 'bad_state');
    const ok = await callback(MP.appid, { code, state }, cookie);
    expect(ok.status).toBe(302);
    expect(ok.setCookie).toBe(`${name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure`);
  });

  it('every callback answer clears it, success or failure', async () => {
    stack = await startOAuthStack();
    const clear = `${STATE_COOKIE}=; Path=/oauth/${MP.appid}/; Max-Age=0; HttpOnly; SameSite=Lax`;
    const a = await begin();
    const ok = await callback(MP.appid, { code: a.code, state: a.state }, a.cookie);
    expect([ok.status, ok.setCookie]).toEqual([302, clear]);
    const b = await begin();
    const denied = await callback(MP.appid, { state: b.state }, b.cookie);
    expect([denied.status, denied.setCookie]).toEqual([400, clear]);
    expect((await callback(MP.appid, { code: 'x', state: 'y' })).setCookie).toBe(clear);
    // an unknown app gets no cookie header at all
    expect((await callback('wx9999999999999999', { code: 'x', state: 'y' })).setCookie).toBeNull();
  });

  it('authorize writes nothing to the store; only a callback with its cookie counts its address and claims the state', async () => {
    const { store, writes } = countingStore();
    stack = await startOAuthStack({ store });
    try {
      writes.length = 0;
      for (let i = 0; i < 20; i++)
        expect((await get(authorizeUrl(MP.appid, { redirect: LANDING, state: `s${i}` }))).status).toBe(302);
      const a = await begin();
      expect(writes).toEqual([]);
      refused(await callback(MP.appid, { code: a.code, state: a.state }), 400, 'bad_state');
      refused(await callback(MP.appid, { state: a.state }, a.cookie), 400, 'refused');
      expect(writes).toEqual([]);
      const b = await begin();
      expect((await callback(MP.appid, { code: b.code, state: b.state }, b.cookie)).status).toBe(302);
      expect(writes.map((w) => w.split(':').slice(0, 2).join(':'))).toEqual([
        expect.stringMatching(/^increment login-limit:[0-9a-f]{32}$/),
        'insertIfAbsent oauth:state-used',
        'putRecord oauth:user',
      ]);
    } finally {
      await store.close();
    }
  });

  it('refuses a redirect and state too long together for a cookie (400, nothing set)', async () => {
    stack = await startOAuthStack();
    const hop = await get(
      authorizeUrl(MP.appid, { redirect: `https://app.example.com/${'a'.repeat(2000)}`, state: '微'.repeat(500) }),
    );
    refused(hop, 400, 'bad_request');
    expect(hop.setCookie).toBeNull();
  });
});

describe('callbacks per client address', () => {
  it('a callback that would exchange a code is counted per address (clients.loginsPerMinute): past it 429 rate_limited before WeChat; refused ones do not count', async () => {
    stack = await startOAuthStack({ clients: { loginsPerMinute: 2 } });
    stack.sim.advance(60_000 - (stack.sim.now() % 60_000) + 1000);
    for (let i = 0; i < 5; i++) refused(await callback(MP.appid, { code: 'x', state: 'y' }), 400, 'bad_state');
    for (let i = 0; i < 2; i++) {
      const a = await begin();
      expect((await callback(MP.appid, { code: a.code, state: a.state }, a.cookie)).status).toBe(302);
    }
    const c = await begin();
    const limited = await callback(MP.appid, { code: c.code, state: c.state }, c.cookie);
    expect(limited.status).toBe(429);
    expect(limited.location).toBeNull();
    expect(JSON.parse(limited.body).error).toMatchObject({ code: 'rate_limited' });
    expect(stack.sim.calls('sns_access_token')).toBe(2);
    stack.sim.advance(60_000);
    expect((await callback(MP.appid, { code: c.code, state: c.state }, c.cookie)).status).toBe(302);
  });
});

describe('codes and refusals', () => {
  it('a reused, expired or invalid code ends on a clear 400 error, never at the target', async () => {
    stack = await startOAuthStack();
    const a = await begin();
    const b = await begin();
    expect((await callback(MP.appid, { code: a.code, state: a.state }, a.cookie)).status).toBe(302);
    refused(await callback(MP.appid, { code: a.code, state: b.state }, b.cookie), 400, 'code_used', 40163);

    const c = await begin();
    stack.sim.advance(5 * MIN);
    refused(await callback(MP.appid, { code: c.code, state: c.state }, c.cookie), 400, 'code_expired', 42003);

    const d = await begin();
    refused(await callback(MP.appid, { code: 'not-a-code', state: d.state }, d.cookie), 400, 'code_invalid', 40029);

    const e = await begin();
    const page = await callback(MP.appid, { code: e.code, state: e.state }, e.cookie, 'text/html');
    expect(page.status).toBe(302); // sanity: the same request with a good code goes through
    const f = await begin();
    const html = await callback(MP.appid, { code: a.code, state: f.state }, f.cookie, 'text/html');
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

  it('WeChat unavailable → 503 telling to start the login again (not "try again"), WeChat refusing the app → 502, both without a Location', async () => {
    stack = await startOAuthStack();
    const a = await begin();
    stack.sim.fault('sns_access_token', { http: 502 });
    const down = await callback(MP.appid, { code: a.code, state: a.state }, a.cookie);
    refused(down, 503, 'upstream_unavailable');
    expect(JSON.parse(down.body).error.message).toMatch(/start the login again/);
    expect(JSON.parse(down.body).error.message).not.toMatch(/try again/);
    const b = await begin();
    stack.sim.fault('sns_access_token', { errcode: 40125 });
    refused(await callback(MP.appid, { code: b.code, state: b.state }, b.cookie), 502, 'upstream_config', 40125);
  });

  it('a browser gets its error as a page that runs nothing, the words escaped; a program gets JSON', async () => {
    stack = await startOAuthStack();
    const a = await begin();
    stack.sim.fault('sns_access_token', { errcode: 40125 });
    const res = await stack.app.http({
      method: 'GET',
      path: `/oauth/${MP.appid}/callback`,
      query: { code: a.code, state: a.state },
      headers: { accept: 'text/html', cookie: a.cookie },
      body: '',
    });
    expect(res.status).toBe(502);
    expect(res.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'",
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    expect(res.body).toContain('refused this app&#39;s configuration (errcode 40125)');
    expect(res.body).toContain('<p id="reason"><code>upstream_config</code></p>');
    const json = await stack.app.http({
      method: 'GET',
      path: `/oauth/${MP.appid}/authorize`,
      query: { redirect: 'https://evil.example/' },
      headers: {},
      body: '',
    });
    expect(json.status).toBe(400);
    expect(json.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
    expect(JSON.parse(json.body).error).toMatchObject({ code: expect.any(String), reason: 'redirect_not_allowed' });
  });

  it('a crash in a login step answers 500 internal and logs the step, never the details', async () => {
    let broken = false;
    stack = await startOAuthStack({
      clock: () => {
        if (broken) throw new Error('clock broke at 2a3f');
        return Date.now();
      },
    });
    broken = true;
    const hop = await get(authorizeUrl(MP.appid, { redirect: LANDING }));
    broken = false;
    expect(hop.status).toBe(500);
    expect(JSON.parse(hop.body).error).toMatchObject({ code: 'internal', message: 'internal error' });
    const crashes = stack.logs.filter((l) => l.level === 'error');
    expect(crashes).toEqual([expect.objectContaining({ event: 'route_crashed', route: 'oauth', error: 'Error' })]);
    expect(JSON.stringify(stack.logs)).not.toContain('2a3f');
    refused(await get(authorizeUrl(MP.appid, { redirect: 'https://evil.example/' })), 400, 'redirect_not_allowed');
    expect(stack.logs.filter((l) => l.level === 'error')).toHaveLength(1); // a refusal is no crash
  });

  it("does not spend the single-use code when too little of the request's budget is left", async () => {
    stack = await startOAuthStack();
    const app = stack.config.apps.find((a) => a.appid === MP.appid)!;
    const flow = createOAuthFlow({ config: stack.config, store: stack.store, clock: () => stack.sim.now() });
    const code = stack.sim.oauthCode(MP.appid, 'snsapi_base');
    const late = { upstreamCalls: 0, deadline: performance.now() + 50 };
    const err = await flow.exchange(app, code, late).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthError);
    expect(err).toMatchObject({
      reason: 'upstream_unavailable',
      message: expect.stringMatching(/start the login again/),
    });
    expect([late.upstreamCalls, stack.sim.calls('sns_access_token')]).toEqual([0, 0]);
    // the code is still good
    const login = await flow.exchange(app, code, { upstreamCalls: 0, deadline: performance.now() + 4000 });
    expect(login.openid).toBe(simOpenid(MP.appid, 'user1'));
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
    expect(verifyOAuthResult(`${h}.${other}.${s}`, OAUTH_SECRET, { now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyOAuthResult(token, 'another-secret-0123456789abcdef0123', { now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(verifyOAuthResult(token, OAUTH_SECRET, { now: now + RESULT_TTL_SECONDS * 1000 + 1000 })).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verifyOAuthResult(token, OAUTH_SECRET, { now, appid: MP2.appid })).toEqual({
      ok: false,
      reason: 'wrong_app',
    });
    expect(verifyOAuthResult('garbage', OAUTH_SECRET, { now })).toEqual({ ok: false, reason: 'malformed' });
    // an empty or short secret is refused loudly, never used
    expect(() => verifyOAuthResult(token, '', { now })).toThrow(TypeError);
    expect(() => verifyOAuthResult(token, OAUTH_SECRET.slice(0, 31), { now })).toThrow(TypeError);
    // the login cookie is signed under another (derived) key: it never passes for a result
    const { cookie } = await begin();
    expect(verifyOAuthResult(cookie.slice(cookie.indexOf('=') + 1), OAUTH_SECRET, { now })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
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
  it("oauth.authorize_url (public) builds WeChat's URL for an allowed redirect_uri and a WeChat-style state", async () => {
    stack = await startOAuthStack();
    const res = await stack.envelope(
      'oauth.authorize_url',
      { appid: MP.appid, redirect_uri: 'https://app.example.com/wx/cb', scope: 'snsapi_userinfo', state: 'abc123' },
      null,
    );
    expect(res.json.returnCode).toBe(0);
    expect(res.json.returnData).toEqual({
      appid: MP.appid,
      scope: 'snsapi_userinfo',
      url: `${stack.sim.url}/connect/oauth2/authorize?appid=${MP.appid}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fwx%2Fcb&response_type=code&scope=snsapi_userinfo&state=abc123#wechat_redirect`,
    });
    const web = await stack.envelope(
      'oauth.authorize_url',
      { appid: WEB.appid, redirect_uri: 'https://app.example.com/wx/cb' },
      null,
    );
    expect(web.json.returnData.url).toMatch(
      new RegExp(`^${stack.sim.url}/connect/qrconnect\\?appid=${WEB.appid}&.*scope=snsapi_login#wechat_redirect$`),
    );
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

  it("oauth.exchange (signed realm): a code → openid, unionid, scope and the user; errors carry WeChat's errcode", async () => {
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
    const base = await stack.envelope(
      'oauth.exchange',
      { appid: MP.appid, code: stack.sim.oauthCode(MP.appid, 'snsapi_base', 'dave') },
      EXCHANGER,
    );
    expect(base.json.returnData).toEqual({
      appid: MP.appid,
      openid: simOpenid(MP.appid, 'dave'),
      scope: 'snsapi_base',
    });

    const reused = await stack.envelope('oauth.exchange', { appid: MP.appid, code }, EXCHANGER);
    expect(reused.json).toMatchObject({
      returnCode: 40029,
      returnData: '',
      error: { code: 'bad_code', errcode: 40163 },
    });
    expect((await stack.envelope('oauth.exchange', { appid: MP.appid, code: 'x' }, null)).json.returnCode).toBe(7001);
    expect((await stack.envelope('oauth.exchange', { appid: MP.appid, code: 'x' }, REALM)).json.returnCode).toBe(7006);
    expect((await stack.envelope('oauth.exchange', { appid: MP2.appid, code: 'x' }, EXCHANGER)).json.returnCode).toBe(
      7005,
    );
    expect((await stack.envelope('oauth.exchange', { appid: MP.appid }, EXCHANGER)).json.returnCode).toBe(1003);
  });
});

describe('快照页 users (is_snapshotuser: 1)', () => {
  it('carry snapshot: true in the result (their openid is virtual) and log in without a profile', async () => {
    stack = await startOAuthStack();
    stack.sim.setOAuthUser('snapshot1');
    const { result } = landed(await walk(authorizeUrl(MP.appid, { redirect: LANDING, scope: 'snsapi_userinfo' })));
    expect(result).toMatchObject({
      appid: MP.appid,
      openid: simOpenid(MP.appid, 'snapshot1'),
      scope: 'snsapi_userinfo',
      snapshot: true,
    });
    expect(result).not.toHaveProperty('nickname');
    expect(stack.sim.calls('sns_userinfo', MP.appid)).toBe(1); // answered 48001

    stack.sim.setOAuthUser('alice');
    const normal = landed(await walk(authorizeUrl(MP.appid, { redirect: LANDING, scope: 'snsapi_userinfo' }))).result;
    expect(normal).not.toHaveProperty('snapshot');
  });

  it('carry snapshot: true in oauth.exchange', async () => {
    stack = await startOAuthStack();
    const res = await stack.envelope(
      'oauth.exchange',
      { appid: MP.appid, code: stack.sim.oauthCode(MP.appid, 'snsapi_userinfo', 'snapshot2') },
      EXCHANGER,
    );
    expect(res.json.returnData).toEqual({
      appid: MP.appid,
      openid: simOpenid(MP.appid, 'snapshot2'),
      unionid: simUnionid('snapshot2'),
      scope: 'snsapi_userinfo',
      snapshot: true,
    });
  });
});

describe('user token records', () => {
  it("are kept for the refresh_token's 30 days, the tokens sealed under WECRED_MASTER_KEY", async () => {
    stack = await startOAuthStack();
    const app = stack.config.apps.find((a) => a.appid === MP.appid)!;
    const sealedConfig = { ...stack.config, masterKey: Buffer.alloc(32, 7) };
    const sns: SnsClient = {
      exchangeCode: async () => ({
        accessToken: 'USER-ACCESS-TOKEN',
        expiresIn: 7200,
        refreshToken: 'USER-REFRESH-TOKEN',
        openid: 'oErin',
        scope: 'snsapi_base',
        snapshotUser: false,
      }),
      userinfo: async () => {
        throw new Error('not for snsapi_base');
      },
    };
    const flow = createOAuthFlow({ config: sealedConfig, store: stack.store, clock: () => stack.sim.now(), sns });
    const login = await flow.exchange(app, 'code', { upstreamCalls: 0, deadline: performance.now() + 4000 });
    expect(login).toEqual({ appid: MP.appid, openid: 'oErin', scope: 'snsapi_base' });
    const key = `oauth:user:${MP.appid}:oErin`;
    const raw = (await stack.store.getRecord(key, stack.sim.now()))!;
    expect(raw).not.toContain('USER-ACCESS-TOKEN');
    expect(raw).not.toContain('USER-REFRESH-TOKEN');
    const record = JSON.parse(raw);
    expect(record).toMatchObject({ appid: MP.appid, openid: 'oErin', scope: 'snsapi_base', sealed: true });
    const cipher = cipherFor(sealedConfig);
    expect(cipher.open(record.accessToken, `${key}:access_token`)).toBe('USER-ACCESS-TOKEN');
    expect(cipher.open(record.refreshToken, `${key}:refresh_token`)).toBe('USER-REFRESH-TOKEN');
    expect(record.refreshExpiresAt - stack.sim.now()).toBeGreaterThan(30 * 24 * 60 * MIN - MIN);
    expect(await stack.store.getRecord(key, stack.sim.now() + 30 * 24 * 60 * MIN + MIN)).toBeNull();
  });
});
