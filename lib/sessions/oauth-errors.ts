/** How an OAuth web login fails (lib/sessions/oauth.ts): the reasons, and WeChat's answers mapped onto them. */
import { classifyUpstream, WechatError } from '../wechat/errors';

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

/** An upstream failure as an OAuthError: the code errors by name, the rest by kind. */
export function upstreamFailure(err: unknown, endpoint: string): OAuthError {
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
