/** Admin interfaces: the state of every credential against WeChat's budgets. */
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
      const { row, fresh, today, hourlyBudgets } = await services.credentials.peek(src, callers);
      credentials.push({
        key: src.key,
        owner: src.owner,
        present: !!row && row.value !== '',
        fresh,
        exp: seconds(row?.expiresAt ?? 0),
        refreshedAt: seconds(row?.refreshedAt ?? 0),
        forcedAt: seconds(row?.forcedAt ?? 0),
        version: row?.version ?? 0,
        refreshing: !!row && row.leaseOwner !== '',
        blockedUntil: row && row.blockedUntil > now ? seconds(row.blockedUntil) : null,
        // failed refreshes in a row, and when the next attempt may be made
        failures: row?.failures ?? 0,
        heldUntil: row && row.retryAt > now ? seconds(row.retryAt) : null,
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
