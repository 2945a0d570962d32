import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import { AuthorizerRegistry } from './authorizers';

const C = 'wxc0c0c0c0c0c0c0c0';
const A = 'wxa1a1a1a1a1a1a1a1';
const config = {
  masterKey: randomBytes(32),
  components: [{ appid: C, secret: 's', token: 't', encodingAESKey: 'k'.repeat(43) }],
  credentials: { localCacheSeconds: 30, refreshAheadSeconds: 300, leaseSeconds: 3, forceCooldownSeconds: 60 },
};
const issued = (refreshToken: string) => ({
  appid: A,
  accessToken: { value: 'at', expiresIn: 7200 },
  refreshToken,
  funcInfo: [1, 4],
});

function registry(now = { t: Date.UTC(2026, 0, 1) }) {
  const store = createMemoryStore();
  return { store, now, reg: new AuthorizerRegistry(config, store, () => now.t, silentLogger) };
}

describe('AuthorizerRegistry', () => {
  it('keeps the refresh token sealed and lists the authorizer', async () => {
    const { store, now, reg } = registry();
    await reg.authorize(C, issued('refreshtoken@@@r0'));
    expect(await store.getRecord(`authorizer:${A}`, now.t)).not.toContain('refreshtoken@@@r0');
    expect((await reg.refreshToken(A)).refreshToken).toBe('refreshtoken@@@r0');
    expect(await reg.all()).toMatchObject([{ appid: A, component: C, state: 'authorized', funcInfo: [1, 4] }]);
    expect(await reg.find(A)).toMatchObject({ state: 'authorized' });
    expect(await reg.find('wxffffffffffffffff')).toBeUndefined();
  });

  it('replaces the refresh token only in place of the one the refresh used', async () => {
    const { reg } = registry();
    await reg.authorize(C, issued('refreshtoken@@@r0'));
    const used = await reg.refreshToken(A);
    // A new authorization wrote its own meanwhile: the refresh's successor does not overwrite it.
    await reg.authorize(C, issued('refreshtoken@@@new'));
    await reg.replaceRefreshToken(A, used.sealed, 'refreshtoken@@@r1');
    expect((await reg.refreshToken(A)).refreshToken).toBe('refreshtoken@@@new');
    const current = await reg.refreshToken(A);
    await reg.replaceRefreshToken(A, current.sealed, 'refreshtoken@@@r2');
    expect((await reg.refreshToken(A)).refreshToken).toBe('refreshtoken@@@r2');
  });

  it('an unauthorized appid is refused with app_unauthorized, and its refresh token dropped', async () => {
    const { store, now, reg } = registry();
    await reg.authorize(C, issued('refreshtoken@@@r0'));
    expect(await reg.unauthorize('wxffffffffffffffff', A)).toBe(false); // another component's cancellation
    expect(await reg.unauthorize(C, A)).toBe(true);
    await expect(reg.requireAuthorized(A)).rejects.toMatchObject({ code: 'app_unauthorized' });
    await expect(reg.refreshToken(A)).rejects.toMatchObject({ code: 'app_unauthorized' });
    expect(JSON.parse((await store.getRecord(`authorizer:${A}`, now.t))!).refreshToken).toBe('');
    expect(await reg.find(A)).toMatchObject({ state: 'unauthorized' });
  });
});
