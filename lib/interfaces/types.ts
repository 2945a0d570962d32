/** What an interface handler gets, and the shape of the interface table. */
import type { Config, RealmConfig } from '../config/types';
import type { CallContext, Clock, Credentials } from '../credentials';
import type { Logger } from '../log/logger';
import type { Store } from '../store/port';

/** Everything a handler may use; built once per cold start. */
export interface Services {
  config: Config;
  credentials: Credentials;
  store: Store;
  clock: Clock;
  log: Logger;
}

export interface InterfaceContext {
  /** The validated object of `para` (with `interface.appid` folded in as `appid`). */
  para: Record<string, unknown>;
  /** The authenticated realm; null for public interfaces and behind a trusted gateway. */
  realm: RealmConfig | null;
  call: CallContext;
  services: Services;
}

/**
 * - public: anybody (web pages, mini-program clients)
 * - realm:  a signed business server, within its realm's apps and interfaces
 * - admin:  a signed admin realm
 */
export type Access = 'public' | 'realm' | 'admin';

export interface InterfaceDef {
  name: string;
  aliases?: string[];
  access: Access;
  handle(ctx: InterfaceContext): Promise<Record<string, unknown>>;
}
