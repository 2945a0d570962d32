import { describe, expect, it } from 'vitest';
import { storeConformance } from '../../test/support/store-conformance';
import { createMemoryStore } from './memory';

// One store in one process: every handle the suite opens (two instances among them) is the same one.
const shared = createMemoryStore();
storeConformance('memory', async () => shared);

describe('memory store sweep', () => {
  it('every thousand writes drops what expired by that write, and nothing still live', async () => {
    const store = createMemoryStore();
    const now = 1_000_000;
    expect(await store.insertIfAbsent('live-nonce', now + 10_000, now)).toBe(true);
    expect(await store.increment('live-counter', 3, now + 10_000, now)).toBe(3);
    await store.putRecord('live-record', 'v', now + 10_000, now);
    for (let i = 0; i < 2100; i++) await store.insertIfAbsent(`n${i}`, now + 5, now + (i % 3));
    expect(await store.insertIfAbsent('live-nonce', now + 10_000, now + 1)).toBe(false);
    expect(await store.increment('live-counter', 0, now + 10_000, now + 1)).toBe(3);
    expect(await store.getRecord('live-record', now + 1)).toBe('v');
  });
});
