/**
 * OAuth web login: the flow behind GET /oauth/:appid/authorize and /callback and the envelope's
 * oauth.authorize_url / oauth.exchange. The login lives in a signed cookie of the browser that
 * started it, never in the store. docs/design.md §11.2; docs/protocol.md §2.
 */
import type { CallContext } from '../credentials';
import { performance } from 'node:perf_hooks';
import type { AppConfig, Config } from '../config/types';
import { cipherFor } from '../crypto/at-rest';
import { randomNonce } from '../crypto/random';
import { macHex, signToken, verifyToken, type TokenFailure } from '../crypto/signed';
import { silentLogger, type Logger } from '../log/logger';
import { guardStore } from '../store/guard';
import type { Store } from '../store/port';
import { WechatError } from '../wechat/errors';
import { createSnsClient, type SnsClient, type SnsToken, type SnsUser } from '../wechat/sns';
import { MIN_EXCHANGE_MS } from './login-errors';
import { OAuthError, upstreamFailure } from './oauth-errors';
import { allowedRedirect, warnLoosePattern } from './oauth-redirects';
import {
  COOKIE_KEY_PURPOSE,
  cookieLogin,
  makeState,
  MAX_COOKIE_VALUE,
  openState,
  STATE_TTL_SECONDS,
  stateCookie,
  type CookieClaims,
} from './oauth-state';
import { authorizeUrl, callbackUrl, scopeFor, withParams } from './oauth-urls';

export type { SnsUser } from '../wechat/sns';

/** Life of the signed result handed to the redirect target. */
export const RESULT_TTL_SECONDS = 300;
/** WeChat's refresh_token lives 30 days and is not extended by refreshes. */
export const REFRESH_TTL_MS = 30 * 86_400_000;
const RESULT_PARAM = 'wecred_result';
const RESULT_ISSUER = 'wecred';
/** The caller's own state, kept for it (it never goes to WeChat). */
const MAX_CALLER_STATE = 512;

/** The per-request bookkeeping this module touches. */
export type OAuthCall = Pick<CallContext, 'upstreamCalls' | 'deadline'>;

