/**
 * Test access to the real database servers (MariaDB, Redis) and to dynalite: each helper hands out an isolated store
 * as a `TestStore` (`env`: what a child process needs besides the URL). A missing server skips its tests loudly,
 * except under CI=true, where it is a failure (docs/design.md §9).
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
