/**
 * The scheduled refresh (DESIGN §5.9): every configured credential inside its refresh window
 * is refreshed through the same lifecycle as requests, so requests almost never meet an
 * expired value. Tokens go first: tickets are fetched with them.
 */
import { performance } from 'node:perf_hooks';
import type { CredentialSource } from '../credentials';
import { toApiError, type Services } from '../interfaces';
import type { RefreshReport } from './http';

export async function refreshAll(services: Services): Promise<RefreshReport> {
  const report: RefreshReport = { checked: 0, refreshed: 0, failed: [] };
  const all = services.credentials.all();
  const tokens = all.filter((s) => s.eager);
  await Promise.all(tokens.map((src) => refreshOne(services, src, report)));
  await Promise.all(all.filter((s) => !s.eager).map((src) => refreshOne(services, src, report)));
  services.log.log('info', 'refresh_run', {
    checked: report.checked,
    refreshed: report.refreshed,
    failed: report.failed.length,
  });
  return report;
}

async function refreshOne(services: Services, src: CredentialSource, report: RefreshReport): Promise<void> {
  const { manager } = services.credentials;
  report.checked++;
  const call = {
    caller: 'refresher',
    upstreamCalls: 0,
    deadline: performance.now() + services.config.upstream.budgetMs,
  };
  try {
    const row = await manager.peek(src.key);
    if (row && manager.isFresh(row, services.clock())) return;
    if (!src.eager && (!row || row.value === '')) return; // a ticket nobody has asked for yet
    await manager.refresh(src, call);
    if (call.upstreamCalls > 0) report.refreshed++;
  } catch (err) {
    const e = toApiError(err);
    report.failed.push({ key: src.key, reason: e.errcode === undefined ? e.code : `${e.code} (errcode ${e.errcode})` });
  }
}
