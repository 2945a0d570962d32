/**
 * WeCom (企业微信) interfaces: each agent's access_token, the corp and agent tickets, the
 * wx.config / wx.agentConfig parameters, and registering agents at run time. Wafer fork aliases
 * (`qcloud.work.*`) answer in the fork's shapes. docs/design.md §13.
 */
import type { RealmConfig } from '../config/types';
import { AGENTID_RULE, canonicalAgentid, canonicalCorpid, CORPID_RULE, secretKindOf } from '../config/wecom-ids';
import type { WorkAgent, WorkTicketKind } from '../credentials';
import { jsapiSignature } from '../crypto/jsapi';
import { randomNonce } from '../crypto/random';
import { assertRealmMayUse } from './apps';
import { ApiError } from './errors';
import { lifetime, pageUrl, refreshOptions } from './mp';
import { flag, optionalString, optionalStringList, requiredString } from './para';
import type { InterfaceDef, Services } from './types';

/** para.corpid and para.agentid, read as config.work reads them. */
function agentIds(para: Record<string, unknown>): WorkAgent {
  const corpid = canonicalCorpid(requiredString(para, 'corpid', 64));
  if (corpid === undefined) throw new ApiError('bad_para', `para.corpid ${CORPID_RULE}`);
  if (para.agentid === undefined || para.agentid === null) throw new ApiError('bad_para', 'para.agentid is required');
  const agentid = canonicalAgentid(para.agentid);
  if (agentid === undefined) throw new ApiError('bad_para', `para.agentid ${AGENTID_RULE}`);
  return { corpid, agentid };
}

/**
 * para.corpid with para.agentid, or with para.kind for a secret without an agent (contacts,
 * customer contact): the slot such a secret stands in (lib/config/wecom-ids.ts).
 */
function secretIds(para: Record<string, unknown>): WorkAgent {
  const kind = para.kind ?? 'agent';
  if (kind === 'agent') return agentIds(para);
  if (kind !== 'contacts' && kind !== 'externalcontact')
    throw new ApiError('bad_para', 'para.kind must be "agent", "contacts" or "externalcontact"');
  if (para.agentid !== undefined && para.agentid !== null)
    throw new ApiError('bad_para', `para.agentid must be left out with para.kind ${kind} (such a secret has no agent)`);
  const corpid = canonicalCorpid(requiredString(para, 'corpid', 64));
  if (corpid === undefined) throw new ApiError('bad_para', `para.corpid ${CORPID_RULE}`);
  return { corpid, agentid: kind };
}

/**
 * The configured or registered secret the request names, or the agent of a corp that authorized a
 * configured suite, if the realm may use its corp (or, for a suite's corp, the suite).
 */
async function resolveSecret(services: Services, realm: RealmConfig | null, ids: WorkAgent): Promise<WorkAgent> {
  const { credentials } = services;
  const own = secretKindOf(ids.agentid) !== 'agent' || credentials.agents.configured(ids.corpid, ids.agentid);
  const authorized = own ? undefined : await credentials.suites.findCorp(ids.corpid, ids.agentid);
  if (authorized) {
    if (!realm?.apps.includes(authorized.suiteId)) assertRealmMayUse(realm, ids.corpid, 'corp');
    return authorized;
  }
  assertRealmMayUse(realm, ids.corpid, 'corp');
  const agent = await credentials.agents.find(ids.corpid, ids.agentid);
  if (agent) return agent;
  const kind = secretKindOf(ids.agentid);
  throw new ApiError(
    'unknown_app',
    kind === 'agent'
      ? `unknown WeCom agent ${ids.corpid}/${ids.agentid}`
      : `no ${kind} secret of WeCom corp ${ids.corpid} is configured (config.work, kind ${kind})`,
  );
}

/** The agent the request names (tickets and wx.agentConfig belong to agents, never to a contacts secret). */
async function resolveAgent(
  services: Services,
  realm: RealmConfig | null,
  para: Record<string, unknown>,
): Promise<WorkAgent> {
  if (para.kind !== undefined && para.kind !== null && para.kind !== 'agent')
    throw new ApiError(
      'bad_para',
      `para.kind ${String(para.kind).slice(0, 32)}: JS-SDK tickets belong to agents only; name the agent by para.agentid`,
    );
  return resolveSecret(services, realm, agentIds(para));
}

/** What names the secret in an answer: the agentid, or the kind of a secret without an agent. */
function named(agent: WorkAgent): Record<string, string> {
  const kind = secretKindOf(agent.agentid);
  return kind === 'agent' ? { agentid: agent.agentid } : { kind };
}

const workAccessToken: InterfaceDef = {
  name: 'work.access_token',
  access: 'realm',
  async handle({ para, realm, call, services }) {
    const agent = await resolveSecret(services, realm, secretIds(para));
    const token = await services.credentials.get(services.credentials.workToken(agent), refreshOptions(para, call));
    return { corpid: agent.corpid, ...named(agent), access_token: token.value, ...lifetime(services, token) };
  },
};

