/**
 * The scheduled refresh (docs/design.md §5.9): every configured credential inside its refresh
 * window is refreshed through the same lifecycle as requests; tokens first, tickets need them.
 * Then the alerts are told what state that left (§17).
 */
import { performance } from 'node:perf_hooks';
import type { Observed } from '../alerts';
import type { CredentialSource } from '../credentials';
import { type Services, toApiError } from '../interfaces';
import { type CredentialStatus, credentialStates } from '../interfaces/admin';
import type { RefreshReport } from './http';

export async function refreshAll(services: Services): Promise<RefreshReport> {
  const report: RefreshReport = { checked: 0, refreshed: 0, failed: [] };
  const all = services.credentials.all();
  await Promise.all(all.filter((s) => s.eager).map((src) => refreshOne(services, src, report)));
  await Promise.all(all.filter((s) => !s.eager).map((src) => refreshOne(services, src, report)));
  const alerts = services.alerts ? await alert(services) : 0;
  services.log.log('info', 'refresh_run', {
    checked: report.checked,
    refreshed: report.refreshed,
    failed: report.failed.length,
    ...(services.alerts ? { alerts } : {}),
  });
  return report;
}

async function refreshOne(services: Services, src: CredentialSource, report: RefreshReport): Promise<void> {
  report.checked++;
  const call = {
    caller: 'refresher',
    upstreamCalls: 0,
    deadline: performance.now() + services.config.upstream.budgetMs,
  };
  try {
    if ((await services.credentials.refreshIfDue(src, call)) === 'refreshed') report.refreshed++;
  } catch (err) {
    const e = toApiError(err);
    report.failed.push({ key: src.key, reason: e.errcode === undefined ? e.code : `${e.code} (errcode ${e.errcode})` });
  }
}

/** Post what fires and what ended; the messages sent (0 when the state could not be read). */
async function alert(services: Services): Promise<number> {
  try {
    return await services.alerts!.run((await credentialStates(services)).map(observed));
  } catch (err) {
    services.log.log('warn', 'alert_failed', { error: toApiError(err).code });
    return 0;
  }
}

/** What the alerts read of a credential's status. */
function observed(c: CredentialStatus): Observed {
  const { today } = c;
  const budgets: Observed['budgets'] = c.hourlyBudgets.map((b) => ({ ...b, period: 'hour' }));
  if (today.dailyBudget !== null)
    budgets.push({ scope: `daily:${c.key}`, period: 'day', used: today.fetches, limit: today.dailyBudget });
  if (today.forceBudget !== null) {
    const used = today.force.total + today.rejected.total;
    budgets.push({ scope: `force:${c.key}`, period: 'day', used, limit: today.forceBudget });
  }
  return { key: c.key, owner: c.owner, usable: c.usable, failure: c.lastError?.current ? c.lastError : null, budgets };
}
