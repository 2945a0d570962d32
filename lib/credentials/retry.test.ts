import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { attemptTimeout, retryWithin } from './retry';

const transient = new Error('transient');
const fatal = new Error('fatal');
const retryable = (err: unknown) => err === transient;

/** An attempt failing with `errors` in turn, then answering 'ok'; `calls` counts them. */
function failing(...errors: Error[]) {
  const a = {
    calls: 0,
    run: async () => (a.calls < errors.length ? Promise.reject(errors[a.calls++]) : `ok${++a.calls}`),
  };
  return a;
}

describe('retryWithin', () => {
  it('retries a retryable failure until the attempt succeeds', async () => {
    const a = failing(transient, transient);
    const retries: number[] = [];
    const out = await retryWithin(performance.now() + 5000, a.run, {
      attempts: Number.POSITIVE_INFINITY,
      retryable,
      onRetry: (n) => retries.push(n),
    });
    expect(out).toBe('ok3');
    expect(retries).toEqual([2, 3]);
  });

  it('stops at the first error that is not retryable, and at the attempt limit', async () => {
    const a = failing(transient, fatal, transient);
    await expect(retryWithin(performance.now() + 5000, a.run, { attempts: 10, retryable })).rejects.toBe(fatal);
    expect(a.calls).toBe(2);
    const b = failing(transient, transient);
    await expect(retryWithin(performance.now() + 5000, b.run, { attempts: 1, retryable })).rejects.toBe(transient);
    expect(b.calls).toBe(1);
  });

  it('never sleeps past the deadline: with no room for a backoff, the last error is thrown at once', async () => {
    const a = failing(transient, transient, transient, transient, transient, transient, transient, transient);
    const started = performance.now();
    await expect(retryWithin(started + 400, a.run, { attempts: Number.POSITIVE_INFINITY, retryable })).rejects.toBe(
      transient,
    );
    expect(performance.now() - started).toBeLessThan(400);
    expect(a.calls).toBeGreaterThanOrEqual(2);
  });
});

describe('attemptTimeout', () => {
  it('is what is left of the deadline, at most the configured timeout, and refuses to start with under 20 ms', () => {
    const now = performance.now();
    expect(attemptTimeout(now + 60_000, 5000, 'wx1')()).toBe(5000);
    const left = attemptTimeout(now + 1000, 5000, 'wx1')();
    expect(left).toBeGreaterThan(900);
    expect(left).toBeLessThanOrEqual(1000);
    expect(() => attemptTimeout(now + 10, 5000, 'wx1')()).toThrow(
      /no time left in the request budget to reach upstream for wx1/,
    );
  });
});
