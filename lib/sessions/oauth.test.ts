import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { signToken } from '../crypto/signed';
import { createMemoryStore } from '../store/memory';
import type { Store } from '../store/port';
import { WechatError } from '../wechat/errors';
import type { SnsClient, SnsToken, SnsUser } from '../wechat/sns';
import { createOAuthFlow, verifyOAuthResult } from './oauth';
import { STATE_COOKIE } from './oauth-state';

const SECRET = 'oauth-result-secret-0123456789abcdef';
const APPID = 'wx1111111111111111';
const NOW = 1_800_000_000_000;
const TARGET = 'https://app.example.com/landing';

const config = (oauth: Record<string, unknown> = {}) =>
  parseConfig(
    {
      apps: [{ appid: APPID, secret: 'mp-secret', type: 'mp' }],
      store: 'memory:',
      upstream: { mp: 'http://127.0.0.1:9', timeoutMs: 800 },
      oauth: {
        secret: SECRET,
        callbackBase: 'https://wecred.example.com',
        redirects: ['https://app\\.example\\.com/.*'],
        ...oauth,
      },
    },
    {},
  );
const app = config().apps[0]!;

const refusal = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return `${(err as { reason?: string }).reason ?? (err as Error).name}: ${(err as Error).message}`;
  }
  return 'accepted';
};

/** A fake WeChat: `token` for every code, `user` (or `userError`) for userinfo; records the timeouts asked for. */
function fakeSns(opts: { token?: Partial<SnsToken>; user?: Partial<SnsUser>; userError?: Error } = {}) {
  const timeouts: number[] = [];
  const sns: SnsClient = {
    async exchangeCode(_appid, _secret, code, timeoutMs) {
      timeouts.push(timeoutMs);
      return {
        accessToken: `at-${code}`,
        expiresIn: 7200,
        refreshToken: `rt-${code}`,
        openid: 'o-user',
        scope: 'snsapi_base',
        ...opts.token,
      } as SnsToken;
    },
    async userinfo(_token, openid, timeoutMs) {
      timeouts.push(timeoutMs);
      if (opts.userError) throw opts.userError;
      return { openid, nickname: 'Nick', headimgurl: 'https://img/0', ...opts.user } as SnsUser;
    },
  };
  return { sns, timeouts };
}

const begin = (o: { redirect?: string; scope?: string; state?: string }) => ({
  redirect: undefined,
  scope: undefined,
  state: undefined,
  ...o,
});
const call = (budgetMs = 4000) => ({ upstreamCalls: 0, deadline: performance.now() + budgetMs });

describe('verifyOAuthResult', () => {
  const claims = {
    iss: 'wecred',
    appid: APPID,
    openid: 'o1',
    scope: 'snsapi_base',
    jti: 'j1',
    iat: NOW / 1000,
    exp: NOW / 1000 + 300,
  };
  const check = (extra: Record<string, unknown>, appid?: string) =>
    verifyOAuthResult(signToken(SECRET, { ...claims, ...extra }), SECRET, { now: NOW, appid });

  it('accepts our results, snapshot users and every optional string included', () => {
    expect(check({})).toMatchObject({ ok: true, result: claims });
    expect(check({ snapshot: true, unionid: 'u', nickname: 'n', headimgurl: 'h', state: 's' }).ok).toBe(true);
  });

  it('refuses a token that is not one of our results, whatever claim is off', () => {
    for (const extra of [
      { iss: 'other' },
      { appid: 1 },
      { openid: null },
      { scope: 2 },
      { jti: 3 },
      { iat: '1' },
      { snapshot: false },
      { unionid: 1 },
      { nickname: 1 },
      { headimgurl: 1 },
      { state: 1 },
    ]) {
      expect(check(extra), JSON.stringify(extra)).toEqual({ ok: false, reason: 'not_a_result' });
    }
    expect(check({}, 'wx2222222222222222')).toEqual({ ok: false, reason: 'wrong_app' });
    expect(check({}, APPID).ok).toBe(true);
  });
});

