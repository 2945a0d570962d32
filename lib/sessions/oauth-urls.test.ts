import { describe, expect, it } from 'vitest';
import type { AppConfig, Config } from '../config/types';
import { authorizeUrl, callbackUrl, scopeFor } from './oauth-urls';

const app = (type: string) => ({ appid: 'wx1111111111111111', type }) as AppConfig;
const refusal = (fn: () => unknown) => {
  try {
    return fn();
  } catch (err) {
    return `${(err as { reason: string }).reason}: ${(err as Error).message}`;
  }
};

describe('scopeFor', () => {
  it('website apps log in with snsapi_login only, Official Accounts with base or userinfo, Mini Programs not at all', () => {
    expect(scopeFor(app('web'), undefined)).toBe('snsapi_login');
    expect(scopeFor(app('web'), 'snsapi_login')).toBe('snsapi_login');
    expect(refusal(() => scopeFor(app('web'), 'snsapi_base'))).toBe(
      'bad_request: wx1111111111111111 is a website app: its scope is snsapi_login',
    );
    expect(scopeFor(app('mp'), undefined)).toBe('snsapi_base');
    expect(scopeFor(app('mp'), 'snsapi_userinfo')).toBe('snsapi_userinfo');
    expect(refusal(() => scopeFor(app('mp'), 'snsapi_login'))).toBe(
      'bad_request: scope must be snsapi_base or snsapi_userinfo for an Official Account',
    );
    expect(refusal(() => scopeFor(app('mina'), undefined))).toBe(
      'bad_request: wx1111111111111111 is a Mini Program: it has no web authorization (use session.login)',
    );
  });
});

describe('URLs', () => {
  it('drop any number of trailing slashes from their bases', () => {
    const config = { upstream: { open: 'https://open.example//' } } as unknown as Config;
    expect(authorizeUrl(config, app('mp'), 'https://h/cb', 'snsapi_base')).toBe(
      'https://open.example/connect/oauth2/authorize?appid=wx1111111111111111&redirect_uri=https%3A%2F%2Fh%2Fcb&response_type=code&scope=snsapi_base#wechat_redirect',
    );
    expect(callbackUrl('https://h.example/stage//', app('mp'))).toBe(
      'https://h.example/stage/oauth/wx1111111111111111/callback',
    );
  });
});
