/**
 * WeCom (企业微信) credential endpoints on qyapi.weixin.qq.com (docs/protocol.md §4.1–§4.3).
 * One typed function per endpoint, one attempt each; nothing here knows about stores or leases.
 * The access_token travels in the query only: WeCom answers 41001 to one in a header or body.
 */
import { callJson, upstreamUrl } from './http';
import { issued, type Issued, probeToken } from './mp';

export interface WorkClient {
  /** `GET /cgi-bin/gettoken`: the token of one app (its own secret); re-fetching returns the same token while it lives. */
  gettoken(corpid: string, corpsecret: string, timeoutMs: number): Promise<Issued>;
  /** `GET /cgi-bin/get_jsapi_ticket`: the corp jsapi_ticket for wx.config (100/h per app, 400/h per corp). */
  jsapiTicket(accessToken: string, timeoutMs: number): Promise<Issued>;
  /** `GET /cgi-bin/ticket/get?type=agent_config`: the app's ticket for wx.agentConfig (100/h per app). */
  agentTicket(accessToken: string, timeoutMs: number): Promise<Issued>;
  /** Whether WeCom still accepts an access_token: `GET /cgi-bin/get_api_domain_ip`. */
  probe(accessToken: string, timeoutMs: number): Promise<'live' | 'rejected'>;
}

const GETTOKEN = 'cgi-bin/gettoken';
const JSAPI_TICKET = 'cgi-bin/get_jsapi_ticket';
const AGENT_TICKET = 'cgi-bin/ticket/get';

/** `baseUrl` is e.g. `https://qyapi.weixin.qq.com` (a trailing '/' is fine). */
export function createWorkClient(baseUrl: string): WorkClient {
  return {
    async gettoken(corpid, corpsecret, timeoutMs) {
      const url = upstreamUrl(baseUrl, GETTOKEN, { corpid, corpsecret });
      return issued(GETTOKEN, await callJson(GETTOKEN, url, { method: 'GET', timeoutMs }), 'access_token');
    },

    async jsapiTicket(accessToken, timeoutMs) {
      const url = upstreamUrl(baseUrl, JSAPI_TICKET, { access_token: accessToken });
      return issued(JSAPI_TICKET, await callJson(JSAPI_TICKET, url, { method: 'GET', timeoutMs }), 'ticket');
    },

    async agentTicket(accessToken, timeoutMs) {
      const url = upstreamUrl(baseUrl, AGENT_TICKET, { access_token: accessToken, type: 'agent_config' });
      return issued(AGENT_TICKET, await callJson(AGENT_TICKET, url, { method: 'GET', timeoutMs }), 'ticket');
    },

    probe: (accessToken, timeoutMs) => probeToken(baseUrl, accessToken, timeoutMs),
  };
}
