/** What a log line may say about an unexpected error. docs/design.md §15. */
import type { LogFields } from './logger';

/**
 * The error's class and the frame that threw it, never its message: a message may quote data
 * (JSON.parse's quotes its input, which may be a stored record holding user data).
 */
export function crashFields(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: typeof err };
  const frame = err.stack
    ?.split('\n')
    .find((line) => line.trimStart().startsWith('at '))
    ?.trim();
  return frame === undefined ? { error: err.name } : { error: err.name, at: frame };
}
