/**
 * JS-SDK wx.config signature, computed independently from docs/protocol.md §1.4:
 * fields jsapi_ticket, noncestr, timestamp, url sorted by name, joined as k=v&k=v with raw
 * (unescaped) values, sha1, lowercase hex.
 */
import { createHash } from 'node:crypto';

export interface JsapiSignInput {
  ticket: string;
  nonceStr: string;
  timestamp: number | string;
  url: string;
}

export function jsapiString1(p: JsapiSignInput): string {
  const fields: Record<string, string> = {
    noncestr: p.nonceStr,
    jsapi_ticket: p.ticket,
    timestamp: String(p.timestamp),
    url: p.url,
  };
  return Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
}

export function jsapiSignature(p: JsapiSignInput): string {
  return createHash('sha1').update(jsapiString1(p), 'utf8').digest('hex');
}

/** True when `signature` signs the fields with one of `tickets`. A url with '#' never verifies. */
export function verifyJsapi(
  tickets: readonly string[],
  p: { url: string; nonceStr: string; timestamp: number; signature: string },
): boolean {
  if (p.url.includes('#')) return false;
  return tickets.some(
    (ticket) => jsapiSignature({ ticket, nonceStr: p.nonceStr, timestamp: p.timestamp, url: p.url }) === p.signature,
  );
}
