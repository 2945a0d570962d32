/**
 * OAuth web login (DESIGN §3.3; reference/wechat-protocol.md §2): the flow behind
 * `GET /oauth/:appid/authorize` and `GET /oauth/:appid/callback`, the envelope's
 * `oauth.authorize_url` / `oauth.exchange`, and the users' token records.
 *
 *   browser → /oauth/:appid/authorize?redirect=R&scope=S&state=X
 *           ← 302 open.weixin.qq.com/connect/oauth2/authorize (qrconnect for website apps)
 *               ?appid&redirect_uri=<callbackBase>/oauth/:appid/callback&response_type=code&scope=S&state=<ours>#wechat_redirect
 *             Set-Cookie: wecred_oauth=<signed R, X, id, expiry>
 *           → WeChat → /oauth/:appid/callback?code=C&state=<ours>   (with the cookie)
 *           ← 302 R?wecred_result=<signed result>&state=X
 *
 * - The login lives in the browser that started it, not in the store: the authorize route writes
 *   nothing (anonymous requests cannot fill the store) and sets an HttpOnly, SameSite=Lax cookie
 *   scoped to the app's /oauth/<appid>/ path. WeChat carries only our state (see makeState),
 *   whose id must equal the cookie's: a callback URL replayed in another browser (login CSRF)
 *   has no such cookie and is refused. Tampered, foreign and expired states are refused before
 *   any call to WeChat; the callback then claims the id once (insertIfAbsent) and clears the cookie.
 * - R must match one of config.oauth.redirects over the whole URL, after it was parsed as an
 *   absolute http(s) URL without userinfo, backslashes, whitespace or control characters, and the
 *   pattern must pin the host (see allowedRedirect); the browser is sent to exactly the
 *   normalised URL that matched. Nothing else is ever a target.
 * - The result is a JWT (HS256, lib/crypto/signed.ts) under config.oauth.secret, valid 5 minutes:
 *   {iss:"wecred", appid, openid, unionid?, scope, nickname?, headimgurl?, snapshot?, state?, jti, iat, exp}.
 *   A business server checks it with verifyOAuthResult or any JWT library.
 * - The user's token (access_token, refresh_token) is kept per appid + openid until its
 *   refresh_token dies (30 days), the tokens sealed under WECRED_MASTER_KEY when one is set.
 */
import { performance } from 'node:perf_hooks';
import type { AppConfig, Config } from '../config/types';
import { cipherFor } from '../crypto/at-rest';
import { randomNonce } from '../crypto/random';
import { macHex, macHexMatches, signToken, verifyToken, type TokenFailure } from '../crypto/signed';
import type { Logger } from '../log/logger';
import type { Store } from '../store/port';
import { classifyUpstream, WechatError } from '../wechat/errors';
import { createSnsClient, type SnsClient, type SnsScope, type SnsToken, type SnsUser } from '../wechat/sns';

export type OAuthScope = SnsScope;
export type { SnsUser } from '../wechat/sns';

export const DEFAULT_OPEN_BASE = 'https://open.weixin.qq.com';
/** How long a login may take between our authorize redirect and the callback. */
export const STATE_TTL_SECONDS = 600;
/** Life of the signed result handed to the redirect target. */
export const RESULT_TTL_SECONDS = 300;
/** WeChat's refresh_token lives 30 days and is not extended by refreshes. */
export const REFRESH_TTL_MS = 30 * 86_400_000;
export const RESULT_PARAM = 'wecred_result';
export const RESULT_ISSUER = 'wecred';
/** The caller's own state, kept for it (it never goes to WeChat). */
export const MAX_CALLER_STATE = 512;
export const MAX_REDIRECT = 2048;
/** The cookie binding a login to the browser that started it. */
export const STATE_COOKIE = 'wecred_oauth';
/**
 * WeChat answers a code exchange in tens to hundreds of ms, and a call that times out may still
 * spend the single-use code: with less of the request's budget left, fail before calling.
 */
const MIN_EXCHANGE_MS = 200;
/** Hosts nobody owns, to probe whether a redirect pattern pins the host (see allowedRedirect). */
const PROBE_HOST_SUFFIX = '.wecred-probe.invalid';
const PROBE_LABEL = 'wecredprobe';

