/**
 * The component_verify_ticket WeChat pushes every 10 minutes, kept sealed in the store
 * (`component:<appid>:verify_ticket`): the one with the latest CreateTime wins, so a late or
 * replayed older push never replaces a newer ticket. docs/design.md §19.
 */
import type { Config } from '../config/types';
import { CredentialError, storeUnavailable } from '../credentials/errors';
import type { Logger } from '../log/logger';
import { guardStore } from '../store/guard';
import type { Store } from '../store/port';
import { parseJsonObject } from '../store/row';
import { NEVER } from '../store/listed';
import { sealerFor } from './sealed';

/** WeChat: a verify ticket stays valid 12 hours (docs/protocol.md §11.1). */
export const VERIFY_TICKET_TTL_MS = 12 * 3_600_000;

const keyOf = (component: string) => `component:${component}:verify_ticket`;

export class VerifyTickets {
  private readonly sealer;

  constructor(
    config: Pick<Config, 'masterKey'>,
    private readonly store: Store,
    private readonly log: Logger,
  ) {
    this.sealer = sealerFor(config);
  }

  /** Keep `ticket` unless a ticket with a later CreateTime is stored; whether it was kept. */
  async save(component: string, ticket: string, createTime: number, now: number): Promise<boolean> {
    const before = await this.read(component, now);
    if (before && before.createTime >= createTime) return false;
    const sealed = this.sealer.seal(ticket, `${keyOf(component)}:ticket`);
    const text = JSON.stringify({ v: 1, ticket: sealed, createTime, receivedAt: now });
    await this.guard(() => this.store.putRecord(keyOf(component), text, NEVER, now));
    return true;
  }

  /** The latest ticket, or a clear refusal when none was received or it is older than 12 hours. */
  async current(component: string, now: number): Promise<string> {
    const rec = await this.read(component, now);
    if (!rec)
      throw new CredentialError(
        'no_pushed_ticket',
        `no component_verify_ticket for ${component} has been received yet: WeChat pushes one every 10 minutes to /wechat/component/${component}`,
      );
    if (now - rec.createTime * 1000 >= VERIFY_TICKET_TTL_MS)
      throw new CredentialError(
        'no_pushed_ticket',
        `the latest component_verify_ticket for ${component} is more than 12 hours old: check that WeChat reaches /wechat/component/${component}`,
      );
    return this.sealer.open(rec.ticket, `${keyOf(component)}:ticket`, `the stored verify ticket of ${component}`);
  }

  /** When the stored ticket was created (unix seconds), for status; undefined when none. */
  async createdAt(component: string, now: number): Promise<number | undefined> {
    return (await this.read(component, now))?.createTime;
  }

  private async read(component: string, now: number): Promise<{ ticket: string; createTime: number } | undefined> {
    const text = await this.guard(() => this.store.getRecord(keyOf(component), now));
    const r = text === null ? null : parseJsonObject(text);
    if (!r || typeof r.ticket !== 'string' || typeof r.createTime !== 'number') return undefined;
    return { ticket: r.ticket, createTime: r.createTime };
  }

  private guard<T>(op: () => Promise<T>): Promise<T> {
    return guardStore(this.log, op, storeUnavailable);
  }
}
