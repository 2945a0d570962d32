/**
 * Set-ups a serverless function refuses at cold start, one line each: they work on one machine but
 * break once the platform runs many instances of the function. See docs/design.md §4.
 */
import { ConfigError } from './errors';
import type { Config } from './types';

/** Throws the ConfigError of the first unsafe setting of a serverless deployment. */
export function refuseOnServerless(config: Config, env: NodeJS.ProcessEnv): void {
  // Every instance would keep its own leases: one fetch per instance, not one per refresh.
  const local = /^(file|memory):/.exec(config.store)?.[1];
  if (local !== undefined && !['1', 'true'].includes((env.WECRED_ALLOW_LOCAL_STORE ?? '').trim().toLowerCase())) {
    throw new ConfigError(
      'WECRED_STORE',
      `${env.WECRED_STORE ? `is a ${local}: store` : `is not set (the store is ${local}:)`}, which each function instance keeps to itself: ` +
        'set it to a shared mysql://, redis:// or dynamodb:// store (or WECRED_ALLOW_LOCAL_STORE=1 for a function kept to one instance)',
    );
  }
  const mina = config.apps.findIndex((a) => a.type === 'mina');
  if (mina >= 0 && config.masterKey === undefined) {
    throw new ConfigError(
      'WECRED_MASTER_KEY',
      `is not set, and apps[${mina}] is a Mini Program, whose sessions are sealed with it: set it (openssl rand -base64 32) or a reference to it`,
    );
  }
}
