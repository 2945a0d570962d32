/**
 * What both kinds of login share (OAuth web login, lib/sessions/oauth.ts; Mini Program sessions,
 * lib/sessions/mina.ts): WeChat's answers to a code exchange mapped onto one set of reasons, and
 * the time a code exchange needs. Their store calls go through lib/store/guard.ts. docs/design.md §11.2.
 */
import { classifyUpstream, UpstreamUnavailable, WechatError } from '../wechat/errors';

/**
 * A code is single-use and a call that times out may still spend it: with less of the request's
 * budget left than this, fail before calling WeChat (the user can then retry with the same code).
 */
export const MIN_EXCHANGE_MS = 200;

export type ExchangeFailure =
  /** 40029: WeChat does not know the code. */
  | 'code_invalid'
  /** 40163: already exchanged. */
  | 'code_used'
  /** 42003: older than 5 minutes. */
  | 'code_expired'
  /** 40226: WeChat blocked this user's login (high-risk user). */
  | 'code_blocked'
  /** No answer, too little time left, or a transient refusal (-1, 45011, 45033). */
  | 'upstream_unavailable'
  /** WeChat refused the app's credentials (40013, 40125, IP allow-list, ...). */
  | 'upstream_config'
  /** 45009: WeChat's daily quota for the app is exhausted. */
  | 'upstream_quota'
  | 'upstream_error';

export interface ExchangeRefusal {
  reason: ExchangeFailure;
  message: string;
  /** WeChat's errcode, when WeChat said no. */
  errcode?: number;
}

const CODE_REFUSALS: Record<number, { reason: ExchangeFailure; what: string }> = {
  40029: { reason: 'code_invalid', what: 'WeChat does not know this code (40029)' },
  40163: { reason: 'code_used', what: 'this code was already used (40163)' },
  42003: { reason: 'code_expired', what: 'this code expired (42003, codes live 5 minutes)' },
  40226: { reason: 'code_blocked', what: "WeChat blocked this user's login (40226, high-risk user)" },
};

/**
 * A failed call of `endpoint` during a login, classified; `again` tells the user what to do next
 * (the code is single-use: never "try again"). Anything that is not an upstream failure is rethrown.
 */
export function exchangeRefusal(err: unknown, endpoint: string, again: string): ExchangeRefusal {
  if (err instanceof UpstreamUnavailable)
    return { reason: 'upstream_unavailable', message: `${endpoint}: WeChat is unavailable (${err.reason}); ${again}` };
  if (!(err instanceof WechatError)) throw err;
  const errcode = err.errcode;
  const refusal = CODE_REFUSALS[errcode];
  if (refusal) return { reason: refusal.reason, message: `${refusal.what}: ${again}`, errcode };
  switch (classifyUpstream(err)) {
    case 'retry':
      if (errcode === 45011)
        return {
          reason: 'upstream_unavailable',
          message: `${endpoint}: this user logs in too often (45011); wait a minute, then ${again}`,
          errcode,
        };
      return {
        reason: 'upstream_unavailable',
        message: `${endpoint}: WeChat is unavailable (errcode ${errcode}); ${again}`,
        errcode,
      };
    case 'config':
      return {
        reason: 'upstream_config',
        message: `${endpoint}: WeChat refused this app's configuration (errcode ${errcode}): check its appid, secret and IP allow-list`,
        errcode,
      };
    case 'quota':
      return {
        reason: 'upstream_quota',
        message: `${endpoint}: WeChat's daily quota for this app is exhausted (errcode ${errcode})`,
        errcode,
      };
    default:
      return { reason: 'upstream_error', message: `${endpoint} answered errcode ${errcode}`, errcode };
  }
}
