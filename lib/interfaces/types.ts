/** What an interface handler gets, and the shape of the interface table. docs/design.md §3.2. */
import type { Alerter } from '../alerts';
import type { Config, RealmConfig } from '../config/types';
import type { CallContext, Clock, Credentials } from '../credentials';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics';
import type { MinaSessions } from '../sessions/mina';
import type { StoreHealth } from '../store/health';
import type { Store } from '../store/port';

/** Everything a handler may use; built once per cold start. */
export interface Services {
  config: Config;
  credentials: Credentials;
  /** Mini Program sessions (session.* interfaces). */
  sessions: MinaSessions;
  store: Store;
  /** Whether the store answers (shared by the credentials and the signed calls' nonces). */
  storeHealth: StoreHealth;
  clock: Clock;
  log: Logger;
  /** Receives WeChat's message pushes (POST /wechat/:appid); unset: one log line per push. */
  onMessage?: MessageHook;
  /** This process's figures; unset when metrics are off (config.metrics). */
  metrics?: Metrics;
  /** Where the refresher posts alerts; unset when none is configured (config.alerts). */
  alerts?: Alerter;
}

/**
 * A message push after its signature was checked and, in 安全模式, its decryption: `message`
 * is the XML (or JSON, per the console's data format) WeChat sent, as text. Resolve quickly
 * (WeChat waits 5 s); a rejection answers 500, so that WeChat retries the push.
 */
export type MessageHook = (appid: string, message: string) => Promise<void>;

export interface InterfaceContext {
  /** The validated object of `para` (with `interface.appid` folded in as `appid`). */
  para: Record<string, unknown>;
  /** The authenticated realm; null for public interfaces and behind a trusted gateway. */
  realm: RealmConfig | null;
  call: CallContext;
  services: Services;
  /** The client's address (lib/gateway/client-address.ts), when known: per-client limits count by it. */
  client?: string;
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
  /**
   * For `realm` access: the interface name realm.interfaces must hold for this call (default
   * `aliasOf`, else `name`), so an interface serving others' credentials needs their scope. May throw
   * ApiError on a bad `para`.
   */
  scope?(para: Record<string, unknown>): string;
  /**
   * A Wafer alias answering in its own shape or bounds: the canonical interface it serves, and
   * the scope it needs. Realms list the canonical name; naming the alias in realm.interfaces
   * means the canonical one.
   */
  aliasOf?: string;
  handle(ctx: InterfaceContext): Promise<Record<string, unknown>>;
}
