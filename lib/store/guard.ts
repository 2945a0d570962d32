/**
 * The one way a store call is guarded: bounded in time, a failure logged once and answered with the caller's own error.
 * docs/design.md §6.1, §6.4.
 */
import type { LogFields, Logger } from '../log/logger';

/** A store call that takes longer than this is a store that is not there (docs/design.md §6). */
export const STORE_TIMEOUT_MS = 2_000;

/**
 * What a log line says about a store failure: the error's class and its code (ECONNREFUSED,
 * ER_LOCK_DEADLOCK, …), never its message, which may quote keys or values.
 */
export function storeErrorFields(err: unknown): LogFields {
  if (!(err instanceof Error)) return { error: typeof err };
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? { error: err.name, code } : { error: err.name };
}

/** No answer from the store in time (the call itself may still end later; its outcome is ignored). */
export class StoreTimeout extends Error {
  constructor() {
    super('the store did not answer in time');
    this.name = 'StoreTimeout';
  }
}

/** `p`, or a StoreTimeout after `ms`. */
export function withinStoreTimeout<T>(p: Promise<T>, ms: number = STORE_TIMEOUT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeout()), Math.max(1, ms));
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** `op` (a store call), within the store timeout; its failure is logged as `store_failed` and thrown as `unavailable()`. */
export async function guardStore<T>(log: Logger, op: () => Promise<T>, unavailable: () => Error): Promise<T> {
  try {
    return await withinStoreTimeout(op());
  } catch (err) {
    log.log('error', 'store_failed', storeErrorFields(err));
    throw unavailable();
  }
}