function ticketInterface(name: string, kind: WorkTicketKind, field: 'ticket' | 'agent_ticket'): InterfaceDef {
  return {
    name,
    access: 'realm',
    async handle({ para, realm, call, services }) {
      const agent = await resolveAgent(services, realm, para);
      const t = await services.credentials.get(
        services.credentials.workTicket(agent, kind),
        refreshOptions(para, call),
      );
      return { corpid: agent.corpid, agentid: agent.agentid, [field]: t.value, ...lifetime(services, t) };
    },
  };
}

const workTicket = ticketInterface('work.ticket', 'corp', 'ticket');
const workAgentTicket = ticketInterface('work.agent_ticket', 'agent', 'agent_ticket');

/**
 * The page's wx.config parameters (corp ticket, corpid as appId, beta: true) and, unless
 * `agent: false`, its wx.agentConfig parameters (the agent's ticket), both for the same url,
 * timestamp and nonceStr. The url is signed without its #fragment.
 */
const workJsapiConfig: InterfaceDef = {
  name: 'work.jsapi.config',
  access: 'public',
  async handle({ para, realm, call, services }) {
    const agent = await resolveAgent(services, realm, para);
    const url = pageUrl(para);
    const jsApiList = optionalStringList(para, 'jsApiList') ?? [];
    const withAgent = para.agent === undefined || para.agent === null || flag(para, 'agent');
    const [corp, agentTicket] = await Promise.all([
      services.credentials.get(services.credentials.workTicket(agent, 'corp'), { call }),
      withAgent ? services.credentials.get(services.credentials.workTicket(agent, 'agent'), { call }) : undefined,
    ]);
    const timestamp = Math.floor(services.clock() / 1000);
    const nonceStr = randomNonce(16);
    const config = {
      beta: true,
      appId: agent.corpid,
      timestamp,
      nonceStr,
      signature: jsapiSignature({ ticket: corp.value, nonceStr, timestamp, url }),
      jsApiList,
    };
    if (!agentTicket) return { config };
    const signature = jsapiSignature({ ticket: agentTicket.value, nonceStr, timestamp, url });
    return {
      config,
      agentConfig: { corpid: agent.corpid, agentid: agent.agentid, timestamp, nonceStr, signature, jsApiList },
    };
  },
};

/**
 * Register (or replace) an agent's secret, sealed at rest, then drop the agent's token and
 * tickets in the store, every time: a retry after a failure between the two steps still drops
 * them, so the call is idempotent. Once it has answered, every fetch in every instance uses the
 * new secret (a fetch under way is waited for and its value dropped too, and the new row version
 * ends another instance's pause after the wrong secret at its next request); another instance's
 * warm cache may still hand out the old token or tickets for up to credentials.localCacheSeconds.
 */
const workRegisterAgent: InterfaceDef = {
  name: 'work.register_agent',
  aliases: ['qcloud.work.initagent'],
  access: 'admin',
  async handle({ para, realm, call, services }) {
    const agent = agentIds(para);
    const secret = requiredString(para, 'agentsecret', 256);
    const remark = optionalString(para, 'remark', 256);
    assertRealmMayUse(realm, agent.corpid, 'corp');
    if (services.credentials.agents.configured(agent.corpid, agent.agentid)) {
      throw new ApiError(
        'bad_para',
        `WeCom agent ${agent.corpid}/${agent.agentid} is configured (config.work): change its secret there`,
      );
    }
    if (!services.config.masterKey) {
      throw new ApiError(
        'config_fault',
        'work.register_agent stores agent secrets sealed at rest and needs WECRED_MASTER_KEY, which is not set',
      );
    }
    const { credentials } = services;
    const { created, replaced } = await credentials.agents.register(agent, secret, remark);
    for (const src of [
      credentials.workToken(agent),
      credentials.workTicket(agent, 'corp'),
      credentials.workTicket(agent, 'agent'),
    ]) {
      await credentials.invalidate(src, call);
    }
    services.log.log('info', 'agent_registered', {
      corpid: agent.corpid,
      agentid: agent.agentid,
      created,
      replaced,
      caller: call.caller,
    });
    return {
      corpid: agent.corpid,
      agentid: agent.agentid,
      ...(remark === undefined ? {} : { remark }),
      created,
      replaced,
    };
  },
};

/** A Wafer fork alias: the canonical interface's answer in the fork's shape, under the canonical scope. */
function forkAlias(name: string, canonical: InterfaceDef, field: string): InterfaceDef {
  return {
    name,
    aliasOf: canonical.name,
    access: canonical.access,
    async handle(ctx) {
      const d = await canonical.handle(ctx);
      return { corpid: d.corpid, [field]: d[field], exp: d.exp };
    },
  };
}

export const WORK_INTERFACES: readonly InterfaceDef[] = [
  workAccessToken,
  workTicket,
  workAgentTicket,
  workJsapiConfig,
  workRegisterAgent,
  forkAlias('qcloud.work.access_token', workAccessToken, 'access_token'),
  forkAlias('qcloud.work.ticket', workTicket, 'ticket'),
  forkAlias('qcloud.work.agent.ticket', workAgentTicket, 'agent_ticket'),
];
