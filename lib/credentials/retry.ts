/** Upstream attempts inside a deadline: per-attempt timeouts and retries with backoff (docs/design.md §5.6). */
import { performance } from 'node:perf_hooks';
import { CredentialError } from './errors';

/** An upstream call with less time than this left is not worth starting. */
const MIN_ATTEMPT_MS = 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * An upstream attempt's timeout: what is left until `deadline` (performance.now()), at most
 * `timeoutMs`. Throws upstream_unavailable when less than MIN_ATTEMPT_MS is left, so nothing is
 * started (or counted) without time to finish.
 */
export function attemptTimeout(deadline: number, timeoutMs: number, owner: string): () => number {
  return () => {
    const left = Math.min(timeoutMs, deadline - performance.now());
    if (left < MIN_ATTEMPT_MS) {
      throw new CredentialError(
        'upstream_unavailable',
        `no time left in the request budget to reach upstream for ${owner}`,
      );
    }
    return left;
  };
}

export interface RetryOptions {
  /** At most this many attempts (Infinity: as many as the deadline allows). */
  attempts: number;
  retryable(err: unknown): boolean;
  /** Called before each retry (attempt numbers from 2). */
  onRetry?(attempt: number, err: unknown): void;
}

/**
 * `attempt` until it succeeds, fails with an error not `retryable`, runs out of attempts, or the
 * next backoff (exponential from 100 ms, at most 2 s, jittered) would not leave 100 ms before
 * `deadline`; then its last error is thrown.
 */
export async function retryWithin<T>(deadline: number, attempt: () => Promise<T>, o: RetryOptions): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const backoff = Math.min(2000, 100 * 2 ** (n - 1)) * (0.5 + Math.random());
      if (!o.retryable(err) || n >= o.attempts || deadline - performance.now() < backoff + 100) throw err;
      o.onRetry?.(n + 1, err);
      await sleep(backoff);
    }
  }
}
