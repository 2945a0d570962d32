/**
 * The conditions an operator is told about (docs/design.md §17), read from the credentials' state
 * as status shows it: a refresh that failed with nothing usable left, a configuration fault
 * (with the IP to allow-list), a daily quota or hourly budget past 80 %.
 */

/** What the alerts read of one credential. */
export interface Observed {
  key: string;
  owner: string;
  /** A value that still works is stored. */
  usable: boolean;
  /** The last failed refresh, when no refresh succeeded since. */
  failure: { code: string; errcode?: number; message: string; ip?: string } | null;
  /** Each budget the credential spends, with today's (or this hour's) use. */
  budgets: { scope: string; period: 'day' | 'hour'; used: number; limit: number }[];
}

/** One message line's worth: a condition that fires, or one that was announced and has ended. */
export interface AlertItem {
  /** Stable name of the condition: `refresh:<credential key>` or `budget:<scope>`. */
  condition: string;
  status: 'firing' | 'resolved';
  kind: 'failing' | 'config_fault' | 'budget';
  /** The credential key or the budget's scope. */
  subject: string;
  owner?: string;
  errcode?: number;
  /** The IP to allow-list. */
  ip?: string;
  /** One sentence, never a secret: the failure's message, or the budget's use. */
  detail: string;
}

/** A budget fires at this share. */
export const BUDGET_ALERT_SHARE = 0.8;

/** The conditions firing now, and every condition that could fire (to tell which ones ended). */
export function evaluate(observed: readonly Observed[]): { firing: AlertItem[]; watched: Map<string, AlertItem> } {
  const firing: AlertItem[] = [];
  const watched = new Map<string, AlertItem>();
  for (const c of observed) {
    const refresh = `refresh:${c.key}`;
    watched.set(refresh, {
      condition: refresh,
      status: 'resolved',
      kind: 'failing',
      subject: c.key,
      owner: c.owner,
      detail: 'recovered',
    });
    const f = c.failure;
    if (f && (f.code === 'config_fault' || !c.usable)) {
      firing.push({
        condition: refresh,
        status: 'firing',
        kind: f.code === 'config_fault' ? 'config_fault' : 'failing',
        subject: c.key,
        owner: c.owner,
        ...(f.errcode === undefined ? {} : { errcode: f.errcode }),
        ...(f.ip === undefined ? {} : { ip: f.ip }),
        detail: f.message,
      });
    }
    for (const b of c.budgets) {
      const condition = `budget:${b.scope}`;
      if (watched.has(condition)) continue; // a budget shared by several credentials (a corp's agents)
      watched.set(condition, {
        condition,
        status: 'resolved',
        kind: 'budget',
        subject: b.scope,
        detail: 'back under 80 %',
      });
      if (b.limit > 0 && b.used >= b.limit * BUDGET_ALERT_SHARE) {
        const period = b.period === 'day' ? 'today' : 'in the last hour';
        firing.push({
          condition,
          status: 'firing',
          kind: 'budget',
          subject: b.scope,
          detail: `${b.used} of ${b.limit} calls used ${period} (${Math.floor((b.used / b.limit) * 100)} %)`,
        });
      }
    }
  }
  return { firing, watched };
}
