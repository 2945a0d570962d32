/**
 * OAuth web login (DESIGN §3.3; reference/wechat-protocol.md §2): the flow behind
 * `GET /oauth/:appid/authorize` and `GET /oauth/:appid/callback`, the envelope's
 * `oauth.authorize_url` / `oauth.exchange`, and the users' token records.
 *
 *   browser → /oauth/:appid/authorize?redirect=R&scope=S&state=X
 *           → 302 open.weixin.qq.com/connect/oauth2/authorize (qrconnect for website apps)
 *             ?appid&redirect_uri=<callbackBase>/oauth/:appid/callback&response_type=code&scope=S&state=<ours>#wechat_redirect
 *           → WeChat → /oauth/:appid/callback?code=C&state=<ours>
 *           → 302 R?wecred_result=<signed result>&state=X
 *
 * - WeChat's state holds at most 128 bytes of a-zA-Z0-9, so R, S and X stay here, in a store
 *   record (10 minutes), and WeChat carries our state: a random id, its expiry and a MAC over
 *   appid, id and expiry (64 characters). A state is good once: the callback claims it
 *   (insertIfAbsent), reads and deletes the record. Tampered, foreign, expired, unknown and
 *   reused states are refused before any call to WeChat.
 * - R must match one of config.oauth.redirects over the whole URL, after it was parsed as an
 *   absolute http(s) URL without userinfo, backslashes, whitespace or control characters; the
 *   browser is sent to exactly the normalised URL that matched. Nothing else is ever a target.
 * - The result is a JWT (HS256, lib/crypto/signed.ts) under config.oauth.secret, valid 5 minutes:
 *   {iss:"wecred", appid, openid, unionid?, scope, nickname?, headimgurl?, state?, jti, iat, exp}.
 *   A business server checks it with verifyOAuthResult or any JWT library.
 * - The user's token (access_token, refresh_token) is kept per appid + openid until its
 *   refresh_token dies (30 days), the tokens sealed under WECRED_MASTER_KEY when one is set.
 */
import { performance } from 'node:perf_hooks';
import type { AppConfig, Config } from '../config/types';
import { cipherFor } from '../crypto/at-rest';
import { randomNonce } from '../crypto/random';
import { macHex, macHexMatches, signToken, verifyToken, type TokenFailure } from '../crypto/signed';
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
/** The query parameter carrying the signed result to the redirect target. */
export const RESULT_PARAM = 'wecred_result';
export const RESULT_ISSUER = 'wecred';
/** The caller's own state, kept for it (it never goes to WeChat). */
export const MAX_CALLER_STATE = 512;
export const MAX_REDIRECT = 2048;

const STATE_PURPOSE = 'wecred:oauth-state';
const STATE_FORMAT = /^([A-Za-z0-9]{22})(\d{10})([0-9a-f]{32})$/;
/** WeChat's own rule for state, for callers building their own authorize URL. */
export const WECHAT_STATE = /^[a-zA-Z0-9]{1,128}$/;
const UNSAFE_URL = /[\\\s\u0000-\u001f\u007f]/;
/** Refresh a user token this long before WeChat says it ends. */
const USER_TOKEN_MARGIN_MS = 60_000;

export type OAuthFailure =
  /** oauth.callbackBase / oauth.secret not configured: the /oauth routes are off. */
  | 'not_configured'
  /** A bad scope, caller state or app kind. */
  | 'bad_request'
  /** The redirect target is not allowed (or not an absolute http(s) URL). */
  | 'redirect_not_allowed'
  /** Our state is missing, malformed, tampered with or for another app. */
  | 'bad_state'
  | 'state_expired'
  /** Well-formed and signed, but unknown here: already used (or the record is gone). */
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
}

/** What a code turned into. */
export interface Login {
  appid: string;
  openid: string;
  unionid?: string;
  scope: string;
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
  /** The caller's state from /oauth/:appid/authorize, when it sent one. */
  state?: string;
  /** Unique per result: a business server may remember it to accept each result once. */
  jti: string;
  iat: number;
  exp: number;
}

export type ResultCheck = { ok: true; result: OAuthResult } | { ok: false; reason: TokenFailure | 'not_a_result' | 'wrong_app' };

