/** Admin interfaces: the state of every credential against WeChat's budgets. */
import type { InterfaceDef } from './types';

const seconds = (ms: number) => (ms > 0 ? Math.floor(ms / 1000) : null);

export const status: InterfaceDef = {
  name: 'status',
  access: 'admin',
  async handle({ services }) {
    const { manager } = services.credentials;
    const now = services.clock();
    const callers = [...services.config.realms.map((r) => r.key), 'refresher', 'public', 'gateway'];
    const credentials = [];
    for (const src of services.credentials.all()) {
      const row = await manager.peek(src.key);
      const today = await manager.countsToday(src.key, callers);
      credentials.push({
        key: src.key,
        owner: src.owner,
        present: !!row && row.value !== '',
        fresh: !!row && manager.isFresh(row, now),
        exp: seconds(row?.expiresAt ?? 0),
        refreshedAt: seconds(row?.refreshedAt ?? 0),
        forcedAt: seconds(row?.forcedAt ?? 0),
        version: row?.version ?? 0,
        refreshing: !!row && row.leaseUntil > now,
        blockedUntil: row && row.blockedUntil > now ? seconds(row.blockedUntil) : null,
        today: {
          fetches: today.refresh.total + today.force.total + today.rejected.total,
          ...today,
          dailyBudget: src.dailyBudget ?? null,
          forceBudget: src.forceBudget ?? null,
        },
        hourlyBudgets: await manager.hourlyUse(src),
      });
    }
    return { now: seconds(now), store: services.store.kind, credentials };
  },
};
