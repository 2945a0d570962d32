/**
 * The returnCodes of a failed login code exchange, shared by oauth.* and session.* (lib/sessions/login-errors.ts).
 * docs/design.md §11.2.
 */
import type { ExchangeFailure } from '../sessions/login-errors';
import type { ErrorName } from './errors';

export const EXCHANGE_ERRORS: Record<ExchangeFailure, ErrorName> = {
  // One returnCode (40029) for every refused code, WeChat's own errcode beside it.
  code_invalid: 'bad_code',
  code_used: 'bad_code',
  code_expired: 'bad_code',
  code_blocked: 'bad_code',
  upstream_unavailable: 'upstream_unavailable',
  upstream_config: 'config_fault',
  upstream_quota: 'quota_exhausted',
  upstream_error: 'upstream_error',
};
