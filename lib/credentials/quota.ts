/**
 * Clearing an app's daily API quota with its appsecret (cgi-bin/clear_quota/v2, docs/protocol.md
 * §1.9): 10 clears a month per account, counted here per Beijing calendar month before calling, so
 * a mistaken loop cannot spend the month's chances; a successful clear ends the app's 45009
 * breakers. docs/design.md §5.12.
 */
import type { AppConfig } from '../config/types';
import type { Logger } from '../log/logger';
import { guardStore } from '../store/guard';
import type { Store } from '../store/port';
import { parseJsonObject } from '../store/row';
import type { MpClient } from '../wechat/mp';
import { WechatError } from '../wechat/errors';
import { beijingMonth, nextBeijingMonth } from './day';
import { CredentialError, storeUnavailable } from './errors';
import type { Lifecycle } from './lifecycle';
import type { CallContext, Clock, CredentialSource } from './source';

/** WeChat's limit: clear_quota and clear_quota/v2 together, per account and month (48006 beyond). */
export const QUOTA_CLEARS_PER_MONTH = 10;
/** WeChat's answer once the month's clears are used up. */
const LIMIT_REACHED = 48006;
/** Counters outlive their month by this much (status reads last month's never; the slack is for clock skew). */
const MONTH_SLACK_MS = 7 * 86_400_000;
/** The last clear is remembered this long (status shows it). */
const LAST_KEPT_MS = 400 * 86_400_000;

export interface QuotaClearState {
  appid: string;
  /** The Beijing month counted, 'YYYY-MM'. */
  month: string;
  /** Clears made (or under way) this month, as counted here; WeChat's 48006 sets it to the limit. */
  used: number;
  limit: number;
  /** Clock ms of the last successful clear (any instance's), or null. */
  lastClearAt: number | null;
}

const countKey = (appid: string, month: string) => `quota-clear:${appid}:${month}`;
const lastKey = (appid: string) => `quota-clear:${appid}:last`;

export class QuotaClears {
  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      log: Logger;
      mp: MpClient;
      lifecycle: Pick<Lifecycle, 'unblock' | 'toCredentialError'>;
      timeoutMs: number;
      /** The credentials of the app whose breakers a clear ends (token and tickets). */
      sourcesOf(app: AppConfig): CredentialSource[];
    },
  ) {}

  /**
   * Clear the app's quota: one of this month's clears is taken first (refused with
   * budget_exhausted once they are used), given back when WeChat answers with an error (nothing
   * was cleared), kept when the answer never came (it may have been). Success ends the breakers.
   */
  async clear(app: AppConfig, call: CallContext): Promise<QuotaClearState & { unblocked: string[] }> {
    const { store, clock, log, mp } = this.deps;
    const now = clock();
    const month = beijingMonth(now);
    const key = countKey(app.appid, month);
    const expires = nextBeijingMonth(now) + MONTH_SLACK_MS;
    const used = await this.guard(() => store.increment(key, 1, expires, now));
    if (used > QUOTA_CLEARS_PER_MONTH) {
      await this.guard(() => store.increment(key, -1, expires, now));
      throw new CredentialError(
        'budget_exhausted',
        `${app.appid}: the ${QUOTA_CLEARS_PER_MONTH} quota clears WeChat allows per month are used for ${month} (Beijing time); the next is possible from ${new Date(nextBeijingMonth(now)).toISOString()}`,
      );
    }
    call.upstreamCalls++;
    try {
      await mp.clearQuota(app.appid, app.secret, this.deps.timeoutMs);
    } catch (err) {
      if (err instanceof WechatError && err.errcode === LIMIT_REACHED) {
        // WeChat counts clears made elsewhere too (the console, clear_quota with a token): ours catches up.
        await this.guard(() => store.increment(key, QUOTA_CLEARS_PER_MONTH - used, expires, now));
        throw new CredentialError(
          'quota_exhausted',
          `clear_quota/v2 for ${app.appid} answered errcode ${LIMIT_REACHED}: WeChat counts this month's ${QUOTA_CLEARS_PER_MONTH} clears as used`,
          LIMIT_REACHED,
        );
      }
      if (err instanceof WechatError) await this.guard(() => store.increment(key, -1, expires, now));
      throw this.deps.lifecycle.toCredentialError(err, {
        key: `mp:${app.appid}:quota`,
        owner: app.appid,
        service: 'WeChat',
      });
    }
    const at = clock();
    await this.guard(() => store.putRecord(lastKey(app.appid), JSON.stringify({ at }), at + LAST_KEPT_MS, at));
    const unblocked: string[] = [];
    for (const src of this.deps.sourcesOf(app)) if (await this.deps.lifecycle.unblock(src)) unblocked.push(src.key);
    log.log('info', 'quota_cleared', { appid: app.appid, month, used, unblocked, caller: call.caller });
    return { appid: app.appid, month, used, limit: QUOTA_CLEARS_PER_MONTH, lastClearAt: at, unblocked };
  }

  /** This month's count and the last clear, for status. */
  async state(appid: string): Promise<QuotaClearState> {
    const { store, clock } = this.deps;
    const now = clock();
    const month = beijingMonth(now);
    const [used, last] = await Promise.all([
      this.guard(() => store.increment(countKey(appid, month), 0, nextBeijingMonth(now) + MONTH_SLACK_MS, now)),
      this.guard(() => store.getRecord(lastKey(appid), now)),
    ]);
    const at = last === null ? undefined : parseJsonObject(last)?.at;
    return { appid, month, used, limit: QUOTA_CLEARS_PER_MONTH, lastClearAt: typeof at === 'number' ? at : null };
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    return guardStore(this.deps.log, op, storeUnavailable);
  }
}
