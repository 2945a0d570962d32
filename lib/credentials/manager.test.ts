import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import { CredentialError } from './errors';
import { CredentialManager } from './manager';
import type { CallContext, CredentialSource, FetchContext, Fetched } from './source';

const OPTIONS = {
  refreshAheadMs: 300_000,
  localCacheMs: 30_000,
  leaseMs: 10_000,
  forceCooldownMs: 60_000,
  timeoutMs: 1000,
};

/** A credential whose upstream answers are scripted by the test (a unit fixture for the source port). */
function scripted(answer: (ctx: FetchContext, n: number) => Promise<Fetched>): CredentialSource & { calls: number } {
  const src = {
    key: 'test:cred',
    owner: 'wx-test',
    eager: true,
    calls: 0,
    quotaBlocksAll: () => true,
    fetch: (ctx: FetchContext) => answer(ctx, ++src.calls),
  };
  return src;
}

const call = (budgetMs: number): CallContext => ({
  caller: 't',
  upstreamCalls: 0,
  deadline: performance.now() + budgetMs,
});

describe('CredentialManager', () => {
  it('a caller joining a resolution under way still answers by its own deadline', async () => {
    const clock = 1_000_000;
    const manager = new CredentialManager(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const src = scripted(
      () => new Promise((resolve) => setTimeout(() => resolve({ value: 'v1', expiresIn: 7200 }), 600)),
    );
    const long = manager.get(src, { call: call(5000) });
    const started = performance.now();
    const short = manager.get(src, { call: call(150) });
    await expect(short).rejects.toMatchObject({ code: 'busy' });
    expect(performance.now() - started).toBeLessThan(450);
    await expect(long).resolves.toMatchObject({ value: 'v1' });
    expect(src.calls).toBe(1);
  });

  it('a value handed back unchanged keeps its first expiry, but one already past it takes the new one', async () => {
    let clock = 1_000_000;
    const store = createMemoryStore();
    const manager = new CredentialManager(store, () => clock, OPTIONS, silentLogger);
    const src = scripted(async () => ({ value: 'same', expiresIn: 7200 }));
    const first = await manager.get(src, { call: call(5000) });
    expect(first.expiresAt).toBe(1_000_000 + 7200_000);
    clock += 7200_000 - 200_000; // inside the refresh window: WeChat says "7200" again for the same value
    expect((await manager.get(src, { call: call(5000) })).expiresAt).toBe(first.expiresAt);
    clock = first.expiresAt + 1000; // past it (a lagging clock wrote it, or WeChat renewed it after all)
    const later = await manager.get(src, { call: call(5000) });
    expect(later.expiresAt).toBe(clock + 7200_000);
  });

  it('a forced refresh makes a single attempt, whatever the error', async () => {
    let clock = 1_000_000;
    const manager = new CredentialManager(createMemoryStore(), () => clock, OPTIONS, silentLogger);
    const { UpstreamUnavailable } = await import('../wechat/errors');
    const src = scripted(async (_ctx, n) => {
      if (n === 1) return { value: 'v1', expiresIn: 7200 };
      throw new UpstreamUnavailable('cgi-bin/token', 'http', 502);
    });
    await manager.get(src, { call: call(5000) });
    clock += 120_000;
    const err = await manager.get(src, { force: true, stale: 'v1', call: call(5000) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialError);
    expect((err as CredentialError).code).toBe('upstream_unavailable');
    expect(src.calls).toBe(2);
  });
});
