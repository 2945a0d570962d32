/**
 * What the lifecycle needs to know about one credential; the lifecycle itself is in lifecycle.ts.
 * docs/design.md §5, §5.11.
 */

/** Epoch milliseconds; injectable so tests and the simulator share one clock. */
export type Clock = () => number;

/** Per-request bookkeeping shared by every credential a request touches. */
export interface CallContext {
  /** Realm key, 'refresher', 'public' or 'gateway': recorded with each upstream fetch. */
  caller: string;
  /** Upstream calls made on behalf of this request (logged per request). */
  upstreamCalls: number;
  /** performance.now() by which the request must be answered. */
  deadline: number;
}

export interface FetchContext {
  force: boolean;
  /** performance.now() by which what this attempt waits for (a ticket's token) must be there: the refresh's budget. */
  deadline: number;
  /** The timeout for the next upstream call: the whole configured one. Throws when the refresh's budget is over. */
  timeoutMs(): number;
  call: CallContext;
  /**
   * Spend one call of each of the source's hourly budgets, immediately before each upstream call
   * they limit (a retry too); refuses with budget_exhausted, before the call, once one is used up.
   * A budgeted fetch counts as a fetch (daily counters) from its first spend on.
   */
  spend(): Promise<void>;
}

export interface Fetched {
  value: string;
  /** Seconds, as WeChat returned them. */
  expiresIn: number;
}

export interface CredentialSource {
  /** Store key, e.g. 'mp:wx…:token' (docs/design.md §5). */
  key: string;
  /** The app or corp this credential belongs to (realm scoping, status). */
  owner: string;
  /** Who answers its fetches, as messages name it: 'WeChat', 'WeCom', 'Tencent Cloud STS'. */
  service: string;
  /** One upstream attempt; retries and classification are the lifecycle's. */
  fetch(ctx: FetchContext): Promise<Fetched>;
  /**
   * Checked before each attempt, which it may refuse (a CredentialError) before anything is counted
   * as a fetch: what the fetch needs and only the store holds (a verify ticket, an authorization).
   */
  ready?(): Promise<void>;
  /**
   * Whether upstream still accepts `value` (one cheap call with it): checked before a reported
   * value is replaced (mode `stale`). Absent where no such call exists (tickets): reports replace.
   */
  probe?(value: string, timeoutMs: number): Promise<'live' | 'rejected'>;
  /** Fetched by the refresher even before anybody asked for it (tokens yes; tickets only once used). */
  eager: boolean;
  /** Daily budget of upstream fetches (all kinds), when WeChat publishes one. */
  dailyBudget?: number;
  /** Daily budget of forced fetches (stable token: 20), enforced before calling. */
  forceBudget?: number;
  /**
   * Hourly budgets, enforced before calling (WeCom tickets: 100 per app, 400 per corp), counted
   * over this clock hour and the whole previous one (Budgets.spendHourly).
   * `fetch` spends one of each per upstream call it limits (FetchContext.spend); `scope` names the
   * counter, so credentials naming the same scope (a corp's agents) share it.
   */
  hourlyBudgets?: { scope: string; limit: number }[];
  /** When a 45009 answer's block ends; default the next Beijing midnight (WeChat's quotas are daily). */
  quotaResetsAt?(now: number): number;
  /**
   * Whether a 45009 answer blocks every further call until the quota resets (quotaResetsAt). False
   * where the quota that ran out is the forced-refresh one only (stable tokens keep working normally).
   */
  quotaBlocksAll(force: boolean): boolean;
}
