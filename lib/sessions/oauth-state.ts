/**
 * The login's state for WeChat and the cookie binding it to the browser that started it (lib/sessions/oauth.ts).
 * docs/design.md §11.2.
 */
import type { AppConfig } from '../config/types';
import { randomNonce } from '../crypto/random';
import { macHex, macHexMatches, verifyToken } from '../crypto/signed';
import { OAuthError } from './oauth-errors';
import { callbackUrl } from './oauth-urls';

/** How long a login may take between our authorize redirect and the callback. */
export const STATE_TTL_SECONDS = 600;
/** The cookie binding a login to the browser that started it. */
export const STATE_COOKIE = 'wecred_oauth';

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
export const COOKIE_KEY_PURPOSE = 'wecred:oauth-cookie-key';
/** Browsers keep cookies of up to 4096 bytes (name and value). */
export const MAX_COOKIE_VALUE = 3800;
/** WeChat's own rule for state, for callers building their own authorize URL. */
export const WECHAT_STATE = /^[a-zA-Z0-9]{1,128}$/;

/** The login as the cookie carries it, signed (the browser sent R and X itself, so nothing is hidden). */
export interface CookieClaims {
  id: string;
  redirect: string;
  state?: string;
  exp: number;
}

/** A fresh state for `appid` (layout at STATE_FORMAT). */
export function makeState(secret: string, appid: string, expSeconds: number): { id: string; state: string } {
  const id = randomNonce(22);
  const exp = String(expSeconds).padStart(10, '0');
  return { id, state: `${id}${exp}${macHex(secret, STATE_PURPOSE, `${appid}.${id}.${exp}`)}` };
}

/** The id and expiry of a state we made for `appid`, or an OAuthError (bad_state, state_expired). */
export function openState(
  secret: string,
  appid: string,
  state: string | undefined,
  now: number,
): { id: string; exp: number } {
  const m = STATE_FORMAT.exec(state ?? '');
  if (!m) throw new OAuthError('bad_state', state ? 'the state is not one of ours' : 'the state is missing');
  const [, id, exp, tag] = m as unknown as [string, string, string, string];
  if (!macHexMatches(secret, STATE_PURPOSE, `${appid}.${id}.${exp}`, tag))
    throw new OAuthError('bad_state', 'the state does not verify (altered, or made for another app)');
  if (Number(exp) * 1000 <= now)
    throw new OAuthError('state_expired', `the login took longer than ${STATE_TTL_SECONDS / 60} minutes: start again`);
  return { id, exp: Number(exp) };
}

/**
 * The name and path of `app`'s login cookie. An https callback at the host root gets a `__Host-`
 * name, which browsers let no other host (a sibling subdomain) set; its path is then `/`, so the
 * name carries the appid. Elsewhere: `wecred_oauth` on the callback's directory, so that it reaches
 * the callback under any stage path.
 */
export function cookieScope(callbackBase: string, app: AppConfig): { name: string; path: string } {
  const callback = new URL(callbackUrl(callbackBase, app));
  if (callback.protocol === 'https:' && callback.pathname === `/oauth/${app.appid}/callback`)
    return { name: `__Host-${STATE_COOKIE}_${app.appid}`, path: '/' };
  return { name: STATE_COOKIE, path: callback.pathname.replace(/callback$/, '').replaceAll(';', '%3B') };
}

/** The Set-Cookie header for the login cookie of `app` (`value` '' clears it). */
export function stateCookie(callbackBase: string, app: AppConfig, value: string): string {
  const { name, path } = cookieScope(callbackBase, app);
  const maxAge = value === '' ? 0 : STATE_TTL_SECONDS + 60; // outlives the state a little: expiry is reported as such
  const secure = callbackBase.startsWith('https:') ? '; Secure' : '';
  return `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
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

/**
 * The login this browser's one cookie named `name` holds for state `id`, or bad_state. Exactly one:
 * a second beside it may have been planted by a sibling domain, and trying each would let it in.
 */
export function cookieLogin(
  cookieKey: string,
  header: string | undefined,
  name: string,
  id: string,
  now: number,
): CookieClaims {
  const values = cookieValues(header, name);
  if (values.length === 1) {
    const checked = verifyToken(cookieKey, values[0]!, now);
    if (checked.ok && checked.claims.id === id && typeof checked.claims.redirect === 'string')
      return checked.claims as unknown as CookieClaims;
  }
  throw new OAuthError(
    'bad_state',
    values.length === 0
      ? 'this browser did not start this login (no login cookie): the login must start in the browser that finishes it, start it again here'
      : values.length > 1
        ? 'this browser sent more than one login cookie: start the login again in this browser'
        : "this browser's login cookie is for another login (started elsewhere, or a newer one began since): start the login again in this browser",
  );
}
