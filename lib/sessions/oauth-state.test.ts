import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../config/types';
import { signToken } from '../crypto/signed';
import { cookieLogin, makeState, openState, STATE_COOKIE, stateCookie } from './oauth-state';

const SECRET = 'oauth-secret-0123456789-0123456789';
const APPID = 'wx1111111111111111';
const app = { appid: APPID, type: 'mp' } as AppConfig;

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return `${(err as { reason: string }).reason}: ${(err as Error).message}`;
  }
  return 'accepted';
};

describe('the state', () => {
  it('carries a ten-digit expiry, and expires at it', () => {
    const { id, state } = makeState(SECRET, APPID, 5);
    expect(state).toMatch(/^[A-Za-z0-9]{22}0000000005[0-9a-f]{32}$/);
    expect(openState(SECRET, APPID, state, 4_999)).toEqual({ id, exp: 5 });
    expect(refusal(() => openState(SECRET, APPID, state, 5_000))).toBe(
      'state_expired: the login took longer than 10 minutes: start again',
    );
  });

  it('says why it refuses a state', () => {
    const { state } = makeState(SECRET, APPID, 2_000_000_000);
    expect(refusal(() => openState(SECRET, APPID, undefined, 0))).toBe('bad_state: the state is missing');
    expect(refusal(() => openState(SECRET, APPID, '', 0))).toBe('bad_state: the state is missing');
    expect(refusal(() => openState(SECRET, APPID, 'abc', 0))).toBe('bad_state: the state is not one of ours');
    expect(refusal(() => openState(SECRET, 'wx2222222222222222', state, 0))).toBe(
      'bad_state: the state does not verify (altered, or made for another app)',
    );
  });
});

describe('the login cookie', () => {
  it("lives under the callback's directory, whatever the base path holds", () => {
    expect(stateCookie('https://h.example/callbacks;v=1/', app, 'v')).toBe(
      `${STATE_COOKIE}=v; Path=/callbacks%3Bv=1/oauth/${APPID}/; Max-Age=660; HttpOnly; SameSite=Lax; Secure`,
    );
    expect(stateCookie('http://127.0.0.1:8080', app, '')).toBe(
      `${STATE_COOKIE}=; Path=/oauth/${APPID}/; Max-Age=0; HttpOnly; SameSite=Lax`,
    );
  });

  it('is read by its name only, its value trimmed, and must carry the login it claims', () => {
    const key = 'cookie-key-0123456789-0123456789-0123';
    const good = signToken(key, { id: 'id-1', redirect: 'https://a.example/', exp: 100 });
    expect(cookieLogin(key, `other=1; ${STATE_COOKIE}=${good} ; x=2`, STATE_COOKIE, 'id-1', 0)).toMatchObject({
      id: 'id-1',
    });
    expect(cookieLogin(key, `x=1, ${STATE_COOKIE}=${good}`, STATE_COOKIE, 'id-1', 0)).toMatchObject({ id: 'id-1' });
    const another = 'another login (started elsewhere, or a newer one began since)';
    expect(refusal(() => cookieLogin(key, `other=${good}`, STATE_COOKIE, 'id-1', 0))).toBe(
      'bad_state: this browser did not start this login (no login cookie): the login must start in the browser that finishes it, start it again here',
    );
    expect(refusal(() => cookieLogin(key, `${STATE_COOKIE}x`, STATE_COOKIE, 'id-1', 0))).toContain('no login cookie');
    const noRedirect = signToken(key, { id: 'id-1', exp: 100 });
    expect(refusal(() => cookieLogin(key, `${STATE_COOKIE}=${noRedirect}`, STATE_COOKIE, 'id-1', 0))).toBe(
      `bad_state: this browser's login cookie is for ${another}: start the login again in this browser`,
    );
  });
});
