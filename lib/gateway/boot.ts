/** The composition root: a validated config in, a ready App out (one per cold start). */
import { ConfigError } from '../config/errors';
import type { Config } from '../config/types';
import { createCredentials, type Clock } from '../credentials';
import { INTERFACES } from '../interfaces';
import type { MessageHook } from '../interfaces/types';
import { createLogger, type Logger } from '../log/logger';
import { createMinaSessions } from '../sessions/mina';
import { openStore } from '../store/open';
import type { Store } from '../store/port';
import { createMpClient } from '../wechat/mp';
import { createWorkClient } from '../wechat/work';
import { createApp } from './app';
import type { App } from './http';

export interface BootOptions {
  clock?: Clock;
  log?: Logger;
  /** An already-open store (tests); otherwise config.store is opened. */
  store?: Store;
  /** Receives WeChat's message pushes (lib/gateway/routes/wechat-server.ts). */
  onMessage?: MessageHook;
}

export async function bootApp(config: Config, opts: BootOptions = {}): Promise<App> {
  checkRealmInterfaces(config);
  checkLeaseCoversCall(config);
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? createLogger();
  const store = opts.store ?? (await openStore(config.store));
  const credentials = createCredentials({
    config,
    store,
    clock,
    log,
    mp: createMpClient(config.upstream.mp),
    work: createWorkClient(config.upstream.work),
  });
  const sessions = createMinaSessions({ config, store, clock, log });
  return createApp({ config, credentials, sessions, store, clock, log, onMessage: opts.onMessage });
}

/** Every upstream attempt must fit inside the refresh lease, or a slow WeChat could never be refreshed from. */
function checkLeaseCoversCall(config: Config): void {
  if (config.credentials.leaseSeconds * 1000 < config.upstream.timeoutMs + 1000) {
    throw new ConfigError(
      'credentials.leaseSeconds',
      `must be at least upstream.timeoutMs + 1 s (${Math.ceil(config.upstream.timeoutMs / 1000) + 1})`,
    );
  }
}

/** Realms may name interfaces by canonical name or alias; anything else is a config error. */
function checkRealmInterfaces(config: Config): void {
  config.realms.forEach((realm, i) => {
    realm.interfaces = realm.interfaces.map((name, j) => {
      const def = INTERFACES.find((d) => d.name === name || d.aliases?.includes(name));
      if (!def) throw new ConfigError(`realms[${i}].interfaces[${j}]`, `unknown interface ${name}`);
      return def.aliasOf ?? def.name;
    });
  });
}
