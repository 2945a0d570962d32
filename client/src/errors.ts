/**
 * A failed wecred call, and how to tell that WeChat rejected an access_token in an error thrown
 * by any SDK (co-wechat-api and wechat-api set `code`, others `errcode`, some only say it).
 */

/** returnCodes of failures on this side of the wire (the server's are 0 and up). */
export const CLIENT_CODES = { timeout: -1, network: -2, bad_answer: -3 } as const;

export type ClientErrorCode = keyof typeof CLIENT_CODES;

export class WecredError extends Error {
  override readonly name = 'WecredError';
  constructor(
    /** The server's returnCode (README "returnCodes"), or a CLIENT_CODES value. */
    readonly returnCode: number,
    readonly returnMessage: string,
    /** The server's error.code (`bad_signature`, `interface_not_allowed`, …) or a ClientErrorCode. */
    readonly code: string,
    /** HTTP status of the answer; 0 when none came. */
    readonly status: number,
    readonly interfaceName: string,
    /** WeChat's errcode, when the server passed one on. */
    readonly errcode?: number,
  ) {
    super(`${interfaceName}: ${returnMessage} (returnCode ${returnCode})`);
  }
}

/** WeChat's answers to a token it no longer takes: invalid or replaced, WeCom's early end, expired. */
export const TOKEN_REJECTED = [40001, 40014, 42001] as const;

const asCode = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v)
    ? v
    : typeof v === 'string' && /^-?\d{1,6}$/.test(v)
      ? Number(v)
      : undefined;

/**
 * WeChat's errcode carried by `err`: an `errcode` or numeric `code` property (also on
 * `err.data` / `err.response.data`, as HTTP libraries keep answers), else none. A rejected-token
 * errcode named in the message counts too (see isTokenRejected).
 */
export function wechatErrcode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { errcode?: unknown; code?: unknown; data?: unknown; response?: { data?: unknown } };
  for (const holder of [e, e.data, e.response?.data]) {
    if (typeof holder !== 'object' || holder === null) continue;
    const h = holder as { errcode?: unknown; code?: unknown };
    const code = asCode(h.errcode) ?? asCode(h.code);
    if (code !== undefined) return code;
  }
  return undefined;
}

/** Whether `err` says WeChat rejected the access_token used (40001, 40014, 42001). */
export function isTokenRejected(err: unknown): boolean {
  const code = wechatErrcode(err);
  if (code !== undefined) return (TOKEN_REJECTED as readonly number[]).includes(code);
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  return TOKEN_REJECTED.some((c) => new RegExp(`(^|\\D)${c}(\\D|$)`).test(message));
}
