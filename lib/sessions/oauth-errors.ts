/**
 * How an OAuth web login fails (lib/sessions/oauth.ts): the reasons, WeChat's answers among them (login-errors.ts).
 * docs/design.md §11.2.
 */
import { exchangeRefusal, type ExchangeFailure } from './login-errors';

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
  | ExchangeFailure
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

/** A failed call of `endpoint` during the code exchange as an OAuthError; anything else is rethrown. */
export function upstreamFailure(err: unknown, endpoint: string): OAuthError {
  const r = exchangeRefusal(err, endpoint, 'start the login again');
  return new OAuthError(r.reason, r.message, r.errcode);
}
