/**
 * OAuth web login for business servers and browsers (docs/design.md §3.2–3.4): the envelope interfaces
 * `oauth.authorize_url` (public) and `oauth.exchange` (realm), and what the /oauth routes use.
 * The flow itself is lib/sessions/oauth.ts.
 */
import type { AppConfig, RealmConfig } from '../config/types';
import { createOAuthFlow } from '../sessions/oauth';
import { OAuthError, type OAuthFailure } from '../sessions/oauth-errors';
import { WECHAT_STATE } from '../sessions/oauth-state';
import { authorizeUrl, scopeFor } from '../sessions/oauth-urls';
import { resolveApp } from './apps';
import { ApiError, toApiError, type ErrorName } from './errors';
import { EXCHANGE_ERRORS } from './login-errors';
import { optionalString, requiredString } from './para';
import { perServices } from './per-services';
import type { InterfaceDef, Services } from './types';

/** The OAuth flow over this deployment's config, store and clock (one per Services). */
export const oauthFlow = perServices((services) =>
  createOAuthFlow({
    config: services.config,
    store: services.store,
    clock: services.clock,
    log: services.log,
  }),
);

/** The app `appid` names (or the single / default one) if it can do web authorization: an Official Account or a website app. */
export async function oauthApp(
  services: Services,
  realm: RealmConfig | null,
  appid: string | undefined,
): Promise<AppConfig> {
  const app = await resolveApp(services, realm, appid, ['mp', 'web']);
  // A component's authorizer has no secret here: web login on its behalf is another flow, not offered.
  if (app.component !== undefined)
    throw new ApiError(
      'bad_para',
      `${app.appid} is an authorizer of a third-party platform: web login needs a configured app`,
    );
  return app;
}

const ERROR_OF: Record<OAuthFailure, ErrorName> = {
  not_configured: 'not_found',
  bad_request: 'bad_para',
  redirect_not_allowed: 'bad_para',
  bad_state: 'bad_para',
  state_expired: 'bad_para',
  state_used: 'bad_para',
  refused: 'bad_para',
  ...EXCHANGE_ERRORS,
  store_unavailable: 'store_unavailable',
};

/** Any failure of the flow as an ApiError, with the flow's reason when there is one. */
export function oauthError(err: unknown): { error: ApiError; reason?: OAuthFailure } {
  if (err instanceof OAuthError)
    return { error: new ApiError(ERROR_OF[err.reason], err.message, err.errcode), reason: err.reason };
  return { error: toApiError(err) };
}

async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw oauthError(err).error;
  }
}

export const oauthAuthorizeUrl: InterfaceDef = {
  name: 'oauth.authorize_url',
  access: 'public',
  async handle({ para, realm, services }) {
    const app = await oauthApp(services, realm, optionalString(para, 'appid', 64));
    const redirectUri = requiredString(para, 'redirect_uri', 2048);
    const target = oauthFlow(services).allowed(redirectUri);
    if (target === null)
      throw new ApiError('bad_para', 'para.redirect_uri is not an allowed redirect target (config oauth.redirects)');
    const scope = await run(async () => scopeFor(app, optionalString(para, 'scope', 32)));
    const state = optionalString(para, 'state', 128);
    if (state !== undefined && !WECHAT_STATE.test(state))
      throw new ApiError('bad_para', "para.state must be 1 to 128 characters of a-zA-Z0-9 (WeChat's rule)");
    return { appid: app.appid, scope, url: authorizeUrl(services.config, app, target, scope, state) };
  },
};

export const oauthExchange: InterfaceDef = {
  name: 'oauth.exchange',
  access: 'realm',
  async handle({ para, realm, call, services }) {
    const app = await oauthApp(services, realm, optionalString(para, 'appid', 64));
    const code = requiredString(para, 'code', 512);
    const login = await run(() => oauthFlow(services).exchange(app, code, call));
    return { ...login };
  },
};
