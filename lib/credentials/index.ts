/** The credentials of one deployment: every configured app's sources over one lifecycle manager. */
import type { AppConfig, Config, CosScopeConfig } from '../config/types';
import type { Logger } from '../log/logger';
import type { Store } from '../store/port';
import type { MpClient } from '../wechat/mp';
import type { WorkClient } from '../wechat/work';
import { AgentRegistry, type WorkAgent } from './agents';
import { cosSource, narrowKeysCache, type NarrowKeys } from './cos';
import { CredentialManager, type Clock } from './manager';
import { mpTicketSource, mpTokenSource } from './mp';
import type { TicketType } from '../wechat/mp';
import type { CredentialSource } from './source';
import { workTicketSource, workTokenSource, type WorkTicketKind } from './work';

export { CredentialManager, type Clock, type Credential } from './manager';
export { withAccessToken } from './mp';
export type { CallContext, CredentialSource } from './source';
export type { WorkAgent } from './agents';
export type { WorkTicketKind } from './work';

export interface Credentials {
  manager: CredentialManager;
  token(app: AppConfig): CredentialSource;
  ticket(app: AppConfig, type: TicketType): CredentialSource;
  /** WeCom agents, configured and registered (work.register_agent). */
  agents: AgentRegistry;
  workToken(agent: WorkAgent): CredentialSource;
  workTicket(agent: WorkAgent, kind: WorkTicketKind): CredentialSource;
  /** The cached temporary COS keys of one configured scope (an entry of config.cos.scopes). */
  cos(scope: CosScopeConfig): CredentialSource;
  /** Temporary COS keys for a grant narrower than its configured scope (per-process cache, else STS). */
  cosNarrow: NarrowKeys;
  /** Every credential the configuration implies (tokens first: tickets depend on them). */
  all(): CredentialSource[];
}

export function createCredentials(deps: {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  mp: MpClient;
  work: WorkClient;
}): Credentials {
  const { config } = deps;
  const c = config.credentials;
  const manager = new CredentialManager(
    deps.store,
    deps.clock,
    {
      refreshAheadMs: c.refreshAheadSeconds * 1000,
      localCacheMs: c.localCacheSeconds * 1000,
      leaseMs: c.leaseSeconds * 1000,
      forceCooldownMs: c.forceCooldownSeconds * 1000,
      timeoutMs: config.upstream.timeoutMs,
    },
    deps.log,
  );
  const sources = new Map<string, CredentialSource>();
  const once = (key: string, make: () => CredentialSource) => sources.get(key) ?? sources.set(key, make()).get(key)!;

  const token = (app: AppConfig) => once(`mp:${app.appid}:token`, () => mpTokenSource(app, deps.mp));
  const ticket = (app: AppConfig, type: TicketType) =>
    once(`mp:${app.appid}:ticket:${type}`, () => mpTicketSource(app, type, token(app), manager, deps.mp));
  const agents = new AgentRegistry(config, deps.store, deps.clock, deps.log);
  const workToken = (a: WorkAgent) =>
    once(`work:${a.corpid}:${a.agentid}:token`, () =>
      workTokenSource(
        { corpid: a.corpid, agentid: a.agentid },
        (x) => agents.secret(x),
        deps.work,
        agents.configured(a.corpid, a.agentid),
      ),
    );
  const workTicket = (a: WorkAgent, kind: WorkTicketKind) =>
    once(`work:${a.corpid}:${a.agentid}:${kind}`, () =>
      workTicketSource({ corpid: a.corpid, agentid: a.agentid }, kind, workToken(a), manager, deps.work),
    );

  // One per configured scope, made up front: the set is the configuration's, whatever callers ask.
  const cosSources = new Map((config.cos?.scopes ?? []).map((s) => [s, cosSource(config, s, deps.clock)] as const));
  const cos = (scope: CosScopeConfig) => {
    const src = cosSources.get(scope);
    if (!src) throw new TypeError('credentials.cos takes an entry of config.cos.scopes');
    return src;
  };

  return {
    manager,
    token,
    ticket,
    cos,
    cosNarrow: narrowKeysCache(config, deps.clock),
    agents,
    workToken,
    workTicket,
    all: () => [
      // website apps (type 'web') have no global access_token: only user tokens from OAuth
      ...config.apps.filter((a) => a.type !== 'web').map(token),
      ...config.apps.filter((a) => a.type === 'mp').flatMap((a) => [ticket(a, 'jsapi'), ticket(a, 'wx_card')]),
      // configured WeCom agents (registered ones are refreshed on demand)
      ...config.work.map(workToken),
      ...config.work.flatMap((a) => [workTicket(a, 'corp'), workTicket(a, 'agent')]),
      // COS scopes (refreshed once somebody has asked for them)
      ...cosSources.values(),
    ],
  };
}