/**
 * Our state for WeChat (64 characters of [A-Za-z0-9], WeChat allows 128):
 *
 *   id (22 random) ‖ exp (unix seconds, 10 digits) ‖ tag (32 hex: macHex over "appid.id.exp")
 *
 * The tag binds the app and the expiry, so an expired or foreign state is refused before the
 * cookie or the store is looked at; the id ties it to the cookie.
 */
const STATE_FORMAT = /^([A-Za-z0-9]{22})(\d{10})([0-9a-f]{32})$/;
const STATE_PURPOSE = 'wecred:oauth-state';
/** The cookie is signed with a key derived from oauth.secret, so that it never passes for a result (nor a result for it). */
const COOKIE_KEY_PURPOSE = 'wecred:oauth-cookie-key';
/** Browsers keep cookies of up to 4096 bytes (name and value). */
const MAX_COOKIE_VALUE = 3800;
/** WeChat's own rule for state, for callers building their own authorize URL. */
export const WECHAT_STATE = /^[a-zA-Z0-9]{1,128}$/;
const UNSAFE_URL = /[\\\s\u0000-\u001f\u007f]/;

export type OAuthFailure =
  /** oauth.callbackBase / oauth.secret not configured: the /oauth routes are off. */
  | 'not_configured'
  /** A bad scope, caller state or app kind. */
  | 'bad_request'
  /** The redirect target is not allowed (or not an absolute http(s) URL). */
  | 'redirect_not_allowed'
  /** Our state is missing, malformed, tampered with or for another app, or this browser has no cookie for it. */
  | 'bad_state'
  | 'state_expired'
  /** Well-formed, signed and this browser's, but already claimed by a callback. */
  | 'state_used'
  /** The user pressed 拒绝: WeChat came back without a code. */
  | 'refused'
  | 'code_invalid'
  | 'code_used'
  | 'code_expired'
  | 'upstream_unavailable'
  /** WeChat refused the app's credentials (40013, 40125, IP allow-list, ...). */
  | 'upstream_config'
  | 'upstream_error'
  | 'store_unavailable';

export class OAuthError extends Error {
  constructor(
    readonly reason: OAuthFailure,
    message: string,
    /** WeChat's errcode, when WeChat said no. */
    readonly errcode?: number,
  ) {
    super(message);
    this.name = 'OAuthError';
  }
}

/** The per-request bookkeeping this module touches (CallContext, structurally). */
export interface OAuthCall {
  upstreamCalls: number;
  /** performance.now() by which the request must be answered. */
  deadline: number;
}

export interface OAuthDeps {
  config: Config;
  store: Store;
  /** Epoch ms. */
  clock: () => number;
  /** Defaults to a client on config.upstream.mp. */
  sns?: SnsClient;
  /** For the warning about a redirect pattern that does not pin the host. */
  log?: Logger;
}

/** What a code turned into. */
export interface Login {
  appid: string;
  openid: string;
  unionid?: string;
  scope: string;
  /** A 快照页 user (is_snapshotuser: 1): the openid and unionid are virtual, not the person's. */
  snapshot?: true;
  /** For snsapi_userinfo / snsapi_login (absent for a 快照页 user whose userinfo answered 48001). */
  user?: SnsUser;
}

/** The claims of the signed result handed to the redirect target. */
export interface OAuthResult {
  iss: typeof RESULT_ISSUER;
  appid: string;
  openid: string;
  unionid?: string;
  scope: string;
  nickname?: string;
  headimgurl?: string;
  /** A 快照页 user: the openid is virtual, do not bind an account to it. */
  snapshot?: true;
  /** The caller's state from /oauth/:appid/authorize, when it sent one. */
  state?: string;
  /** Unique per result: a business server may remember it to accept each result once. */
  jti: string;
  iat: number;
  exp: number;
}

export type ResultCheck = { ok: true; result: OAuthResult } | { ok: false; reason: TokenFailure | 'not_a_result' | 'wrong_app' };

/** The login as the cookie carries it, signed (the browser sent R and X itself, so nothing is hidden). */
interface CookieClaims {
  id: string;
  redirect: string;
  state?: string;
  exp: number;
}

// ---------------------------------------------------------------------------------------------
// Pure parts.

// Compiled once per config array, not on every authorize request (anonymous traffic would
// otherwise pay for it each time); a WeakMap so that a reloaded config compiles its own.
const compiled = new WeakMap<readonly string[], RegExp[]>();

