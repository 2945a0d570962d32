/** The one way a store failure is handled: logged once, and answered with the caller's own error. */
import type { LogFields, Logger } from '../log/logger';

/**
 * What a log line says about a store failure: the error's class and its code (ECONNREFUSED,
 * ER_LOCK_DEADLOCK, …), never its message, which may quote keys or values.
 */
export function storeErrorFields(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: typeof err };
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? { error: err.name, code } : { error: err.name };
}

/** `op` (a store call); its failure is logged as `store_failed` and thrown as `unavailable()`. */
export async function guardStore<T>(log: Logger, op: () => Promise<T>, unavailable: () => Error): Promise<T> {
  try {
    return await op();
  } catch (err) {
    log.log('error', 'store_failed', storeErrorFields(err));
    throw unavailable();
  }
}
