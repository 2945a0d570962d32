import { describe, expect, it } from 'vitest';
import { loadEvent } from '../../test/support/events';
import { matches, toResult } from './aws-schedule';

describe('aws-schedule adapter', () => {
  it('recognises the EventBridge scheduled event and nothing else', () => {
    expect(matches(loadEvent('aws-schedule'))).toBe(true);
    expect(matches({ source: 'aws.events', 'detail-type': 'EC2 Instance State-change Notification' })).toBe(false);
    expect(matches({ source: 'my.app', 'detail-type': 'Scheduled Event' })).toBe(false);
    expect(matches(loadEvent('scf-timer'))).toBe(false);
    expect(matches(loadEvent('aws-v2'))).toBe(false);
  });

  it('returns the refresh report with an overall flag', () => {
    expect(toResult({ checked: 1, refreshed: 1, failed: [] })).toEqual({
      ok: true,
      checked: 1,
      refreshed: 1,
      failed: [],
    });
  });
});
