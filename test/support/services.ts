/**
 * Test access to the real database servers (MariaDB, Redis) and to dynalite.
 *
 * Each helper hands out an isolated store (its own database, key prefix or table) as a
 * `TestStore`; `env` holds what a child process needs besides the URL (e.g. AWS credentials).
 * When a server does not answer, the tests that need it skip with a loud line, except under
 * CI=true, where a missing server is a failure: CI must never pass by skipping.
 */
export interface TestStore {
  /** A store URL for openStore / WECRED_STORE. */
  url: string;
  /** Extra environment variables for child processes that open `url`. */
  env: Record<string, string>;
  /** Drop what the helper created and release its connections. */
  close(): Promise<void>;
}

/** Null (after a loud line) when not under CI; throws under CI. */
export function serviceUnavailable(service: string, err: unknown): null {
  const reason = err instanceof Error ? err.message : String(err);
  if (process.env.CI === 'true') throw new Error(`${service} is required under CI=true but does not answer: ${reason}`);
  console.warn(
    `\n!!! SKIPPING ${service} TESTS: ${service} does not answer (${reason}). Start it or set CI=true to make this a failure.\n`,
  );
  return null;
}
