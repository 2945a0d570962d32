/**
 * WeCom's service-provider endpoints for third-party apps (suites) on qyapi.weixin.qq.com
 * (docs/protocol.md §12): one typed function per endpoint, one attempt each. Secrets, tickets and
 * permanent codes travel in JSON bodies; only the suite_access_token rides in the query, as WeCom wants.
 */
import { canonicalAgentid, canonicalCorpid } from '../config/wecom-ids';
import { UpstreamUnavailable } from '../wechat/errors';
import { callJson, upstreamUrl } from '../wechat/http';
import { issued, type Issued } from '../wechat/mp';

/** What service/get_permanent_code tells of a new authorization. */
export interface Authorization {
  corpid: string;
  corpName: string;
  permanentCode: string;
  /** The agent the suite's app has in the corp (auth_info.agent[0].agentid). */
  agentid: string;
}

export interface SuiteClient {
  /** `POST /cgi-bin/service/get_suite_token`: the suite_access_token, given the latest suite_ticket. */
  suiteToken(suiteId: string, secret: string, ticket: string, timeoutMs: number): Promise<Issued>;
  /** `GET /cgi-bin/service/get_pre_auth_code`: a pre-authorization code for the install link (20 minutes). */
  preAuthCode(suiteToken: string, timeoutMs: number): Promise<Issued>;
  /** `POST /cgi-bin/service/get_permanent_code`: an auth code (single use) for the corp's permanent code. */
  permanentCode(suiteToken: string, authCode: string, timeoutMs: number): Promise<Authorization>;
  /** `POST /cgi-bin/service/get_corp_token`: the authorized corp's access_token. */
  corpToken(suiteToken: string, corpid: string, permanentCode: string, timeoutMs: number): Promise<Issued>;
}

const SUITE_TOKEN = 'cgi-bin/service/get_suite_token';
const PRE_AUTH_CODE = 'cgi-bin/service/get_pre_auth_code';
const PERMANENT_CODE = 'cgi-bin/service/get_permanent_code';
const CORP_TOKEN = 'cgi-bin/service/get_corp_token';

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

export function createSuiteClient(baseUrl: string): SuiteClient {
  const post = (endpoint: string, query: Record<string, string> | undefined, json: unknown, timeoutMs: number) =>
    callJson(endpoint, upstreamUrl(baseUrl, endpoint, query), { method: 'POST', json, timeoutMs });
  return {
    async suiteToken(suiteId, secret, ticket, timeoutMs) {
      const body = await post(
        SUITE_TOKEN,
        undefined,
        { suite_id: suiteId, suite_secret: secret, suite_ticket: ticket },
        timeoutMs,
      );
      return issued(SUITE_TOKEN, { ...body, access_token: body.suite_access_token }, 'access_token');
    },

    async preAuthCode(suiteToken, timeoutMs) {
      const url = upstreamUrl(baseUrl, PRE_AUTH_CODE, { suite_access_token: suiteToken });
      const body = await callJson(PRE_AUTH_CODE, url, { method: 'GET', timeoutMs });
      return issued(PRE_AUTH_CODE, { ...body, access_token: body.pre_auth_code }, 'access_token');
    },

    async permanentCode(suiteToken, authCode, timeoutMs) {
      const body = await post(PERMANENT_CODE, { suite_access_token: suiteToken }, { auth_code: authCode }, timeoutMs);
      const corp = (body.auth_corp_info ?? {}) as Record<string, unknown>;
      const agents = ((body.auth_info ?? {}) as Record<string, unknown>).agent;
      const agent = Array.isArray(agents) ? (agents[0] as Record<string, unknown> | undefined) : undefined;
      // Both end up in store keys: read as config.work reads them (no ':' gets through).
      const agentid = agent && canonicalAgentid(agent.agentid);
      const permanentCode = str(body.permanent_code);
      const corpid = canonicalCorpid(corp.corpid);
      if (!permanentCode || !corpid || !agentid) throw new UpstreamUnavailable(PERMANENT_CODE, 'body');
      return { corpid, corpName: str(corp.corp_name) ?? '', permanentCode, agentid };
    },

    async corpToken(suiteToken, corpid, permanentCode, timeoutMs) {
      const body = await post(
        CORP_TOKEN,
        { suite_access_token: suiteToken },
        { auth_corpid: corpid, permanent_code: permanentCode },
        timeoutMs,
      );
      return issued(CORP_TOKEN, body, 'access_token');
    },
  };
}
