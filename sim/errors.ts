/**
 * WeChat-style error answers: HTTP 200, `{"errcode":N,"errmsg":"<text>, rid: <hex>"}`.
 * errmsg texts follow docs/protocol.md §1, §2 (OAuth) and §5.
 */
import { randomBytes } from 'node:crypto';
import type { SimResponse } from './types';

export const JSON_CONTENT_TYPE = 'application/json; encoding=utf-8';

export const ERRMSG: Readonly<Record<number, string>> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40003: 'invalid openid',
  40013: 'invalid appid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40030: 'invalid refresh_token',
  40097: 'invalid args',
  40125: 'invalid appsecret',
  40163: 'code been used',
  40164: 'invalid ip, not in whitelist',
  41001: 'access_token missing',
  41002: 'appid missing',
  41003: 'refresh_token missing',
  41004: 'appsecret missing',
  41008: 'missing code',
  42001: 'access_token expired',
  42002: 'refresh_token expired',
  42003: 'code expired',
  43002: 'require POST method',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit mustslower retry next minute',
  47001: 'data format error',
  48001: 'api unauthorized',
  48006: 'forbid to clear quota because of reaching the limit',
};

/** A request id like real WeChat's `64c9165c-4a799d77-6328edd8`. */
export function rid(): string {
  const t = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, '0');
  const r = randomBytes(8).toString('hex');
  return `${t}-${r.slice(0, 8)}-${r.slice(8)}`;
}

/** errmsg with the `, rid: ...` suffix real WeChat appends. */
export function errmsgOf(errcode: number, errmsg?: string): string {
  return `${errmsg ?? ERRMSG[errcode] ?? 'system error'}, rid: ${rid()}`;
}

/** The HTTP 200 JSON error answer. */
export function wxError(errcode: number, errmsg?: string): SimResponse {
  return { status: 200, body: { errcode, errmsg: errmsgOf(errcode, errmsg) } };
}

/** A success answer (JSON, HTTP 200). */
export function wxOk(body: object): SimResponse {
  return { status: 200, body };
}