describe('an OAuth login', () => {
  const flow = (
    opts: {
      store?: Store;
      sns?: SnsClient;
      oauth?: Record<string, unknown>;
      log?: boolean;
      off?: 'secret' | 'callbackBase';
    } = {},
  ) => {
    const c = config(opts.oauth);
    return createOAuthFlow({
      config: opts.off ? { ...c, oauth: { ...c.oauth, [opts.off]: undefined } } : c,
      store: opts.store ?? createMemoryStore(),
      clock: () => NOW,
      sns: opts.sns ?? fakeSns().sns,
      ...(opts.log === false ? {} : { log: { log() {} } }),
    });
  };
  const begun = async (f = flow(), req: { redirect?: string; scope?: string; state?: string } = {}) => {
    const { location, setCookie } = await f.begin(app, begin({ redirect: TARGET, ...req }));
    return { state: new URL(location).searchParams.get('state')!, cookie: setCookie.split(';')[0]! };
  };

  it('says what is wrong with the start of a login', async () => {
    const f = flow();
    expect(await refusal(f.begin(app, begin({})))).toBe('redirect_not_allowed: redirect is required');
    expect(await refusal(f.begin(app, begin({ redirect: 'https://evil.example/' })))).toBe(
      'redirect_not_allowed: redirect is not an allowed target (config oauth.redirects)',
    );
    expect(await refusal(f.begin(app, begin({ redirect: TARGET, state: 's'.repeat(512) })))).toBe('accepted');
    expect(await refusal(f.begin(app, begin({ redirect: TARGET, state: 's'.repeat(513) })))).toBe(
      'bad_request: state is longer than 512 characters',
    );
    expect(
      await refusal(f.begin(app, begin({ redirect: `${TARGET}?${'r'.repeat(1900)}`, state: '中'.repeat(500) }))),
    ).toBe('bad_request: redirect and state are too long together (the login cookie holds about 4 KB)');
  });

  it('is off, saying so, without both oauth.secret and oauth.callbackBase', async () => {
    for (const off of ['secret', 'callbackBase'] as const) {
      const f = flow({ off });
      expect(await refusal(f.begin(app, begin({ redirect: TARGET })))).toBe(
        'not_configured: OAuth web login is not configured on this deployment (oauth.callbackBase and oauth.secret)',
      );
      expect(f.clearCookie(app)).toBeUndefined();
    }
    // an https callback at the host root clears its own __Host- cookie
    expect(flow().clearCookie(app)).toMatch(new RegExp(`^(__Host-)?${STATE_COOKIE}(_${app.appid})?=; .*Max-Age=0`));
  });

  it('says what is wrong with its end', async () => {
    const f = flow();
    const a = await begun(f);
    expect(await refusal(f.finish(app, { state: a.state, cookie: a.cookie, code: '' }, call()))).toBe(
      'refused: the user did not authorize the login (拒绝)',
    );
    expect(await refusal(f.finish(app, { state: a.state, cookie: a.cookie, code: 'c1' }, call()))).toBe('accepted');
    expect(await refusal(f.finish(app, { state: a.state, cookie: a.cookie, code: 'c2' }, call()))).toBe(
      'state_used: this login was already completed: start again',
    );
    // the allow-list changed between the start and the end
    const b = await begun(f);
    const stricter = flow({ oauth: { redirects: ['https://other\\.example\\.com/.*'] } });
    expect(await refusal(stricter.finish(app, { state: b.state, cookie: b.cookie, code: 'c3' }, call()))).toBe(
      'redirect_not_allowed: redirect is no longer an allowed target (config oauth.redirects)',
    );
  });

  it('a store failure is store_unavailable, with or without a logger', async () => {
    const down = { ...createMemoryStore(), insertIfAbsent: () => Promise.reject(new Error('down')) } as Store;
    for (const log of [true, false]) {
      const f = flow({ store: down, log });
      const a = await begun(f);
      expect(await refusal(f.finish(app, { state: a.state, cookie: a.cookie, code: 'c' }, call()))).toBe(
        'store_unavailable: the credential store is unavailable',
      );
    }
  });

  it("keeps the user's tokens for 30 days, and asks WeChat within the request's time", async () => {
    const store = createMemoryStore();
    const { sns, timeouts } = fakeSns({ token: { scope: 'snsapi_userinfo', unionid: 'u-1' } });
    const f = flow({ store, sns });
    const c = call();
    const login = await f.exchange(app, 'code-1', c);
    expect(login).toMatchObject({ appid: APPID, openid: 'o-user', unionid: 'u-1', user: { nickname: 'Nick' } });
    expect(c.upstreamCalls).toBe(2);
    expect(timeouts).toHaveLength(2);
    for (const t of timeouts) expect(t).toBeLessThanOrEqual(800);
    const record = JSON.parse((await store.getRecord(`oauth:user:${APPID}:o-user`, NOW))!);
    expect(record).toMatchObject({
      appid: APPID,
      openid: 'o-user',
      unionid: 'u-1',
      scope: 'snsapi_userinfo',
      sealed: false,
      accessToken: 'at-code-1',
      accessExpiresAt: NOW + 7200_000,
      refreshToken: 'rt-code-1',
      refreshExpiresAt: NOW + 30 * 86_400_000,
    });
    expect(await store.getRecord(`oauth:user:${APPID}:o-user`, NOW + 30 * 86_400_000)).toBeNull();
  });

  it('takes a snapshot user without a profile (48001), but no other userinfo failure', async () => {
    const snapshot = fakeSns({
      token: { scope: 'snsapi_userinfo' },
      userError: new WechatError('sns/userinfo', 48001, 'x'),
    });
    const login = await flow({ sns: snapshot.sns }).exchange(app, 'c', call());
    expect(login).not.toHaveProperty('user');
    const broken = fakeSns({
      token: { scope: 'snsapi_userinfo' },
      userError: new WechatError('sns/userinfo', 40003, 'x'),
    });
    expect(await refusal(flow({ sns: broken.sns }).exchange(app, 'c', call()))).toBe(
      'upstream_error: sns/userinfo answered errcode 40003',
    );
    const base = fakeSns({ token: { scope: 'snsapi_base' } });
    const c = call();
    expect(await flow({ sns: base.sns }).exchange(app, 'c', c)).not.toHaveProperty('unionid');
    expect(c.upstreamCalls).toBe(1);
  });

  it('spends no code with too little of the request left', async () => {
    const { sns, timeouts } = fakeSns();
    expect(await refusal(flow({ sns }).exchange(app, 'c', call(150)))).toBe(
      'upstream_unavailable: too little time was left in this request to exchange the code with WeChat: start the login again',
    );
    expect(timeouts).toEqual([]);
  });
});
