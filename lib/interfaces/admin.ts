/**
 * Admin interfaces: the state of every credential against WeChat's budgets, and of the store. docs/design.md §3.2, §18.
 */
import { performance } from 'node:perf_hooks';
import type { CredentialSource, LastError } from '../credentials';
import { STORE_TIMEOUT_MS } from '../store/guard';
import type { CredentialRow } from '../store/port';
import { resolveApp } from './apps';
import { ApiError } from './errors';
import { requiredString } from './para';
import type { InterfaceDef, Services } from './types';

const seconds = (ms: number) => (ms > 0 ? Math.floor(ms / 1000) : null);

export type CredentialStatus = Awaited<ReturnType<typeof credentialStates>>[number];

export const status: InterfaceDef = {
  name: 'status',
  access: 'admin',
  async handle({ services }) {
    const storeRoundTripMs = await storeRoundTrip(services);
    const credentials = await credentialStates(services);
    const quotaClears = await Promise.all(
      services.config.apps.map(async (a) => {
        const q = await services.credentials.quota.state(a.appid);
        return { ...q, lastClearAt: q.lastClearAt && seconds(q.lastClearAt) };
      }),
    );
    const degraded = services.credentials.degradedSince();
    return {
      now: seconds(services.clock()),
      store: services.store.kind,
      storeRoundTripMs,
      degradedSince: degraded && seconds(degraded),
      refreshAheadSeconds: services.config.credentials.refreshAheadSeconds,
      credentials,
      quotaClears,
    };
  },
};

/**
 * Clear an app's daily API quota with its appsecret (WeChat's clear_quota/v2), for when 45009 says
 * it is spent, the token's too: counted against WeChat's 10 a month before calling; on success the
 * app's credentials are no longer refused (docs/design.md §5.12).
 */
export const quotaClear: InterfaceDef = {
  name: 'quota.clear',
  access: 'admin',
  async handle({ para, realm, call, services }) {
    const app = await resolveApp(services, realm, requiredString(para, 'appid', 32), ['mp', 'mina', 'web']);
    // clear_quota/v2 takes the app's own secret, which an authorizer's third-party platform never holds.
    if (app.component)
      throw new ApiError(
        'bad_para',
        `${app.appid} is an authorizer of component ${app.component}: wecred holds no appsecret to clear its quota with`,
      );
    const done = await services.credentials.quota.clear(app, call);
    return { ...done, lastClearAt: seconds(done.lastClearAt ?? 0) };
  },
};

/** One read of the store, timed (ms, one decimal); 7201 when it does not answer. */
export async function storeRoundTrip(services: Services): Promise<number> {
  const started = performance.now();
  try {
    await services.storeHealth.call(() => services.store.getRecord('status:probe', services.clock()), STORE_TIMEOUT_MS);
  } catch {
    throw new ApiError('store_unavailable', `the store (${services.store.kind}) did not answer`);
  }
  return Math.round((performance.now() - started) * 10) / 10;
}

/**
 * Every credential's stored state, last failure, today's use and budgets, registered WeCom agents'
 * included: what status, GET /metrics and the alerts read.
 */
export async function credentialStates(services: Services) {
  const now = services.clock();
  const callers = [...services.config.realms.map((r) => r.key), 'refresher', 'public', 'gateway'];
  const { credentials: creds } = services;
  // Agents registered at run time (work.register_agent) have their token and tickets too.
  // So have the corps that authorized a configured suite.
  const registered = [...(await creds.agents.registered()), ...(await creds.suites.authorized())].flatMap((a) => [
    creds.workToken(a),
    creds.workTicket(a, 'corp'),
    creds.workTicket(a, 'agent'),
  ]);
  const credentials = [];
  for (const src of [...creds.all(), ...registered]) {
    const { row, fresh, lastError, today, hourlyBudgets } = await services.credentials.peek(src, callers);
    const failedSince = lastError && lastError.at >= (row?.refreshedAt ?? 0) ? lastError : null;
    credentials.push({
      key: src.key,
      owner: src.owner,
      appType: appTypeOf(services, src),
      present: !!row && row.value !== '',
      usable: !!row && row.value !== '' && row.expiresAt > now,
      fresh,
      state: stateOf(row, fresh, failedSince, now),
      exp: seconds(row?.expiresAt ?? 0),
      refreshedAt: seconds(row?.refreshedAt ?? 0),
      forcedAt: seconds(row?.forcedAt ?? 0),
      version: row?.version ?? 0,
      refreshing: !!row && row.leaseOwner !== '',
      blockedUntil: row && row.blockedUntil > now ? seconds(row.blockedUntil) : null,
      // failed refreshes in a row, and when the next attempt may be made
      failures: row?.failures ?? 0,
      heldUntil: row && row.retryAt > now ? seconds(row.retryAt) : null,
      // the last failure (any instance's, kept a day); current: no refresh succeeded since
      lastError: lastError && { ...lastError, at: seconds(lastError.at), current: failedSince !== null },
      today: {
        fetches: today.refresh.total + today.force.total + today.rejected.total,
        ...today,
        dailyBudget: src.dailyBudget ?? null,
        forceBudget: src.forceBudget ?? null,
      },
      hourlyBudgets,
    });
  }
  return credentials;
}

/** What kind of app a credential belongs to: an Official Account, a Mini Program, a WeCom app, COS, or a third-party platform. */
function appTypeOf(services: Services, src: CredentialSource): 'mp' | 'mina' | 'web' | 'work' | 'cos' | 'component' {
  if (src.key.startsWith('work:') || src.key.startsWith('suite:')) return 'work';
  if (src.key.startsWith('component:')) return 'component';
  if (src.key.startsWith('cos:')) return 'cos';
  return services.config.apps.find((a) => a.appid === src.owner)?.type ?? 'mp';
}

/**
 * One word for a credential: refused (WeChat's quota is gone, or the last refresh failed on the
 * configuration), failing (the last refresh failed), refreshing (a lease is held), fresh, due
 * (inside its refresh window) or absent.
 */
function stateOf(
  row: CredentialRow | null,
  fresh: boolean,
  failed: LastError | null,
  now: number,
): 'refused' | 'failing' | 'refreshing' | 'fresh' | 'due' | 'absent' {
  if (row && row.blockedUntil > now) return 'refused';
  if (failed) return failed.code === 'config_fault' || failed.code === 'quota_exhausted' ? 'refused' : 'failing';
  if (row && row.leaseOwner !== '') return 'refreshing';
  if (fresh) return 'fresh';
  return row && row.value !== '' ? 'due' : 'absent';
}
