import { describe, expect, it } from 'vitest';
import { emptyRow, parseJsonObject, parseRow, releasedRow } from './row';

describe('parseJsonObject', () => {
  it('gives JSON objects only', () => {
    expect(parseJsonObject('{"a":1}')).toEqual({ a: 1 });
    for (const text of ['', '{', 'null', '[]', '"x"', '3', 'true']) expect(parseJsonObject(text), text).toBeNull();
  });
});

describe('parseRow', () => {
  const row = { key: 'k', value: 'v', version: 2, leaseOwner: 'o', leaseBeat: 5, expiresAt: 9 };
  it('reads a row of its key, later fields defaulting to 0, and nothing that is not one', () => {
    expect(parseRow(JSON.stringify(row), 'k')).toEqual({ ...emptyRow('k'), ...row });
    expect(parseRow(JSON.stringify({ ...row, forcedAt: 'x', blockedUntil: null }), 'k')).toMatchObject({
      forcedAt: 0,
      blockedUntil: 0,
    });
    for (const bad of [
      { ...row, key: 'other' },
      { ...row, value: 1 },
      { ...row, version: '2' },
      { ...row, version: Number.NaN },
      { ...row, leaseOwner: null },
    ])
      expect(parseRow(JSON.stringify(bad), 'k'), JSON.stringify(bad)).toBeNull();
    expect(parseRow('{"key":"k","value":"v","version":1e999,"leaseOwner":"","leaseUntil":0}', 'k')).toBeNull();
  });
});

describe('releasedRow', () => {
  it("clears only its owner's lease, never for owner '', and says when nothing changes", () => {
    const free = emptyRow('k');
    expect(releasedRow(free, '', undefined)).toBeNull();
    expect(releasedRow({ ...free, blockedUntil: 7 }, 'x', { blockedUntil: 7 })).toBeNull();
    expect(releasedRow({ ...free, blockedUntil: 7 }, 'x', { blockedUntil: 8 })).toMatchObject({ blockedUntil: 8 });
    expect(releasedRow({ ...free, leaseOwner: 'o', leaseBeat: 9 }, 'o', undefined)).toMatchObject({
      leaseOwner: '',
      leaseBeat: 9,
    });
    expect(releasedRow({ ...free, leaseOwner: 'o' }, 'x', { failures: 2, retryAt: 5 })).toMatchObject({
      leaseOwner: 'o',
      failures: 2,
      retryAt: 5,
    });
  });
});
