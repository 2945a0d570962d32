import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../test/support/events';
import { matches, toResult } from './scf-timer';

describe('scf-timer adapter', () => {
  it('recognises the timer event and nothing else', () => {
    expect(matches(loadEvent('scf-timer'))).toBe(true);
    expect(matches({ Type: 'Timer' })).toBe(false);
    expect(matches({ Type: 'Cos', TriggerName: 'x' })).toBe(false);
    expect(matches(loadEvent('aws-schedule'))).toBe(false);
    expect(matches(loadEvent('scf-apigw'))).toBe(false);
  });

  it('returns the refresh report with an overall flag', () => {
    expect(toResult({ checked: 3, refreshed: 1, failed: [] })).toEqual({
      ok: true,
      checked: 3,
      refreshed: 1,
      failed: [],
    });
    expect(
      toResult({ checked: 2, refreshed: 0, failed: [{ key: 'mp:wx123:access_token', reason: 'upstream 40013' }] }),
    ).toEqual({
      ok: false,
      checked: 2,
      refreshed: 0,
      failed: [{ key: 'mp:wx123:access_token', reason: 'upstream 40013' }],
    });
  });
});
