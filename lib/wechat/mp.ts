/**
 * Official Account / Mini Program credential endpoints on api.weixin.qq.com (docs/protocol.md §1.1–§1.3).
 * One typed function per endpoint, one attempt each; nothing here knows about stores or leases.
 */
import { classifyUpstream, UpstreamUnavailable } from './errors';
import { callJson, upstreamUrl } from './http';

/** A credential as WeChat issued it. */
export interface Issued {
  value: string;
  /** Seconds of validity left, as WeChat said (stable_token answers the remaining lifetime). */
  expiresIn: number;
}

export type TicketType = 'jsapi' | 'wx_card';

export interface MpClient {
  /** Classic token: `GET /cgi-bin/token`. Every call mints a new token (the old one lives ~5 more minutes). */
  token(appid: string, secret: string, timeoutMs: number): Promise<Issued>;
  /** Stable token: `POST /cgi-bin/stable_token`. `forceRefresh` is limited upstream (20/day, 30 s apart). */
  stableToken(appid: string, secret: string, forceRefresh: boolean, timeoutMs: number): Promise<Issued>;
  /** `GET /cgi-bin/ticket/getticket`: the jsapi_ticket or the card api_ticket for an access_token. */
  ticket(accessToken: string, type: TicketType, timeoutMs: number): Promise<Issued>;
  /** Whether WeChat still accepts an access_token: `GET /cgi-bin/get_api_domain_ip`, the cheapest call that needs one. */
  probe(accessToken: string, timeoutMs: number): Promise<'live' | 'rejected'>;
  /**
   * `POST /cgi-bin/clear_quota/v2` (clearQuotaByAppSecret): the app's daily API counters start
   * again; needs no access_token, so it works when the token quota itself is gone. 10 a month
   * per account, with clear_quota (48006 beyond). The secret travels in the body, never in a URL.
   */
  clearQuota(appid: string, secret: string, timeoutMs: number): Promise<void>;
}

const TOKEN = 'cgi-bin/token';
const STABLE_TOKEN = 'cgi-bin/stable_token';
const TICKET = 'cgi-bin/ticket/getticket';
const API_DOMAIN_IP = 'cgi-bin/get_api_domain_ip';
const CLEAR_QUOTA = 'cgi-bin/clear_quota/v2';

/** `baseUrl` is e.g. `https://api.weixin.qq.com` (a trailing '/' is fine). */
export function createMpClient(baseUrl: string): MpClient {
  return {
    async token(appid, secret, timeoutMs) {
      const url = upstreamUrl(baseUrl, TOKEN, { grant_type: 'client_credential', appid, secret });
      return issued(TOKEN, await callJson(TOKEN, url, { method: 'GET', timeoutMs }), 'access_token');
    },

    async stableToken(appid, secret, forceRefresh, timeoutMs) {
      const url = upstreamUrl(baseUrl, STABLE_TOKEN);
      const json = { grant_type: 'client_credential', appid, secret, force_refresh: forceRefresh };
      return issued(
        STABLE_TOKEN,
        await callJson(STABLE_TOKEN, url, { method: 'POST', json, timeoutMs }),
        'access_token',
      );
    },

    async ticket(accessToken, type, timeoutMs) {
      const url = upstreamUrl(baseUrl, TICKET, { access_token: accessToken, type });
      return issued(TICKET, await callJson(TICKET, url, { method: 'GET', timeoutMs }), 'ticket');
    },

    probe: (accessToken, timeoutMs) => probeToken(baseUrl, accessToken, timeoutMs),

    async clearQuota(appid, secret, timeoutMs) {
      const url = upstreamUrl(baseUrl, CLEAR_QUOTA);
      await callJson(CLEAR_QUOTA, url, { method: 'POST', json: { appid, appsecret: secret }, timeoutMs });
    },
  };
}

/**
 * `GET <base>/cgi-bin/get_api_domain_ip` with an access_token (WeChat and WeCom both answer it):
 * 'rejected' for 40001 / 40014 / 42001, 'live' for a success; any other failure is thrown.
 */
export async function probeToken(
  baseUrl: string,
  accessToken: string,
  timeoutMs: number,
): Promise<'live' | 'rejected'> {
  const url = upstreamUrl(baseUrl, API_DOMAIN_IP, { access_token: accessToken });
  try {
    await callJson(API_DOMAIN_IP, url, { method: 'GET', timeoutMs });
    return 'live';
  } catch (err) {
    if (classifyUpstream(err) === 'token') return 'rejected';
    throw err;
  }
}

/** The credential out of a success body; a body without a usable value or lifetime is 'body'. */
export function issued(endpoint: string, body: Record<string, unknown>, field: 'access_token' | 'ticket'): Issued {
  const value = body[field];
  const expiresIn = body.expires_in;
  if (typeof value !== 'string' || value === '') throw new UpstreamUnavailable(endpoint, 'body');
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new UpstreamUnavailable(endpoint, 'body');
  }
  return { value, expiresIn };
}
