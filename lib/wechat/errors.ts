/**
 * Upstream failures, and how the credential lifecycle treats each (docs/design.md §5.6).
 * Messages never carry a token, ticket or secret: URLs are described by endpoint name only.
 */

/** WeChat / WeCom answered with a non-zero errcode. */
export class WechatError extends Error {
  constructor(
    readonly endpoint: string,
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`${endpoint} answered errcode ${errcode}: ${errmsg.slice(0, 200)}`);
    this.name = 'WechatError';
  }
}

/**
 * No usable answer: timeout, connection failure, HTTP status other than 200, a body that is not
 * JSON, `busy`: an answer saying the upstream itself failed or is rate-limiting us (Tencent
 * Cloud's InternalError, RequestLimitExceeded), which a later attempt may not meet, or `circuit`:
 * not tried, its host having failed to answer several times in a row just now (http.ts).
 */
export class UpstreamUnavailable extends Error {
  constructor(
    readonly endpoint: string,
    readonly reason: 'timeout' | 'network' | 'http' | 'body' | 'busy' | 'circuit',
    readonly status?: number,
  ) {
    super(`${endpoint} unavailable: ${reason}${status ? ` (HTTP ${status})` : ''}`);
    this.name = 'UpstreamUnavailable';
  }
}

/**
 * A Tencent Cloud API (STS) answered an error code, other than the transient ones (those are
 * UpstreamUnavailable `busy`). Only the code is kept: Tencent's message may echo the request.
 */
export class TencentCloudError extends Error {
  constructor(
    readonly endpoint: string,
    readonly code: string,
  ) {
    super(`${endpoint} answered ${code}`);
    this.name = 'TencentCloudError';
  }
}

/**
 * How a Tencent Cloud SDK call (or a TencentCloudError) failed, from its error code, HTTP
 * status or the SDK's network message: never Tencent's own message, which may echo the request.
 * - refused: AuthFailure*, UnauthorizedOperation*, OperationDenied*: the keys or their permissions
 * - busy:    InternalError*, RequestLimitExceeded*: a later attempt may succeed
 * - code:    any other error code
 * - http:    no code, a status other than 200
 * - timeout / network: no answer; `reason` is the SDK's "reason: …" (e.g. connect ECONNREFUSED)
 */
export type TencentFault =
  | { kind: 'refused' | 'busy' | 'code'; code: string }
  | { kind: 'http'; status: number }
  | { kind: 'timeout' }
  | { kind: 'network'; reason?: string };

export function classifyTencent(err: unknown): TencentFault {
  const { code, httpCode } = (err ?? {}) as { code?: unknown; httpCode?: unknown };
  if (typeof code === 'string' && code !== '') {
    if (/^(AuthFailure|UnauthorizedOperation|OperationDenied)/.test(code)) return { kind: 'refused', code };
    return { kind: /^(InternalError|RequestLimitExceeded)/.test(code) ? 'busy' : 'code', code };
  }
  if (typeof httpCode === 'number') return { kind: 'http', status: httpCode };
  // The SDK folds network failures into "request to URL failed, reason: …" or "network timeout at: URL".
  const message = err instanceof Error ? err.message : '';
  const reason = /reason: (.*)$/.exec(message)?.[1];
  return reason === undefined && /timeout/i.test(message)
    ? { kind: 'timeout' }
    : { kind: 'network', ...(reason === undefined ? {} : { reason }) };
}

/**
 * - retry:  transient; try again with backoff inside the request budget
 * - token:  the access_token used was rejected; refresh it (stale-guarded) and retry once
 * - config: the deployment is misconfigured (appid, secret, IP allow-list, frozen secret, risk control)
 * - quota:  WeChat's quota is exhausted (45009); stop calling until it resets (the next day; WeCom: an hour)
 * - other:  anything else; reported with its errcode
 */
export type UpstreamFault = 'retry' | 'token' | 'config' | 'quota' | 'other';

// 40083 / 40084: WeCom's suite id or permanent code is not (or no longer) valid
const CONFIG_ERRCODES = new Set([40002, 40013, 40125, 40164, 41002, 41004, 40243, 61004, 40091, 60020, 40083, 40084]);

export function classifyUpstream(err: unknown): UpstreamFault {
  if (err instanceof UpstreamUnavailable) return 'retry';
  if (!(err instanceof WechatError)) return 'other';
  const c = err.errcode;
  if (c === -1 || c === 45011 || c === 45033) return 'retry';
  // 40082 / 42009: WeCom's suite_access_token rejected or expired (third-party apps)
  if (c === 40001 || c === 40014 || c === 42001 || c === 40082 || c === 42009) return 'token';
  if (c === 45009) return 'quota';
  if (CONFIG_ERRCODES.has(c) || (c >= 89000 && c < 90000)) return 'config';
  return 'other';
}
