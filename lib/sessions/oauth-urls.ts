/**
 * The URLs of an OAuth web login (lib/sessions/oauth.ts): WeChat's authorize page and the scope it asks for, our
 * callback, the target with the result. docs/design.md §11.2.
 */
import type { AppConfig, Config } from '../config/types';
import type { SnsScope } from '../wechat/sns';
import { OAuthError } from './oauth-errors';

export type OAuthScope = SnsScope;

const DEFAULT_OPEN_BASE = 'https://open.weixin.qq.com';

/** The scope to ask WeChat for: website apps snsapi_login only, Official Accounts snsapi_base (default) or snsapi_userinfo. */
export function scopeFor(app: AppConfig, requested: string | undefined): OAuthScope {
  if (app.type === 'web') {
    if (requested === undefined || requested === 'snsapi_login') return 'snsapi_login';
    throw new OAuthError('bad_request', `${app.appid} is a website app: its scope is snsapi_login`);
  }
  if (app.type !== 'mp')
    throw new OAuthError(
      'bad_request',
      `${app.appid} is a Mini Program: it has no web authorization (use session.login)`,
    );
  if (requested === undefined) return 'snsapi_base';
  if (requested === 'snsapi_base' || requested === 'snsapi_userinfo') return requested;
  throw new OAuthError('bad_request', `scope must be snsapi_base or snsapi_userinfo for an Official Account`);
}

/**
 * WeChat's authorize page for `app`: connect/oauth2/authorize for Official Accounts,
 * connect/qrconnect for website apps, always ending in #wechat_redirect.
 */
export function authorizeUrl(
  config: Config,
  app: AppConfig,
  redirectUri: string,
  scope: OAuthScope,
  state?: string,
): string {
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

/** `target` with `params` set in its query (its fragment stays last). */
export function withParams(target: string, params: Record<string, string>): string {
  const url = new URL(target);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.href;
}
