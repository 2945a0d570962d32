import { describe, expect, it } from 'vitest';
import { randomNonce } from './random';

describe('randomNonce', () => {
  it('defaults to 16 characters of [A-Za-z0-9]', () => {
    expect(randomNonce()).toMatch(/^[A-Za-z0-9]{16}$/);
  });
  it('honours the requested length', () => {
    for (const n of [0, 1, 8, 32, 64, 1000]) expect(randomNonce(n)).toHaveLength(n);
    expect(randomNonce(1000)).toMatch(/^[A-Za-z0-9]*$/);
  });
  it('rejects a bad length', () => {
    expect(() => randomNonce(-1)).toThrow(new RangeError('randomNonce: length must be a non-negative integer'));
    expect(() => randomNonce(1.5)).toThrow(RangeError);
  });
  it('does not repeat', () => {
    const seen = new Set(Array.from({ length: 10_000 }, () => randomNonce()));
    expect(seen.size).toBe(10_000);
  });
  it('uses the whole alphabet', () => {
    const chars = new Set(randomNonce(20_000));
    expect(chars.size).toBe(62);
  });
  it('draws every character equally often (no modulo bias)', () => {
    // 620 000 draws: 10 000 of each expected, σ ≈ 100. A byte % 62 over all 256 bytes would give
    // A-H a quarter more (5/256 instead of 1/62); the bound is 6σ either way.
    const counts = new Map<string, number>();
    for (const c of randomNonce(620_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    for (const [c, n] of counts) expect(Math.abs(n - 10_000), c).toBeLessThan(600);
  });
});
