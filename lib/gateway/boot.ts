/**
 * The composition root: a validated config in, taken as it is, and a ready App out (one per cold start).
 * docs/design.md §2, §3.5.
 */
import { createAlerter } from '../alerts';
import type { Config } from '../config/types';
import { createCredentials, type Clock } from '../credentials';
import type { MessageHook } from '../interfaces/types';
import { Metrics } from '../metrics';
import { createLogger, type Logger } from '../log/logger';
import { createMinaSessions } from '../sessions/mina';
import { StoreHealth } from '../store/health';
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
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? createLogger();
  const store = opts.store ?? (await openStore(config.store));
  const metrics = config.metrics.bearer !== undefined || config.metrics.log ? new Metrics() : undefined;
  const storeHealth = new StoreHealth(clock, log, metrics);
  if (!opts.store && store.kind === 'memory')
    log.log('warn', 'store_not_persistent', {
      message:
        'the memory: store forgets spent nonces, sessions and counters when the process ends: a signed request can be replayed after a restart, and instances do not share it; use file:, mysql://, dynamodb:// or redis:// beyond tests',
    });
  const credentials = createCredentials({
    config,
    store,
    health: storeHealth,
    clock,
    log,
    mp: createMpClient(config.upstream.mp),
    work: createWorkClient(config.upstream.work),
    metrics,
  });
  const sessions = createMinaSessions({ config, store, clock, log });
  const alerts = createAlerter(config.alerts, { store, clock, log, timeoutMs: config.upstream.timeoutMs });
  return createApp({
    config,
    credentials,
    sessions,
    store,
    storeHealth,
    clock,
    log,
    onMessage: opts.onMessage,
    metrics,
    alerts,
  });
}
