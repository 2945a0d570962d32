/** Admin interfaces: the state of every credential against WeChat's budgets. */
import type { LastError } from '../credentials';
import type { CredentialRow } from '../store/port';
import type { InterfaceDef } from './types';

const seconds = (ms: number) => (ms > 0 ? Math.floor(ms / 1000) : null);

export const status: InterfaceDef = {
  name: 'status',
  access: 'admin',
  async handle({ services }) {
    const now = services.clock();
    const callers = [...services.config.realms.map((r) => r.key), 'refresher', 'public', 'gateway'];
    const credentials = [];
    for (const src of services.credentials.all()) {
      const { row, fresh, lastError, today, hourlyBudgets } = await services.credentials.peek(src, callers);
      const failedSince = lastError && lastError.at >= (row?.refreshedAt ?? 0) ? lastError : null;
      credentials.push({
        key: src.key,
        owner: src.owner,
        present: !!row && row.value !== '',
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
        lastError: lastError && { ...lastError, at: seconds(lastError.at) },
        today: {
          fetches: today.refresh.total + today.force.total + today.rejected.total,
          ...today,
          dailyBudget: src.dailyBudget ?? null,
          forceBudget: src.forceBudget ?? null,
        },
        hourlyBudgets,
      });
    }
    const degraded = services.credentials.degradedSince();
    return { now: seconds(now), store: services.store.kind, degradedSince: degraded && seconds(degraded), credentials };
  },
};

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