/** Each pattern must match the whole string, case-insensitively (the rule of CORS, DESIGN §3.3); its own ^ and $ may stay. */
function redirectMatchers(patterns: readonly string[]): RegExp[] {
  let res = compiled.get(patterns);
  if (!res) {
    res = patterns.map((p) => new RegExp(`^(?:${p})$`, 'i'));
    compiled.set(patterns, res);
  }
  return res;
}

/**
 * The normalised URL to send the browser to, or null when `raw` is not an allowed target:
 * an absolute http(s) URL without userinfo, backslashes, whitespace or control characters whose
 * normalised form (lower-case host, default port dropped) matches one of `patterns` entirely.
 *
 * A pattern that matches does not pin the host if it also matches the same URL on a host nobody
 * owns: `<hostname>.wecred-probe.invalid` (`https://app\.example\.com.*` admits
 * app.example.com.evil.net), or the last two labels glued to a foreign one, `wecredprobeexample.com`
 * (`https://.*example\.com/.*` admits evilexample.com; deeper levels could be the owner's own
 * subdomains). Such a pattern allows nothing, and `onLoose` hears its index.
 */
export function allowedRedirect(patterns: readonly string[], raw: string, onLoose?: (index: number) => void): string | null {
  if (typeof raw !== 'string' || raw === '' || raw.length > MAX_REDIRECT || UNSAFE_URL.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null; // relative, protocol-relative (//evil.net) or garbage
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username !== '' || url.password !== '' || url.hostname === '') return null;
  const href = url.href;
  const probes = probeUrls(url);
  let allowed = false;
  for (const [i, re] of redirectMatchers(patterns).entries()) {
    if (!re.test(href)) continue;
    if (probes.some((probe) => re.test(probe))) {
      onLoose?.(i);
      return null; // fail closed, whatever the other patterns say
    }
    allowed = true;
  }
  return allowed ? href : null;
}

/** `url` on the probe hosts; built as text, as the URL setter would silently refuse them for an IPv6 address. */
function probeUrls(url: URL): string[] {
  const rest = `${url.port === '' ? '' : `:${url.port}`}${url.pathname}${url.search}${url.hash}`;
  const labels = url.hostname.split('.');
  const hosts = [`${url.hostname}${PROBE_HOST_SUFFIX}`];
  if (labels.length >= 2) hosts.push(PROBE_LABEL + labels.slice(-2).join('.'));
  return hosts.map((host) => `${url.protocol}//${host}${rest}`);
}

/** allowedRedirect's `onLoose` as one warning line naming the pattern (never the URL). */
export function warnLoosePattern(log: Logger | undefined): (index: number) => void {
  return (i) => log?.log('warn', 'oauth_redirect_pattern_loose', { pattern: `oauth.redirects[${i}]`, note: 'does not pin the host, so it allows nothing' });
}

/** The scope to ask WeChat for: website apps snsapi_login only, Official Accounts snsapi_base (default) or snsapi_userinfo. */
export function scopeFor(app: AppConfig, requested: string | undefined): OAuthScope {
  if (app.type === 'web') {
    if (requested === undefined || requested === 'snsapi_login') return 'snsapi_login';
    throw new OAuthError('bad_request', `${app.appid} is a website app: its scope is snsapi_login`);
  }
  if (app.type !== 'mp') throw new OAuthError('bad_request', `${app.appid} is a Mini Program: it has no web authorization (use session.login)`);
  if (requested === undefined) return 'snsapi_base';
  if (requested === 'snsapi_base' || requested === 'snsapi_userinfo') return requested;
  throw new OAuthError('bad_request', `scope must be snsapi_base or snsapi_userinfo for an Official Account`);
}

/**
 * WeChat's authorize page for `app`: connect/oauth2/authorize for Official Accounts,
 * connect/qrconnect for website apps, always ending in #wechat_redirect.
 */
export function authorizeUrl(config: Config, app: AppConfig, redirectUri: string, scope: OAuthScope, state?: string): string {
  const base = (config.upstream.open ?? DEFAULT_OPEN_BASE).replace(/\/+$/, '');
  const path = app.type === 'web' ? '/connect/qrconnect' : '/connect/oauth2/authorize';
  const params: [string, string][] = [
    ['appid', app.appid],
    ['redirect_uri', redirectUri],
    ['response_type', 'code'],
    ['scope', scope],
  ];
  if (state !== undefined) params.push(['state', state]);
  return `${base}${path}?${params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}#wechat_redirect`;
}

export function callbackUrl(callbackBase: string, app: AppConfig): string {
  return `${callbackBase.replace(/\/+$/, '')}/oauth/${app.appid}/callback`;
}