/** A user's token as kept in the store (tokens opened). */
export interface UserToken {
  appid: string;
  openid: string;
  unionid?: string;
  scope: string;
  accessToken: string;
  /** Epoch ms. */
  accessExpiresAt: number;
  refreshToken: string;
  /** Epoch ms: after it the user must authorize again. */
  refreshExpiresAt: number;
}

interface StateRecord {
  appid: string;
  redirect: string;
  scope: OAuthScope;
  state?: string;
}

// ---------------------------------------------------------------------------------------------
// Pure parts.

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
 */
export function allowedRedirect(patterns: readonly string[], raw: string): string | null {
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
  return redirectMatchers(patterns).some((re) => re.test(href)) ? href : null;
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

/** Our callback for `app`. */
export function callbackUrl(callbackBase: string, app: AppConfig): string {
  return `${callbackBase.replace(/\/+$/, '')}/oauth/${app.appid}/callback`;
}

/** Our state for WeChat: 22 random characters, the expiry (unix seconds, 10 digits) and a MAC binding both to the app. */
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
  if (state !== undefined) claims.state = state;
  return signToken(secret, claims as unknown as Record<string, unknown>);
}

/**
 * Check a `wecred_result` with the shared oauth.secret: signature (HS256), expiry (5 minutes),
 * issuer and claim types; with `appid`, also that it is for that app. Never throws.
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
    [c.unionid, c.nickname, c.headimgurl, c.state].every(optionalString);
  if (!ok) return { ok: false, reason: 'not_a_result' };
  if (opts.appid !== undefined && c.appid !== opts.appid) return { ok: false, reason: 'wrong_app' };
  return { ok: true, result: c as unknown as OAuthResult };
}

// ---------------------------------------------------------------------------------------------
// The flow.

export interface OAuthFlow {
  /** The authorize route: the Location of WeChat's page, after the checks; the caller's data kept for the callback. */
  begin(app: AppConfig, req: { redirect: string | undefined; scope: string | undefined; state: string | undefined }): Promise<string>;
  /** The callback route: the Location of the allowed target with the signed result. */
  finish(app: AppConfig, req: { code: string | undefined; state: string | undefined }, call: OAuthCall): Promise<string>;
  /** A code for the user (and their profile for userinfo / login scopes); the user's token is kept. */
  exchange(app: AppConfig, code: string, call: OAuthCall): Promise<Login>;
  /** The kept token of a user, or null (never authorized, or past the refresh_token's 30 days). */
  readUserToken(appid: string, openid: string): Promise<UserToken | null>;
  /** A usable user access_token: the kept one, or refreshed through sns/oauth2/refresh_token. Null when there is none to refresh. */
  userAccessToken(app: AppConfig, openid: string, call: OAuthCall): Promise<UserToken | null>;
}

