import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config/load';
import { silentLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import { bootApp } from './boot';

const APP = { appid: 'wx1111111111111111', secret: 's' };
const boot = (raw: Record<string, unknown>) =>
  bootApp(parseConfig({ apps: [APP], store: 'memory:', ...raw }, {}), {
    store: createMemoryStore(),
    log: silentLogger,
  });

describe('bootApp', () => {
  it('refuses a lease too short for one upstream call, naming the field', async () => {
    const err = await boot({ upstream: { timeoutMs: 5000 }, credentials: { leaseSeconds: 5 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      'config: credentials.leaseSeconds: must be at least upstream.timeoutMs + 1 s (6)',
    );
  });

  it('refuses an unknown interface in a realm, and accepts aliases', async () => {
    const bad = await boot({
      realms: [{ key: 'r', secret: 'a-realm-secret-0123', interfaces: ['acces_token'] }],
    }).catch((e: unknown) => e);
    expect((bad as Error).message).toBe('config: realms[0].interfaces[0]: unknown interface acces_token');
    const app = await boot({
      realms: [{ key: 'r', secret: 'a-realm-secret-0123', interfaces: ['qcloud.mimi.access_token'] }],
    });
    await app.close();
  });
});
