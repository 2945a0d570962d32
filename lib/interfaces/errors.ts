/**
 * returnCodes (docs/design.md §3.1). Wafer's numbers where a Wafer client can meet them; our own in
 * the 7xxx range. Each carries the HTTP status used when the error is answered on a route
 * (the envelope always answers 200).
 */
import { CredentialError } from '../credentials/errors';

export const RETURN_CODES = {
  ok: [0, 200],
  no_interface: [1002, 400],
  bad_para: [1003, 400],
  upstream_unavailable: [1005, 503],
  not_json: [1009, 400],
  unknown_interface: [1010, 404],
  no_para: [1011, 400],
  unknown_app: [1012, 404],
  bad_code: [40029, 400],
  session_expired: [60011, 401],
  session_invalid: [60012, 401],
  decrypt_failed: [60021, 400],
  unsigned: [7001, 401],
  bad_signature: [7002, 401],
  stale_timestamp: [7003, 401],
  replayed_nonce: [7004, 401],
  app_not_allowed: [7005, 403],
  interface_not_allowed: [7006, 403],
  resource_not_allowed: [7007, 403],
  quota_exhausted: [7101, 429],
  force_refused: [7102, 429],
  busy: [7103, 503],
  budget_exhausted: [7104, 429],
  decrypt_locked: [7105, 429],
  rate_limited: [7106, 429],
  store_unavailable: [7201, 503],
  upstream_error: [7301, 502],
  config_fault: [7302, 502],
  app_unauthorized: [7303, 403],
  no_pushed_ticket: [7304, 503],
  body_too_large: [7401, 413],
  method_not_allowed: [7402, 405],
  not_found: [7404, 404],
  internal: [7500, 500],
} as const satisfies Record<string, readonly [number, number]>;

export type ErrorName = keyof typeof RETURN_CODES;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorName,
    message: string,
    /** WeChat's errcode passed through, when the failure came from WeChat. */
    readonly errcode?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get returnCode(): number {
    return RETURN_CODES[this.code][0];
  }
  get httpStatus(): number {
    return RETURN_CODES[this.code][1];
  }
  /** The machine-readable error object put beside returnData (envelope) or as the body (routes). */
  toJSON(): { code: ErrorName; message: string; errcode?: number } {
    return this.errcode === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, errcode: this.errcode };
  }
}

/** Any failure as an ApiError; unexpected ones become 'internal' without their details. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  // Every CredentialErrorCode is an ErrorName of the same meaning.
  if (err instanceof CredentialError) return new ApiError(err.code, err.message, err.errcode);
  return new ApiError('internal', 'internal error');
}
