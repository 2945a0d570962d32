/** Each mode's decision on a stored row, as pure functions of the row and the time. docs/design.md §5.2. */
import { describe, expect, it } from 'vitest';
import type { CredentialRow } from '../store/port';
import { holdMs, isFresh, isUsable, type Mode, type PolicyContext, policyFor } from './policy';

const NOW = 10_000_000;
const AHEAD = 300_000;

function row(over: Partial<CredentialRow> = {}): CredentialRow {
  return {
    key: 'k',
    value: 'v1',
    expiresAt: NOW + 7200_000,
    refreshedAt: NOW - 600_000,
    version: 3,
    leaseOwner: '',
    leaseBeat: 0,
    forcedAt: 0,
    blockedUntil: 0,
    failures: 0,
    retryAt: 0,
    ...over,
  };
}

function policy(mode: Mode, over: Partial<PolicyContext> = {}) {
  return policyFor(mode, {
    key: 'k',
    service: 'WeChat',
    refreshAheadMs: AHEAD,
    forceCooldownMs: 60_000,
    startedAt: NOW,
    ...over,
  });
}

/** The decision, or the code of the refusal thrown. */
function decision(mode: Mode, r: CredentialRow | null, over: Partial<PolicyContext> = {}): string {
  try {
    return policy(mode, over).decide(r, NOW);
  } catch (err) {
    return (err as { code: string }).code;
  }
}

const inWindow = row({ expiresAt: NOW + AHEAD - 1000 });
const expired = row({ expiresAt: NOW - 1 });
const blockedUsable = row({ expiresAt: NOW + AHEAD - 1000, blockedUntil: NOW + 3600_000 });
const blockedDead = row({ expiresAt: NOW - 1, blockedUntil: NOW + 3600_000 });

describe('freshness', () => {
  it('a value is usable until its expiry, fresh until its refresh window, and fresh for a minute after a refresh', () => {
    expect(isUsable(row(), NOW)).toBe(true);
    expect(isUsable(row({ value: '' }), NOW)).toBe(false);
    expect(isUsable(row({ expiresAt: NOW }), NOW)).toBe(false);
    expect(isFresh(row(), NOW, AHEAD)).toBe(true);
    expect(isFresh(inWindow, NOW, AHEAD)).toBe(false);
    expect(isFresh(row({ expiresAt: NOW + AHEAD }), NOW, AHEAD)).toBe(false);
    expect(isFresh(row({ expiresAt: NOW + AHEAD + 1 }), NOW, AHEAD)).toBe(true);
    // handed back unchanged a moment ago: fresh for a minute, though inside the window
    expect(isFresh({ ...inWindow, refreshedAt: NOW - 59_999 }, NOW, AHEAD)).toBe(true);
    expect(isFresh({ ...inWindow, refreshedAt: NOW - 60_000 }, NOW, AHEAD)).toBe(false);
    expect(isFresh({ ...expired, refreshedAt: NOW }, NOW, AHEAD)).toBe(false);
  });
});

describe('read and scheduled', () => {
  it('serve a fresh value, refresh an absent, empty, expired or due one', () => {
    for (const mode of ['read', 'scheduled'] as const) {
      expect(decision(mode, row())).toBe('serve');
      expect(decision(mode, null)).toBe('refresh');
      expect(decision(mode, row({ value: '' }))).toBe('refresh');
      expect(decision(mode, expired)).toBe('refresh');
      expect(decision(mode, inWindow)).toBe('refresh');
    }
  });

  it('after failed refreshes, a read serves a working value until retryAt and refuses at once without one', () => {
    const held = { failures: 2, retryAt: NOW + 1 };
    expect(decision('read', { ...inWindow, ...held })).toBe('serve');
    expect(decision('read', { ...inWindow, failures: 2, retryAt: NOW })).toBe('refresh');
    expect(decision('read', { ...expired, ...held })).toBe('upstream_unavailable');
    expect(decision('read', null)).toBe('refresh');
  });

  it('the refresher reports a held refresh; forced refreshes are held too', () => {
    const held = { failures: 1, retryAt: NOW + 1 };
    expect(decision('scheduled', { ...inWindow, ...held })).toBe('upstream_unavailable');
    expect(decision('scheduled', { ...row(), ...held })).toBe('serve'); // fresh: nothing to refresh
    expect(decision('force', { ...row(), ...held })).toBe('upstream_unavailable');
    expect(decision('stale', { ...row(), ...held }, { stale: 'v1' })).toBe('upstream_unavailable');
    expect(decision('stale', { ...row(), ...held }, { stale: 'old' })).toBe('serve');
  });

  it('holds grow 1 s, 2 s, 4 s … to at most 10 s without a working value, a minute with one', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => holdMs(n, false))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(holdMs(1, true)).toBe(60_000);
  });

  it('a breaker serves a working value and refuses with nothing usable', () => {
    for (const mode of ['read', 'scheduled'] as const) {
      expect(decision(mode, blockedUsable)).toBe('serve');
      expect(decision(mode, blockedDead)).toBe('quota_exhausted');
      expect(decision(mode, { ...blockedDead, blockedUntil: NOW })).toBe('refresh');
    }
  });

  it('only a read settles for a usable value; neither is forced', () => {
    expect(policy('read')).toMatchObject({ reason: 'refresh', forced: false, settlesForUsable: true });
    expect(policy('scheduled')).toMatchObject({ reason: 'refresh', forced: false, settlesForUsable: false });
  });
});

