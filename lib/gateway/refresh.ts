/**
 * The scheduled refresh (docs/design.md §5.9): every configured credential inside its refresh
 * window is refreshed through the same lifecycle as requests; tokens first, tickets need them.
 */
import { performance } from 'node:perf_hooks';
import type { CredentialSource } from '../credentials';
import { type Services, toApiError } from '../interfaces';
import type { RefreshReport } from './http';

export async function refreshAll(services: Services): Promise<RefreshReport> {
  const report: RefreshReport = { checked: 0, refreshed: 0, failed: [] };
  const all = services.credentials.all();
  await Promise.all(all.filter((s) => s.eager).map((src) => refreshOne(services, src, report)));
  await Promise.all(all.filter((s) => !s.eager).map((src) => refreshOne(services, src, report)));
  services.log.log('info', 'refresh_run', {
    checked: report.checked,
    refreshed: report.refreshed,
    failed: report.failed.length,
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
