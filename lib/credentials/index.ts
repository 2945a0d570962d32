/**
 * The credentials of one deployment: every configured credential's source over one lifecycle,
 * behind a small face (get, refreshIfDue, invalidate, peek) that interfaces and the refresher use.
 * docs/design.md §5.11.
 */
import type { AppConfig, Config, CosScopeConfig } from '../config/types';
import { secretKindOf } from '../config/wecom-ids';
import type { Logger } from '../log/logger';
import type { MetricsSink } from '../metrics/sink';
import { STORE_TIMEOUT_MS } from '../store/guard';
import type { StoreHealth } from '../store/health';
import type { CredentialRow, Store } from '../store/port';
import { AuthorizerRegistry } from '../third-party/authorizers';
import { type ComponentClient, createComponentClient } from '../third-party/component-api';
import {
  authorizerTokenSource,
  type ComponentConfig,
  componentTokenSource,
} from '../third-party/component-credentials';
import { VerifyTickets } from '../third-party/component-ticket';
import type { MpClient, TicketType } from '../wechat/mp';
import { createSuiteClient, type SuiteClient } from '../third-party/suite-client';
import { Suites } from '../third-party/suites';
import type { WorkClient } from '../wechat/work';
import { AgentRegistry, type WorkAgent } from './agents';
import type { TodayCounts } from './budget';
import { cosSource, type NarrowKeys, narrowKeysCache } from './cos';
import { type Credential, type GetOptions, type LastError, Lifecycle } from './lifecycle';
import { mpTicketSource, mpTokenSource } from './mp';
import { QuotaClears } from './quota';
import type { CallContext, Clock, CredentialSource } from './source';
import { type WorkTicketKind, workTicketSource, workTokenSource } from './work';

export type { WorkAgent } from './agents';
export { type Credential, type GetOptions, type LastError, Lifecycle, type LifecycleOptions } from './lifecycle';
export { withAccessToken } from './mp';
export type { Mode } from './policy';
export type { CallContext, Clock, CredentialSource } from './source';
export type { WorkTicketKind } from './work';

/** An app a request may name: a configured one, or an authorizer of a configured component (`component` set). */
export type App = AppConfig & { component?: string };

/** A deployment's third-party platforms (docs/design.md §19). */
export interface Components {
  /** The component_access_token of a configured component. */
  token(component: ComponentConfig): CredentialSource;
  tickets: VerifyTickets;
  authorizers: AuthorizerRegistry;
  client: ComponentClient;
}

/** What `peek` tells about one credential (the status interface). */
export interface CredentialState {
  row: CredentialRow | null;
  fresh: boolean;
  /** The last failed refresh (any instance's), kept a day. */
  lastError: LastError | null;
  today: TodayCounts;
  hourlyBudgets: { scope: string; limit: number; used: number }[];
}

export interface Credentials {
  /** The credential's current value, refreshed as the mode says (default `read`). */
  get(src: CredentialSource, opts: GetOptions): Promise<Credential>;
  /**
   * The refresher's rule: refresh a credential inside its refresh window; a credential fetched only
   * on demand (a ticket, COS keys) is left alone until somebody has asked for it once.
   */
  refreshIfDue(src: CredentialSource, call: CallContext): Promise<'fresh' | 'unused' | 'refreshed'>;
  /** Drop the stored value, so that every instance fetches anew (a WeCom agent's secret was replaced). */
  invalidate(src: CredentialSource, call: CallContext): Promise<void>;
  /** The stored state and today's use, without refreshing; `callers` are counted one by one. */
  peek(src: CredentialSource, callers: readonly string[]): Promise<CredentialState>;
  /** Since when the store has been failing (clock ms; credentials in memory are served meanwhile); null while it answers. */
  degradedSince(): number | null;

  /** An app's access_token: its own, or an authorizer's authorizer_access_token. */
  token(app: App): CredentialSource;
  ticket(app: App, type: TicketType): CredentialSource;
  components: Components;
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
  /** Clearing an app's daily quota with its secret (quota.clear), 10 a month. */
  quota: QuotaClears;
  /** WeCom third-party apps (suites): their tickets, authorized corps and tokens. */
  suites: Suites;
}