describe('force', () => {
  it('refreshes a fresh value, at most once per cooldown', () => {
    expect(decision('force', row())).toBe('refresh');
    expect(decision('force', null)).toBe('refresh');
    expect(decision('force', row({ forcedAt: NOW - 59_999 }), { startedAt: NOW + 1 })).toBe('force_refused');
    expect(decision('force', row({ forcedAt: NOW - 60_000 }), { startedAt: NOW + 1 })).toBe('refresh');
    expect(decision('force', row({ forcedAt: NOW - 1 }), { forceCooldownMs: 0, startedAt: NOW + 1 })).toBe('refresh');
  });

  it('a force that finished after this request started serves it', () => {
    expect(decision('force', row({ forcedAt: NOW }), { startedAt: NOW })).toBe('serve');
    expect(decision('force', row({ forcedAt: NOW, expiresAt: NOW }), { startedAt: NOW })).toBe('force_refused');
  });

  it('the breaker refuses it, whatever the value', () => {
    expect(decision('force', blockedUsable)).toBe('quota_exhausted');
    expect(policy('force')).toMatchObject({ reason: 'force', forced: true, settlesForUsable: false });
  });
});

describe('stale', () => {
  it('serves a usable value other than the rejected one, refreshes the rejected one', () => {
    expect(decision('stale', row(), { stale: 'old' })).toBe('serve');
    expect(decision('stale', row(), { stale: 'v1' })).toBe('refresh');
    expect(decision('stale', expired, { stale: 'old' })).toBe('refresh');
    expect(decision('stale', null, { stale: 'v1' })).toBe('refresh');
  });

  it('does not replace a replacement less than 30 s old', () => {
    expect(decision('stale', row({ forcedAt: NOW - 29_999 }), { stale: 'v1' })).toBe('force_refused');
    expect(decision('stale', row({ forcedAt: NOW - 30_000 }), { stale: 'v1' })).toBe('refresh');
  });

  it('the breaker refuses it; it needs the rejected value', () => {
    expect(decision('stale', blockedUsable, { stale: 'v1' })).toBe('quota_exhausted');
    expect(policy('stale', { stale: 'v1' })).toMatchObject({
      reason: 'rejected',
      forced: true,
      settlesForUsable: false,
    });
    expect(() => policy('stale')).toThrow(TypeError);
  });
});

describe('refusals: when exactly, and what they say', () => {
  /** The message of the refusal thrown. */
  const message = (mode: Mode, r: CredentialRow, over: Partial<PolicyContext> = {}): string => {
    try {
      policy(mode, over).decide(r, NOW);
    } catch (err) {
      return (err as Error).message;
    }
    return 'no refusal';
  };
  const iso = (ms: number) => new Date(ms).toISOString();

  it('a breaker or a hold ends at its very instant, for forced refreshes too', () => {
    for (const [mode, over] of [
      ['force', {}],
      ['stale', { stale: 'v1' }],
    ] as const) {
      expect(decision(mode, row({ blockedUntil: NOW }), over)).toBe('refresh');
      expect(decision(mode, row({ retryAt: NOW, failures: 2 }), over)).toBe('refresh');
      expect(decision(mode, row({ retryAt: NOW + 1, failures: 2 }), over)).toBe('upstream_unavailable');
    }
  });

  it('a credential never forced is in no cooldown; a value other than the rejected one is never "too recent"', () => {
    expect(decision('force', row(), { forceCooldownMs: NOW + 1, startedAt: NOW + 1 })).toBe('refresh');
    const replacedDead = row({ value: 'v2', expiresAt: NOW - 1, forcedAt: NOW - 1000 });
    expect(decision('stale', replacedDead, { stale: 'v1' })).toBe('refresh');
  });

  it('say how long ago, until when, and after how many failures', () => {
    expect(message('stale', row({ forcedAt: NOW - 12_000 }), { stale: 'v1' })).toBe(
      "k replaced a rejected value 12s ago and is not replaced again so soon; if WeChat keeps rejecting fresh tokens, another server may be fetching tokens with this app's secret",
    );
    expect(message('force', row({ forcedAt: NOW - 20_000 }), { startedAt: NOW + 1 })).toBe(
      'forced refresh of k refused: the last one was 20s ago (cooldown 60s); send the rejected value as "stale" instead',
    );
    expect(message('read', row({ expiresAt: NOW - 1, failures: 1, retryAt: NOW + 2000 }))).toBe(
      `WeChat is failing for k (the last refresh failed); it is not asked again before ${iso(NOW + 2000)}`,
    );
    expect(message('read', row({ expiresAt: NOW - 1, failures: 3, retryAt: NOW + 4000 }))).toBe(
      `WeChat is failing for k (the last 3 refreshes failed); it is not asked again before ${iso(NOW + 4000)}`,
    );
    expect(message('read', blockedDead)).toBe(
      `k: WeChat's quota is exhausted (45009); no further calls until ${iso(NOW + 3600_000)}`,
    );
    expect(() => policy('stale')).toThrow('mode "stale" needs the rejected value');
  });
});