export function createOAuthFlow(deps: OAuthDeps): OAuthFlow {
  const { config, store, clock } = deps;
  const sns = deps.sns ?? createSnsClient(config.upstream.mp);
  const cipher = cipherFor(config);

  const configured = (): { secret: string; callbackBase: string } => {
    const { secret, callbackBase } = config.oauth;
    if (!secret || !callbackBase) throw new OAuthError('not_configured', 'OAuth web login is not configured on this deployment (oauth.callbackBase and oauth.secret)');
    return { secret, callbackBase };
  };

  const stored = async <T>(what: Promise<T>): Promise<T> => {
    try {
      return await what;
    } catch {
      throw new OAuthError('store_unavailable', 'the credential store is unavailable');
    }
  };

  const timeout = (call: OAuthCall) => Math.max(1, Math.min(config.upstream.timeoutMs, Math.floor(call.deadline - performance.now())));

  const userKey = (appid: string, openid: string) => `oauth:user:${appid}:${openid}`;

  async function saveUserToken(appid: string, token: SnsToken, unionid: string | undefined, refreshExpiresAt?: number): Promise<void> {
    const now = clock();
    const key = userKey(appid, token.openid);
    const sealed = config.masterKey !== undefined;
    const hide = (value: string, field: string) => (sealed ? cipher.seal(value, `${key}:${field}`) : value);
    const expiresAt = refreshExpiresAt ?? now + REFRESH_TTL_MS;
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

  async function readUserToken(appid: string, openid: string): Promise<UserToken | null> {
    const key = userKey(appid, openid);
    const raw = await stored(store.getRecord(key, clock()));
    if (raw === null) return null;
    const r = JSON.parse(raw) as UserToken & { sealed: boolean };
    const show = (value: string, field: string) => (r.sealed ? cipher.open(value, `${key}:${field}`) : value);
    const token: UserToken = {
      appid: r.appid,
      openid: r.openid,
      scope: r.scope,
      accessToken: show(r.accessToken, 'access_token'),
      accessExpiresAt: r.accessExpiresAt,
      refreshToken: show(r.refreshToken, 'refresh_token'),
      refreshExpiresAt: r.refreshExpiresAt,
    };
    if (r.unionid) token.unionid = r.unionid;
    return token;
  }

  async function exchange(app: AppConfig, code: string, call: OAuthCall): Promise<Login> {
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
    if (user) login.user = user;
    return login;
  }

  return {
    async begin(app, req) {
      const { secret, callbackBase } = configured();
      const redirect = req.redirect === undefined ? null : allowedRedirect(config.oauth.redirects, req.redirect);
      if (redirect === null) {
        throw new OAuthError('redirect_not_allowed', req.redirect === undefined ? 'redirect is required' : 'redirect is not an allowed target (config oauth.redirects)');
      }
      const scope = scopeFor(app, req.scope);
      if (req.state !== undefined && req.state.length > MAX_CALLER_STATE) throw new OAuthError('bad_request', `state is longer than ${MAX_CALLER_STATE} characters`);
      const exp = Math.floor(clock() / 1000) + STATE_TTL_SECONDS;
      const { id, state } = makeState(secret, app.appid, exp);
      const record: StateRecord = { appid: app.appid, redirect, scope, ...(req.state === undefined ? {} : { state: req.state }) };
      await stored(store.putRecord(`oauth:state:${id}`, JSON.stringify(record), exp * 1000));
      return authorizeUrl(config, app, callbackUrl(callbackBase, app), scope, state);
    },

    async finish(app, req, call) {
      const { secret } = configured();
      const now = clock();
      const { id, exp } = openState(secret, app.appid, req.state, now);
      // Claim the state first: of two callbacks racing with one state, one goes on.
      const first = await stored(store.insertIfAbsent(`oauth:state-used:${id}`, exp * 1000, now));
      const key = `oauth:state:${id}`;
      const raw = first ? await stored(store.getRecord(key, now)) : null;
      if (raw === null) throw new OAuthError('state_used', 'this login was already completed (or is unknown here): start again');
      await stored(store.deleteRecord(key));
      const record = JSON.parse(raw) as StateRecord;
      if (record.appid !== app.appid) throw new OAuthError('bad_state', 'the state was made for another app');
      if (req.code === undefined || req.code === '') throw new OAuthError('refused', 'the user did not authorize the login (拒绝)');
      const login = await exchange(app, req.code, call);
      const result = signResult(secret, login, clock(), record.state);
      return withParams(record.redirect, { [RESULT_PARAM]: result, ...(record.state === undefined ? {} : { state: record.state }) });
    },

    exchange,
    readUserToken,

    async userAccessToken(app, openid, call) {
      const kept = await readUserToken(app.appid, openid);
      const now = clock();
      if (!kept) return null;
      if (kept.accessExpiresAt - USER_TOKEN_MARGIN_MS > now) return kept;
      let fresh: SnsToken;
      call.upstreamCalls++;
      try {
        fresh = await sns.refresh(app.appid, kept.refreshToken, timeout(call));
      } catch (err) {
        if (err instanceof WechatError && (err.errcode === 40030 || err.errcode === 42002 || err.errcode === 42007)) {
          await stored(store.deleteRecord(userKey(app.appid, openid)));
          return null; // the user must authorize again
        }
        throw upstreamFailure(err, 'sns/oauth2/refresh_token');
      }
      await saveUserToken(app.appid, fresh, kept.unionid, kept.refreshExpiresAt);
      return readUserToken(app.appid, openid);
    },
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
      return new OAuthError('upstream_unavailable', `${endpoint}: WeChat is unavailable, try again`, err instanceof WechatError ? err.errcode : undefined);
    case 'config':
      return new OAuthError('upstream_config', `${endpoint}: WeChat refused this app's configuration (errcode ${(err as WechatError).errcode})`, (err as WechatError).errcode);
    default:
      if (err instanceof WechatError) return new OAuthError('upstream_error', `${endpoint} answered errcode ${err.errcode}`, err.errcode);
      throw err;
  }
}