export function createCredentials(deps: {
  config: Config;
  store: Store;
  /** Whether the store answers, shared with the signed calls' nonces. */
  health: StoreHealth;
  clock: Clock;
  log: Logger;
  mp: MpClient;
  work: WorkClient;
  /** WeCom's service-provider endpoints; default on config.upstream.work. */
  suite?: SuiteClient;
  /** Counts refreshes and lease waits. */
  metrics?: MetricsSink;
  /** Default: a client on config.upstream.mp. */
  component?: ComponentClient;
}): Credentials {
  const { config, clock } = deps;
  const c = config.credentials;
  const realmAllowance = new Map(config.realms.map((r) => [r.key, r.forceAllowance]));
  const lifecycle = new Lifecycle(
    deps.store,
    clock,
    {
      refreshAheadMs: c.refreshAheadSeconds * 1000,
      localCacheMs: c.localCacheSeconds * 1000,
      leaseMs: c.leaseSeconds * 1000,
      forceCooldownMs: c.forceCooldownSeconds * 1000,
      timeoutMs: config.upstream.timeoutMs,
      budgetMs: config.upstream.budgetMs,
      storeTimeoutMs: STORE_TIMEOUT_MS,
      forceAllowance: (caller) => realmAllowance.get(caller) ?? undefined,
      metrics: deps.metrics,
    },
    deps.log,
    deps.health,
  );
  const sources = new Map<string, CredentialSource>();
  const once = (key: string, make: () => CredentialSource) => sources.get(key) ?? sources.set(key, make()).get(key)!;

  const componentClient = deps.component ?? createComponentClient(config.upstream.mp);
  const tickets = new VerifyTickets(config, deps.store, deps.log);
  const authorizers = new AuthorizerRegistry(config, deps.store, clock, deps.log);
  const componentToken = (c: ComponentConfig) =>
    once(`component:${c.appid}:token`, () => componentTokenSource(c, tickets, componentClient, clock));
  const token = (app: App) =>
    once(`mp:${app.appid}:token`, () =>
      app.component === undefined
        ? mpTokenSource(app, deps.mp)
        : authorizerTokenSource(app.appid, {
            config,
            registry: authorizers,
            componentToken,
            lifecycle,
            client: componentClient,
            mp: deps.mp,
          }),
    );
  const ticket = (app: App, type: TicketType) =>
    once(`mp:${app.appid}:ticket:${type}`, () => mpTicketSource(app, type, token(app), lifecycle, deps.mp));
  const agents = new AgentRegistry(config, deps.store, clock, deps.log);
  const suites = new Suites({
    config,
    store: deps.store,
    clock,
    log: deps.log,
    client: deps.suite ?? createSuiteClient(config.upstream.work),
    work: deps.work,
    lifecycle,
    cacheMs: c.localCacheSeconds * 1000,
    timeoutMs: config.upstream.timeoutMs,
  });
  const workToken = (a: WorkAgent): CredentialSource =>
    a.suiteId !== undefined
      ? suites.corpToken({ ...a, suiteId: a.suiteId })
      : once(`work:${a.corpid}:${a.agentid}:token`, () =>
          workTokenSource(
            { corpid: a.corpid, agentid: a.agentid },
            (x) => agents.secret(x),
            deps.work,
            agents.configured(a.corpid, a.agentid),
          ),
        );
  const workTicket = (a: WorkAgent, kind: WorkTicketKind) => {
    // The interfaces refuse first, with a clear answer; this is the lifecycle's own guard.
    if (secretKindOf(a.agentid) !== 'agent') throw new TypeError(`${a.agentid} secrets have no JS-SDK tickets`);
    return once(`work:${a.corpid}:${a.agentid}:${kind}`, () =>
      workTicketSource({ corpid: a.corpid, agentid: a.agentid }, kind, workToken(a), lifecycle, deps.work),
    );
  };

  // One per configured scope, made up front: the set is the configuration's, whatever callers ask.
  const cosSources = new Map((config.cos?.scopes ?? []).map((s) => [s, cosSource(config, s, clock)] as const));
  const cos = (scope: CosScopeConfig) => {
    const src = cosSources.get(scope);
    if (!src) throw new TypeError('credentials.cos takes an entry of config.cos.scopes');
    return src;
  };

  const quota = new QuotaClears({
    store: deps.store,
    clock,
    log: deps.log,
    mp: deps.mp,
    lifecycle,
    timeoutMs: config.upstream.timeoutMs,
    // website apps have no token; only Official Accounts have tickets
    sourcesOf: (app) =>
      app.type === 'web'
        ? []
        : [token(app), ...(app.type === 'mp' ? [ticket(app, 'jsapi'), ticket(app, 'wx_card')] : [])],
  });

  return {
    quota,
    suites,
    get: (src, opts) => lifecycle.get(src, opts),
    async refreshIfDue(src, call) {
      const row = await lifecycle.peek(src.key);
      if (row && lifecycle.isFresh(row, clock())) return 'fresh';
      if (!src.eager && (!row || row.value === '')) return 'unused';
      const before = call.upstreamCalls;
      await lifecycle.get(src, { mode: 'scheduled', call });
      return call.upstreamCalls > before ? 'refreshed' : 'fresh';
    },
    invalidate: (src, call) => lifecycle.invalidate(src.key, call),
    async peek(src, callers) {
      const [row, today, hourlyBudgets, lastError] = await Promise.all([
        lifecycle.peek(src.key),
        lifecycle.budgets.countsToday(src.key, callers),
        lifecycle.budgets.hourlyUse(src),
        lifecycle.lastError(src.key),
      ]);
      return { row, fresh: !!row && lifecycle.isFresh(row, clock()), lastError, today, hourlyBudgets };
    },
    degradedSince: () => lifecycle.health.since(),
    token,
    ticket,
    components: { token: componentToken, tickets, authorizers, client: componentClient },
    cos,
    cosNarrow: narrowKeysCache(config, clock),
    agents,
    workToken,
    workTicket,
    all: () => [
      // website apps (type 'web') have no global access_token: only user tokens from OAuth
      ...config.apps.filter((a) => a.type !== 'web').map(token),
      ...config.apps.filter((a) => a.type === 'mp').flatMap((a) => [ticket(a, 'jsapi'), ticket(a, 'wx_card')]),
      // configured WeCom agents (registered ones are refreshed on demand)
      ...config.work.map(workToken),
      ...config.work.filter((a) => a.kind === 'agent').flatMap((a) => [workTicket(a, 'corp'), workTicket(a, 'agent')]),
      // WeCom suites' tokens (refreshed once somebody has asked for them)
      ...config.suites.map((s) => suites.token(s)),
      // COS scopes (refreshed once somebody has asked for them)
      ...cosSources.values(),
      // components' tokens (once used); authorizers' tokens are refreshed ahead beside requests (§19)
      ...config.components.map(componentToken),
    ],
  };
}
