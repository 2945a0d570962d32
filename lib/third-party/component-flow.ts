/**
 * A third-party platform's authorization (授权) flow: the install links (a pre_auth_code on
 * WeChat's PC page and its mobile bindcomponent page), the redirect back with an auth_code, and
 * completing an authorization exactly once whether the redirect or the `authorized` push brings the
 * code. The landing page is allow-listed as web login's (oauth.redirects). docs/design.md §19.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/types';
import type { CallContext, Credentials } from '../credentials';
import { CredentialError, storeUnavailable } from '../credentials/errors';
import { withAccessToken } from '../credentials/mp';
import { randomNonce } from '../crypto/random';
import { macHex, signToken, verifyToken } from '../crypto/signed';
import type { Logger } from '../log/logger';
import { allowedRedirect } from '../sessions/oauth-redirects';
import { guardStore } from '../store/guard';
import type { Store } from '../store/port';
import { type Authorizer, authorizerApp } from './authorizers';
import type { ComponentConfig } from './component-credentials';

/** How long an install link (its pre_auth_code, and our token in its redirect) may take. */
export const FLOW_TTL_SECONDS = 1800;
/** Life of the signed result handed to the landing page. */
export const RESULT_TTL_SECONDS = 300;
export const RESULT_PARAM = 'wecred_component';
const RESULT_ISSUER = 'wecred:component';
const FLOW_KEY_PURPOSE = 'wecred:component-flow-key';
/** auth_type: 1 Official Accounts, 2 Mini Programs, 3 both, 4–6 the newer kinds (docs/protocol.md §11.3). */
export const AUTH_TYPES = [1, 2, 3, 4, 5, 6] as const;
/** WeChat's auth codes are about 100 characters; a longer one is not sent on. */
const MAX_AUTH_CODE = 512;
/** How long a second completion of one code waits for the first (the push and the redirect race). */
const COMPLETION_WAIT_MS = 3000;

export type FlowFailure = 'not_configured' | 'redirect_not_allowed' | 'bad_link' | 'link_used' | 'refused';

export class FlowError extends Error {
  constructor(
    readonly reason: FlowFailure,
    message: string,
  ) {
    super(message);
    this.name = 'FlowError';
  }
}

