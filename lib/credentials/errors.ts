/**
 * Why a credential could not be served. The gateway maps each code to a returnCode;
 * messages are safe to show to callers (no secret, token or ticket in them). docs/design.md §3.1, §5.11.
 */
export type CredentialErrorCode =
  | 'upstream_unavailable' // WeChat could not be reached inside the request budget
  | 'upstream_error' //       WeChat answered an errcode we pass through
  | 'config_fault' //         WeChat says the deployment is misconfigured (appid, secret, IP allow-list, ...)
  | 'quota_exhausted' //      WeChat's quota or our daily budget used up; no further calls until it resets
  | 'budget_exhausted' //     an hourly budget (WeCom tickets) is used up; refused before calling WeChat
  | 'force_refused' //        forced refresh without `stale` inside the cooldown
  | 'busy' //                 another instance holds the refresh lease and did not finish in time
  | 'app_unauthorized' //     the account cancelled its authorization of our third-party platform (or WeChat says so)
  | 'no_pushed_ticket' //     a third-party platform has no usable ticket (component_verify_ticket, suite_ticket) pushed yet
  | 'store_unavailable'; //   the store failed

export class CredentialError extends Error {
  constructor(
    readonly code: CredentialErrorCode,
    message: string,
    /** WeChat's errcode, when WeChat answered one. */
    readonly errcode?: number,
  ) {
    super(message);
    this.name = 'CredentialError';
  }
}

/** The error every store failure of the credentials is answered with (lib/store/guard.ts logs the cause). */
export const storeUnavailable = () => new CredentialError('store_unavailable', 'the credential store is unavailable');
