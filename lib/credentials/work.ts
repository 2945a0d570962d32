/**
 * WeCom credentials (docs/protocol.md §4.1–§4.3, §4.6): each app's access_token (per app secret), and
 * the two tickets fetched with it, under WeCom's hourly ticket budgets.
 */
import type { WorkClient } from '../wechat/work';
import type { WorkAgent } from './agents';
import { HOUR_MS } from './day';
import type { Lifecycle } from './lifecycle';
import { fromTokenEndpoint, withAccessToken } from './mp';
import type { CredentialSource } from './source';

/** corp: get_jsapi_ticket, for wx.config; agent: ticket/get?type=agent_config, for wx.agentConfig. */
export type WorkTicketKind = 'corp' | 'agent';

/** WeCom's hourly ticket limits (docs/protocol.md §4.2, §4.3, §4.6): per app, and get_jsapi_ticket per corp. */
export const TICKET_CALLS_PER_APP_HOUR = 100;
export const CORP_TICKET_CALLS_PER_CORP_HOUR = 400;

/** WeCom blocks an exhausted hourly limit, or an IP that sent wrong secrets, for 60 minutes (§4.1, §4.6). */
const oneHourLater = (now: number) => now + HOUR_MS;

export function workTokenSource(
  agent: WorkAgent,
  secretOf: (agent: WorkAgent) => Promise<string>,
  client: WorkClient,
  eager: boolean,
): CredentialSource {
  const { corpid, agentid } = agent;
  return {
    key: `work:${corpid}:${agentid}:token`,
    owner: corpid,
    service: 'WeCom',
    probe: (value, timeoutMs) => client.probe(value, timeoutMs),
    eager,
    quotaBlocksAll: () => true,
    quotaResetsAt: oneHourLater,
    async fetch({ timeoutMs }) {
      // Read at each fetch: a secret replaced by work.register_agent is used at once, in every instance.
      const secret = await secretOf(agent);
      return fromTokenEndpoint(`${corpid}/${agentid}`, "the agent's", () =>
        client.gettoken(corpid, secret, timeoutMs()),
      );
    },
  };
}

/**
 * A ticket fetched with the agent's token; a rejected token (40014/42001: WeCom may end one
 * early) is force-refreshed stale-guarded and the fetch retried once. Each ticket call, the
 * retry too, spends the hourly budgets (§4.2, §4.3): the corp ticket 100 per app and 400 per
 * corp, the agent ticket 100 per app. A failed token fetch spends nothing.
 */
export function workTicketSource(
  agent: WorkAgent,
  kind: WorkTicketKind,
  token: CredentialSource,
  lifecycle: Pick<Lifecycle, 'get'>,
  client: WorkClient,
): CredentialSource {
  const { corpid, agentid } = agent;
  const name = kind === 'corp' ? 'ticket' : 'agent_ticket';
  return {
    key: `work:${corpid}:${agentid}:${name}`,
    owner: corpid,
    service: 'WeCom',
    eager: false,
    hourlyBudgets:
      kind === 'corp'
        ? [
            { scope: `work:${corpid}:${agentid}:ticket`, limit: TICKET_CALLS_PER_APP_HOUR },
            { scope: `work:${corpid}:jsapi_ticket`, limit: CORP_TICKET_CALLS_PER_CORP_HOUR },
          ]
        : [{ scope: `work:${corpid}:${agentid}:agent_ticket`, limit: TICKET_CALLS_PER_APP_HOUR }],
    quotaBlocksAll: () => true,
    quotaResetsAt: oneHourLater,
    async fetch({ timeoutMs, call, deadline, spend }) {
      return withAccessToken(lifecycle, token, { call, deadline }, async (accessToken) => {
        await spend();
        return kind === 'corp'
          ? client.jsapiTicket(accessToken, timeoutMs())
          : client.agentTicket(accessToken, timeoutMs());
      });
    },
  };
}