/** The claims of the signed result: who authorized which component. */
export interface ComponentResult {
  iss: typeof RESULT_ISSUER;
  component_appid: string;
  authorizer_appid: string;
  func_info: number[];
  state?: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface ComponentFlow {
  /** Install links for `component`, ending on `landing` (allow-listed), valid as long as their pre_auth_code. */
  links(
    component: ComponentConfig,
    req: { landing: string; state?: string; authType: number; bizAppid?: string },
    call: CallContext,
  ): Promise<{ pc_url: string; mobile_url: string; expires_in: number }>;
  /** The redirect back: the authorization completed, the Location of the landing page with the signed result. */
  finish(
    component: ComponentConfig,
    req: { link: string | undefined; authCode: string | undefined; admit?: () => Promise<void> },
    call: CallContext,
  ): Promise<string>;
  /** api_query_auth once per code across instances, and the authorizer stored. */
  complete(component: ComponentConfig, code: string, call: CallContext): Promise<Authorizer>;
  /** `raw` normalised when oauth.redirects allows it as a landing page, else null. */
  allowed(raw: string): string | null;
}

export function createComponentFlow(deps: {
  config: Config;
  store: Store;
  clock: () => number;
  log: Logger;
  credentials: Credentials;
}): ComponentFlow {
  const { config, store, clock, log, credentials } = deps;
  const { secret, callbackBase } = config.oauth;
  const settings =
    secret && callbackBase ? { secret, callbackBase, key: macHex(secret, FLOW_KEY_PURPOSE, '', 64) } : null;
  const configured = () => {
    if (!settings)
      throw new FlowError(
        'not_configured',
        'authorization links need oauth.callbackBase and oauth.secret (the redirect comes back to this deployment)',
      );
    return settings;
  };
  const stored = <T>(op: () => Promise<T>) => guardStore(log, op, storeUnavailable);
  const allowed = (raw: string) => allowedRedirect(config.oauth.redirects, raw);
  const timeout = (call: CallContext) =>
    Math.max(1, Math.min(config.upstream.timeoutMs, Math.floor(call.deadline - performance.now())));
  const componentCall = <T>(component: ComponentConfig, call: CallContext, use: (token: string) => Promise<T>) =>
    withAccessToken(credentials, credentials.components.token(component), { call }, (token) => {
      call.upstreamCalls++;
      return use(token);
    });

  async function complete(component: ComponentConfig, code: string, call: CallContext): Promise<Authorizer> {
    const id = createHash('sha256').update(`${component.appid}\0${code}`).digest('hex').slice(0, 32);
    const now = clock();
    const until = now + FLOW_TTL_SECONDS * 1000;
    const done = `component:code:${id}:appid`;
    const claim = `component:code:${id}`;
    // A counter, not a one-way insert: a completion that fails gives it back, so the next one (WeChat's retry) may try.
    if ((await stored(() => store.increment(claim, 1, until, now))) > 1) {
      // The push and the redirect bring one code: the other completion is under way or done.
      const waitUntil = performance.now() + COMPLETION_WAIT_MS;
      while (performance.now() < waitUntil) {
        const appid = await stored(() => store.getRecord(done, clock()));
        if (appid !== null) {
          const found = await credentials.components.authorizers.find(appid);
          if (found) return found;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new CredentialError('busy', 'this authorization is being completed by another request: retry');
    }
    let authorizer: Authorizer;
    try {
      const issued = await componentCall(component, call, (token) =>
        credentials.components.client.queryAuth(component.appid, token, code, timeout(call)),
      );
      authorizer = await credentials.components.authorizers.authorize(component.appid, issued);
    } catch (err) {
      await store.increment(claim, -1, until, clock()).catch(() => undefined);
      throw err;
    }
    // The tokens of an earlier authorization died with it: every instance fetches anew.
    await dropCredentials(credentials, authorizer, call);
    await stored(() => store.putRecord(done, authorizer.appid, until, clock()));
    log.log('info', 'component_authorized', { component: component.appid, appid: authorizer.appid });
    return authorizer;
  }

  return {
    allowed,
    complete,

    async links(component, req, call) {
      const { key, callbackBase } = configured();
      const landing = allowed(req.landing);
      if (landing === null)
        throw new FlowError(
          'redirect_not_allowed',
          'the landing page is not an allowed target (config oauth.redirects)',
        );
      const pre = await componentCall(component, call, (token) =>
        credentials.components.client.preAuthCode(component.appid, token, timeout(call)),
      );
      const exp = Math.floor(clock() / 1000) + Math.min(FLOW_TTL_SECONDS, pre.expiresIn);
      const link = signToken(key, {
        c: component.appid,
        r: landing,
        ...(req.state === undefined ? {} : { s: req.state }),
        id: randomNonce(16),
        exp,
      });
      const redirectUri = `${callbackBase.replace(/\/+$/, '')}/component/${component.appid}/callback?link=${link}`;
      const params = (extra: [string, string][]) =>
        [
          ...extra,
          ['component_appid', component.appid],
          ['pre_auth_code', pre.value],
          ['redirect_uri', redirectUri],
          ['auth_type', String(req.authType)],
          ...(req.bizAppid === undefined ? [] : [['biz_appid', req.bizAppid]]),
        ]
          .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
          .join('&');
      const mpBase = (config.upstream.mpPages ?? 'https://mp.weixin.qq.com').replace(/\/+$/, '');
      const openBase = (config.upstream.open ?? 'https://open.weixin.qq.com').replace(/\/+$/, '');
      return {
        pc_url: `${mpBase}/cgi-bin/componentloginpage?${params([])}`,
        mobile_url: `${openBase}/wxaopen/safe/bindcomponent?${params([
          ['action', 'bindcomponent'],
          ['no_scan', '1'],
        ])}#wechat_redirect`,
        expires_in: exp - Math.floor(clock() / 1000),
      };
    },

    async finish(component, req, call) {
      const { key, secret } = configured();
      const now = clock();
      const checked = req.link === undefined ? null : verifyToken(key, req.link, now);
      if (!checked?.ok)
        throw new FlowError(
          'bad_link',
          checked?.reason === 'expired'
            ? 'the authorization link expired: start again'
            : 'the authorization link is not one of ours',
        );
      const c = checked.claims;
      const { r, id, exp } = c;
      if (c.c !== component.appid || typeof r !== 'string' || typeof id !== 'string' || typeof exp !== 'number')
        throw new FlowError('bad_link', 'the authorization link is not one of ours');
      const landing = allowed(r);
      if (landing === null)
        throw new FlowError(
          'redirect_not_allowed',
          'the landing page is no longer an allowed target (config oauth.redirects)',
        );
      if (req.authCode === undefined || req.authCode === '')
        throw new FlowError('refused', 'WeChat sent no auth_code: the authorization was not completed');
      if (req.authCode.length > MAX_AUTH_CODE)
        throw new FlowError('bad_link', "the auth_code is too long to be WeChat's");
      await req.admit?.();
      if (!(await stored(() => store.insertIfAbsent(`component:link-used:${id}`, exp * 1000, now))))
        throw new FlowError('link_used', 'this authorization link was already completed: start again');
      const authorizer = await complete(component, req.authCode, call);
      const iat = Math.floor(clock() / 1000);
      const result: ComponentResult = {
        iss: RESULT_ISSUER,
        component_appid: component.appid,
        authorizer_appid: authorizer.appid,
        func_info: authorizer.funcInfo,
        ...(typeof c.s === 'string' ? { state: c.s } : {}),
        jti: randomNonce(16),
        iat,
        exp: iat + RESULT_TTL_SECONDS,
      };
      const url = new URL(landing);
      url.searchParams.set(RESULT_PARAM, signToken(secret, result as unknown as Record<string, unknown>));
      if (typeof c.s === 'string') url.searchParams.set('state', c.s);
      return url.href;
    },
  };
}

/** Drop an authorizer's token and tickets, so that every instance fetches anew (a new or ended authorization). */
export async function dropCredentials(
  credentials: Credentials,
  authorizer: Pick<Authorizer, 'appid' | 'component'>,
  call: CallContext,
): Promise<void> {
  const app = authorizerApp(authorizer);
  await credentials.invalidate(credentials.token(app), call);
  await Promise.all(
    (['jsapi', 'wx_card'] as const).map((t) => credentials.invalidate(credentials.ticket(app, t), call)),
  );
}

/** Check a `wecred_component` result with oauth.secret: signature, expiry (5 minutes), issuer and claims. */
export function verifyComponentResult(
  token: string,
  secret: string,
  now = Date.now(),
): { ok: true; result: ComponentResult } | { ok: false; reason: string } {
  const checked = verifyToken(secret, token, now);
  if (!checked.ok) return checked;
  const c = checked.claims;
  const ok =
    c.iss === RESULT_ISSUER &&
    typeof c.component_appid === 'string' &&
    typeof c.authorizer_appid === 'string' &&
    Array.isArray(c.func_info) &&
    typeof c.jti === 'string';
  return ok ? { ok: true, result: c as unknown as ComponentResult } : { ok: false, reason: 'not_a_result' };
}