/** A fresh state for `appid` (layout at STATE_FORMAT). */
export function makeState(secret: string, appid: string, expSeconds: number): { id: string; state: string } {
  const id = randomNonce(22);
  const exp = String(expSeconds).padStart(10, '0');
  return { id, state: `${id}${exp}${macHex(secret, STATE_PURPOSE, `${appid}.${id}.${exp}`)}` };
}

/** The id and expiry of a state we made for `appid`, or an OAuthError (bad_state, state_expired). */
export function openState(secret: string, appid: string, state: string | undefined, now: number): { id: string; exp: number } {
  const m = STATE_FORMAT.exec(state ?? '');
  if (!m) throw new OAuthError('bad_state', state ? 'the state is not one of ours' : 'the state is missing');
  const [, id, exp, tag] = m as unknown as [string, string, string, string];
  if (!macHexMatches(secret, STATE_PURPOSE, `${appid}.${id}.${exp}`, tag)) throw new OAuthError('bad_state', 'the state does not verify (altered, or made for another app)');
  if (Number(exp) * 1000 <= now) throw new OAuthError('state_expired', `the login took longer than ${STATE_TTL_SECONDS / 60} minutes: start again`);
  return { id, exp: Number(exp) };
}

/** The Set-Cookie header for the login cookie of `app` (`value` '' clears it). */
export function stateCookie(callbackBase: string, app: AppConfig, value: string): string {
  // The callback's directory, so that the cookie reaches the callback under any stage path.
  const path = new URL(callbackUrl(callbackBase, app)).pathname.replace(/callback$/, '').replaceAll(';', '%3B');
  const maxAge = value === '' ? 0 : STATE_TTL_SECONDS + 60; // outlives the state a little: expiry is reported as such
  const secure = callbackBase.startsWith('https:') ? '; Secure' : '';
  return `${STATE_COOKIE}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
}

/** The values of every cookie named `name` in a Cookie header. */
function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const part of (header ?? '').split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

/** `target` with `params` set in its query (its fragment stays last). */
export function withParams(target: string, params: Record<string, string>): string {
  const url = new URL(target);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}

const hasUserScope = (scope: string) => scope.split(',').some((s) => s.trim() === 'snsapi_userinfo' || s.trim() === 'snsapi_login');

/** The signed result for a login (a JWT, HS256). */
export function signResult(secret: string, login: Login, now: number, state?: string): string {
  const iat = Math.floor(now / 1000);
  const claims: OAuthResult = { iss: RESULT_ISSUER, appid: login.appid, openid: login.openid, scope: login.scope, jti: randomNonce(16), iat, exp: iat + RESULT_TTL_SECONDS };
  const unionid = login.unionid ?? login.user?.unionid;
  if (unionid) claims.unionid = unionid;
  if (login.user) {
    claims.nickname = login.user.nickname;
    claims.headimgurl = login.user.headimgurl;
  }
  if (login.snapshot) claims.snapshot = true;
  if (state !== undefined) claims.state = state;
  return signToken(secret, claims as unknown as Record<string, unknown>);
}

/**
 * Check a `wecred_result` with the shared oauth.secret: signature (HS256), expiry (5 minutes),
 * issuer and claim types; with `appid`, also that it is for that app. Never throws for a bad
 * token; throws TypeError for a secret under 32 characters.
 */
export function verifyOAuthResult(token: string, secret: string, opts: { now?: number; appid?: string } = {}): ResultCheck {
  const checked = verifyToken(secret, token, opts.now ?? Date.now());
  if (!checked.ok) return checked;
  const c = checked.claims;
  const optionalString = (v: unknown) => v === undefined || typeof v === 'string';
  const ok =
    c.iss === RESULT_ISSUER &&
    typeof c.appid === 'string' &&
    typeof c.openid === 'string' &&
    typeof c.scope === 'string' &&
    typeof c.jti === 'string' &&
    typeof c.iat === 'number' &&
    (c.snapshot === undefined || c.snapshot === true) &&
    [c.unionid, c.nickname, c.headimgurl, c.state].every(optionalString);
  if (!ok) return { ok: false, reason: 'not_a_result' };
  if (opts.appid !== undefined && c.appid !== opts.appid) return { ok: false, reason: 'wrong_app' };
  return { ok: true, result: c as unknown as OAuthResult };
}

// ---------------------------------------------------------------------------------------------
// The flow.

export interface OAuthFlow {
  /** The authorize route: WeChat's page and the cookie holding the login. Writes nothing to the store. */
  begin(app: AppConfig, req: { redirect: string | undefined; scope: string | undefined; state: string | undefined }): Promise<{ location: string; setCookie: string }>;
  /** The callback route (`cookie`: the request's Cookie header): the Location of the allowed target with the signed result. */
  finish(app: AppConfig, req: { code: string | undefined; state: string | undefined; cookie: string | undefined }, call: OAuthCall): Promise<string>;
  /** The Set-Cookie that clears `app`'s login cookie, or undefined when web login is off. */
  clearCookie(app: AppConfig): string | undefined;
  /** A code for the user (and their profile for userinfo / login scopes); the user's token is kept. */
  exchange(app: AppConfig, code: string, call: OAuthCall): Promise<Login>;
}

export function createOAuthFlow(deps: OAuthDeps): OAuthFlow {
  const { config, store, clock, log } = deps;
  const sns = deps.sns ?? createSnsClient(config.upstream.mp);
  const cipher = cipherFor(config);

  const configured = (): { secret: string; callbackBase: string; cookieKey: string } => {
    const { secret, callbackBase } = config.oauth;
    if (!secret || !callbackBase) throw new OAuthError('not_configured', 'OAuth web login is not configured on this deployment (oauth.callbackBase and oauth.secret)');
    return { secret, callbackBase, cookieKey: macHex(secret, COOKIE_KEY_PURPOSE, '', 64) };
  };

  const stored = async <T>(what: Promise<T>): Promise<T> => {
    try {
      return await what;
    } catch {
      throw new OAuthError('store_unavailable', 'the credential store is unavailable');
    }
  };

  const allowed = (raw: string) => allowedRedirect(config.oauth.redirects, raw, warnLoosePattern(log));

  const timeLeft = (call: OAuthCall) => call.deadline - performance.now();
  const timeout = (call: OAuthCall) => Math.max(1, Math.min(config.upstream.timeoutMs, Math.floor(timeLeft(call))));

  /** The login this browser's cookie holds for state `id`, or bad_state. */
  function cookieLogin(cookieKey: string, header: string | undefined, id: string, now: number): CookieClaims {
    const values = cookieValues(header, STATE_COOKIE);
    for (const value of values) {
      const checked = verifyToken(cookieKey, value, now);
      if (checked.ok && checked.claims.id === id && typeof checked.claims.redirect === 'string') return checked.claims as unknown as CookieClaims;
    }
    throw new OAuthError(
      'bad_state',
      values.length === 0
        ? 'this browser did not start this login (no login cookie): the login must start in the browser that finishes it, start it again here'
        : 'this browser\'s login cookie is for another login (started elsewhere, or a newer one began since): start the login again in this browser',
    );
  }

  async function saveUserToken(appid: string, token: SnsToken, unionid: string | undefined): Promise<void> {
    const now = clock();
    const key = `oauth:user:${appid}:${token.openid}`;
    const sealed = config.masterKey !== undefined;
    const hide = (value: string, field: string) => (sealed ? cipher.seal(value, `${key}:${field}`) : value);
    const expiresAt = now + REFRESH_TTL_MS;
    const record = {
      v: 1,
      appid,
      openid: token.openid,
      ...(unionid ? { unionid } : {}),
      scope: token.scope,
      sealed,
      accessToken: hide(token.accessToken, 'access_token'),
      accessExpiresAt: now + token.expiresIn * 1000,
      refreshToken: hide(token.refreshToken, 'refresh_token'),
      refreshExpiresAt: expiresAt,
    };
    await stored(store.putRecord(key, JSON.stringify(record), expiresAt));
  }

  async function exchange(app: AppConfig, code: string, call: OAuthCall): Promise<Login> {
    if (timeLeft(call) < MIN_EXCHANGE_MS) {
      throw new OAuthError('upstream_unavailable', 'too little time was left in this request to exchange the code with WeChat: start the login again');
    }
    let token: SnsToken;
    call.upstreamCalls++;
    try {
      token = await sns.exchangeCode(app.appid, app.secret, code, timeout(call));
    } catch (err) {
      throw upstreamFailure(err, 'sns/oauth2/access_token');
    }
    let user: SnsUser | undefined;
    if (hasUserScope(token.scope)) {
      call.upstreamCalls++;
      try {
        user = await sns.userinfo(token.accessToken, token.openid, timeout(call));
      } catch (err) {
        // A 快照页 user's userinfo may answer 48001: the login stands, without a profile.
        if (!(err instanceof WechatError && err.errcode === 48001)) throw upstreamFailure(err, 'sns/userinfo');
      }
    }
    const unionid = token.unionid ?? user?.unionid;
    await saveUserToken(app.appid, token, unionid);
    const login: Login = { appid: app.appid, openid: token.openid, scope: token.scope };
    if (unionid) login.unionid = unionid;
    if (token.snapshotUser) login.snapshot = true;
    if (user) login.user = user;
    return login;
  }

  return {
    async begin(app, req) {
      const { secret, callbackBase, cookieKey } = configured();
      const redirect = req.redirect === undefined ? null : allowed(req.redirect);
      if (redirect === null) {
        throw new OAuthError('redirect_not_allowed', req.redirect === undefined ? 'redirect is required' : 'redirect is not an allowed target (config oauth.redirects)');
      }
      const scope = scopeFor(app, req.scope);
      if (req.state !== undefined && req.state.length > MAX_CALLER_STATE) throw new OAuthError('bad_request', `state is longer than ${MAX_CALLER_STATE} characters`);
      const exp = Math.floor(clock() / 1000) + STATE_TTL_SECONDS;
      const { id, state } = makeState(secret, app.appid, exp);
      const claims: CookieClaims = { id, redirect, ...(req.state === undefined ? {} : { state: req.state }), exp };
      const value = signToken(cookieKey, claims as unknown as Record<string, unknown>);
      if (value.length > MAX_COOKIE_VALUE) throw new OAuthError('bad_request', 'redirect and state are too long together (the login cookie holds about 4 KB)');
      return { location: authorizeUrl(config, app, callbackUrl(callbackBase, app), scope, state), setCookie: stateCookie(callbackBase, app, value) };
    },

    async finish(app, req, call) {
      const { secret, cookieKey } = configured();
      const now = clock();
      const { id, exp } = openState(secret, app.appid, req.state, now);
      const kept = cookieLogin(cookieKey, req.cookie, id, now);
      // Checked again: the config may have changed since the authorize step.
      const redirect = allowed(kept.redirect);
      if (redirect === null) throw new OAuthError('redirect_not_allowed', 'redirect is no longer an allowed target (config oauth.redirects)');
      if (req.code === undefined || req.code === '') throw new OAuthError('refused', 'the user did not authorize the login (拒绝)');
      // Of two callbacks racing with one state, one goes on.
      if (!(await stored(store.insertIfAbsent(`oauth:state-used:${id}`, exp * 1000, now)))) {
        throw new OAuthError('state_used', 'this login was already completed: start again');
      }
      const login = await exchange(app, req.code, call);
      const result = signResult(secret, login, clock(), kept.state);
      return withParams(redirect, { [RESULT_PARAM]: result, ...(kept.state === undefined ? {} : { state: kept.state }) });
    },

    clearCookie(app) {
      const { callbackBase, secret } = config.oauth;
      return secret && callbackBase ? stateCookie(callbackBase, app, '') : undefined;
    },

    exchange,
  };
}

/** An upstream failure as an OAuthError: the code errors by name, the rest by kind. */
function upstreamFailure(err: unknown, endpoint: string): OAuthError {
  if (err instanceof WechatError) {
    switch (err.errcode) {
      case 40029:
        return new OAuthError('code_invalid', 'WeChat does not know this code (40029): start the login again', 40029);
      case 40163:
        return new OAuthError('code_used', 'this code was already used (40163): start the login again', 40163);
      case 42003:
        return new OAuthError('code_expired', 'this code expired (42003, codes live 5 minutes): start the login again', 42003);
    }
  }
  switch (classifyUpstream(err)) {
    case 'retry':
      // Not "try again": the code (and the login's state) are single-use and may be spent already.
      return new OAuthError('upstream_unavailable', `${endpoint}: WeChat is unavailable; start the login again`, err instanceof WechatError ? err.errcode : undefined);
    case 'config':
      return new OAuthError('upstream_config', `${endpoint}: WeChat refused this app's configuration (errcode ${(err as WechatError).errcode})`, (err as WechatError).errcode);
    default:
      if (err instanceof WechatError) return new OAuthError('upstream_error', `${endpoint} answered errcode ${err.errcode}`, err.errcode);
      throw err;
  }
}
