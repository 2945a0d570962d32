/**
 * `wecred status` as a table: each credential's state, expiry, last refresh, today's fetches and budgets.
 * docs/design.md §3.2, §18.
 */
import type { CredentialStatus, FetchReason, StatusData } from '../../client/src/interfaces';

const REASONS: FetchReason[] = ['refresh', 'force', 'rejected'];

/** `2h 5m`, `45s`: a duration in seconds, two units at most. */
export function duration(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  return m > 0 ? `${m}m` : `${s}s`;
}

const until = (now: number, at: number | null) =>
  at === null ? '-' : at > now ? `in ${duration(at - now)}` : `${duration(now - at)} ago`;

function state(c: CredentialStatus, now: number): string {
  const base =
    c.blockedUntil !== null
      ? `blocked ${until(now, c.blockedUntil)}`
      : !c.present
        ? 'none'
        : c.fresh
          ? 'fresh'
          : 'stale';
  return c.refreshing ? `${base}, refreshing` : base;
}

/** `3: refresh 2 (biz 1, refresher 1), force 1 (ops 1)`, or `0`. */
function today(c: CredentialStatus): string {
  const parts = REASONS.filter((r) => c.today[r].total > 0).map((r) => {
    const callers = Object.entries(c.today[r].byCaller).map(([caller, n]) => `${caller} ${n}`);
    return `${r} ${c.today[r].total}${callers.length ? ` (${callers.join(', ')})` : ''}`;
  });
  return parts.length ? `${c.today.fetches}: ${parts.join(', ')}` : '0';
}

function budgets(c: CredentialStatus): string {
  const parts: string[] = [];
  if (c.today.dailyBudget !== null) parts.push(`day ${c.today.fetches}/${c.today.dailyBudget}`);
  if (c.today.forceBudget !== null) parts.push(`force ${c.today.force.total}/${c.today.forceBudget}`);
  for (const h of c.hourlyBudgets) parts.push(`hour ${h.used}/${h.limit} ${h.scope}`);
  return parts.length ? parts.join(', ') : '-';
}

export function renderStatus(data: StatusData): string {
  const rows = [
    ['CREDENTIAL', 'STATE', 'EXPIRES', 'REFRESHED', 'FETCHES TODAY', 'BUDGETS'],
    ...data.credentials.map((c) => [
      c.key,
      state(c, data.now),
      until(data.now, c.exp),
      until(data.now, c.refreshedAt),
      today(c),
      budgets(c),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  const at = new Date(data.now * 1000).toISOString().replace('.000Z', 'Z');
  return [`store ${data.store}, server time ${at}`, '', ...lines, ''].join('\n');
}