export interface OAuthDeps {
  config: Config;
  store: Store;
  /** Epoch ms. */
  clock: () => number;
  /** Defaults to a client on config.upstream.mp. */
  sns?: SnsClient;
  /** For the warning about a redirect pattern that does not pin the host, and store failures. */
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

export type ResultCheck =
  | { ok: true; result: OAuthResult }
  | { ok: false; reason: TokenFailure | 'not_a_result' | 'wrong_app' };

// ---------------------------------------------------------------------------------------------
// Pure parts.

const hasUserScope = (scope: string) =>
  scope.split(',').some((s) => s.trim() === 'snsapi_userinfo' || s.trim() === 'snsapi_login');

/** The signed result for a login (a JWT, HS256). */
function signResult(secret: string, login: Login, now: number, state?: string): string {
  const iat = Math.floor(now / 1000);
  const claims: OAuthResult = {
    iss: RESULT_ISSUER,
    appid: login.appid,
    openid: login.openid,
    scope: login.scope,
    jti: randomNonce(16),
    iat,
    exp: iat + RESULT_TTL_SECONDS,
  };
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
export function verifyOAuthResult(
  token: string,
  secret: string,
  opts: { now?: number; appid?: string } = {},
): ResultCheck {
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
  begin(
    app: AppConfig,
    req: { redirect: string | undefined; scope: string | undefined; state: string | undefined },
  ): Promise<{ location: string; setCookie: string }>;
  /** The callback route (`cookie`: the request's Cookie header): the Location of the allowed target with the signed result. */
  finish(
    app: AppConfig,
    req: { code: string | undefined; state: string | undefined; cookie: string | undefined },
    call: OAuthCall,
  ): Promise<string>;
  /** The Set-Cookie that clears `app`'s login cookie, or undefined when web login is off. */
  clearCookie(app: AppConfig): string | undefined;
  /** A code for the user (and their profile for userinfo / login scopes); the user's token is kept. */
  exchange(app: AppConfig, code: string, call: OAuthCall): Promise<Login>;
  /** `raw` normalised when config.oauth.redirects allows it as a target, else null. */
  allowed(raw: string): string | null;
}

export function createOAuthFlow(deps: OAuthDeps): OAuthFlow {
  const { config, store, clock, log } = deps;
  const sns = deps.sns ?? createSnsClient(config.upstream.mp);
  const cipher = cipherFor(config);

  // Derived once: the configuration does not change while the flow lives.
  const { secret, callbackBase } = config.oauth;
  const settings =
    secret && callbackBase ? { secret, callbackBase, cookieKey: macHex(secret, COOKIE_KEY_PURPOSE, '', 64) } : null;
  const configured = (): NonNullable<typeof settings> => {
    if (!settings)
      throw new OAuthError(
        'not_configured',
        'OAuth web login is not configured on this deployment (oauth.callbackBase and oauth.secret)',
      );
    return settings;
  };

  const stored = <T>(op: () => Promise<T>) =>
    guardStore(
      log ?? silentLogger,
      op,
      () => new OAuthError('store_unavailable', 'the credential store is unavailable'),
    );

  const onLoose = warnLoosePattern(log);
  const allowed = (raw: string) => allowedRedirect(config.oauth.redirects, raw, onLoose);

  const timeLeft = (call: OAuthCall) => call.deadline - performance.now();
  const timeout = (call: OAuthCall) => Math.max(1, Math.min(config.upstream.timeoutMs, Math.floor(timeLeft(call))));

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
    await stored(() => store.putRecord(key, JSON.stringify(record), expiresAt, now));
  }

  async function exchange(app: AppConfig, code: string, call: OAuthCall): Promise<Login> {
    if (timeLeft(call) < MIN_EXCHANGE_MS) {
      throw new OAuthError(
        'upstream_unavailable',
        'too little time was left in this request to exchange the code with WeChat: start the login again',
      );
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
    allowed,

    async begin(app, req) {
      const { secret, callbackBase, cookieKey } = configured();
      const redirect = req.redirect === undefined ? null : allowed(req.redirect);
      if (redirect === null) {
        throw new OAuthError(
          'redirect_not_allowed',
          req.redirect === undefined
            ? 'redirect is required'
            : 'redirect is not an allowed target (config oauth.redirects)',
        );
      }
      const scope = scopeFor(app, req.scope);
      if (req.state !== undefined && req.state.length > MAX_CALLER_STATE)
        throw new OAuthError('bad_request', `state is longer than ${MAX_CALLER_STATE} characters`);
      const exp = Math.floor(clock() / 1000) + STATE_TTL_SECONDS;
      const { id, state } = makeState(secret, app.appid, exp);
      const claims: CookieClaims = { id, redirect, ...(req.state === undefined ? {} : { state: req.state }), exp };
      const value = signToken(cookieKey, claims as unknown as Record<string, unknown>);
      if (value.length > MAX_COOKIE_VALUE)
        throw new OAuthError(
          'bad_request',
          'redirect and state are too long together (the login cookie holds about 4 KB)',
        );
      return {
        location: authorizeUrl(config, app, callbackUrl(callbackBase, app), scope, state),
        setCookie: stateCookie(callbackBase, app, value),
      };
    },

    async finish(app, req, call) {
      const { secret, cookieKey } = configured();
      const now = clock();
      const { id, exp } = openState(secret, app.appid, req.state, now);
      const kept = cookieLogin(cookieKey, req.cookie, id, now);
      // Checked again: the config may have changed since the authorize step.
      const redirect = allowed(kept.redirect);
      if (redirect === null)
        throw new OAuthError(
          'redirect_not_allowed',
          'redirect is no longer an allowed target (config oauth.redirects)',
        );
      if (req.code === undefined || req.code === '')
        throw new OAuthError('refused', 'the user did not authorize the login (拒绝)');
      // Of two callbacks racing with one state, one goes on.
      if (!(await stored(() => store.insertIfAbsent(`oauth:state-used:${id}`, exp * 1000, now)))) {
        throw new OAuthError('state_used', 'this login was already completed: start again');
      }
      const login = await exchange(app, req.code, call);
      const result = signResult(secret, login, clock(), kept.state);
      return withParams(redirect, {
        [RESULT_PARAM]: result,
        ...(kept.state === undefined ? {} : { state: kept.state }),
      });
    },

    clearCookie(app) {
      const { callbackBase, secret } = config.oauth;
      return secret && callbackBase ? stateCookie(callbackBase, app, '') : undefined;
    },

    exchange,
  };
}
