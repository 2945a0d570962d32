/**
 * WeChat JS-SDK and card signatures (docs/protocol.md §1.4, §1.5, §4.4). Pure functions.
 */
import { hash } from 'node:crypto';

/** One-shot hashing: no Hash object per signature on the warm wx.config path. */
function sha1Hex(text: string): string {
  return hash('sha1', text, 'hex');
}

/**
 * The `wx.config` / `wx.agentConfig` signature: lowercase hex sha1 of
 * `jsapi_ticket=…&noncestr=…&timestamp=…&url=…` with the raw (unescaped) values.
 * The url is signed exactly as given: strip its fragment first with {@link withoutFragment}.
 */
export function jsapiSignature(p: { ticket: string; nonceStr: string; timestamp: number; url: string }): string {
  return sha1Hex(`jsapi_ticket=${p.ticket}&noncestr=${p.nonceStr}&timestamp=${p.timestamp}&url=${p.url}`);
}

/** The url without `#` and everything after it (the JS-SDK signs the page url without its fragment). */
export function withoutFragment(url: string): string {
  const i = url.indexOf('#');
  return i < 0 ? url : url.slice(0, i);
}

/**
 * Card signature (cardExt.signature / chooseCard cardSign): the values sorted as strings,
 * concatenated with no separator, sha1 as lowercase hex. Pass only the values that are present.
 */
export function cardSignature(values: string[]): string {
  // Default sort compares UTF-16 code units, i.e. plain string order (byte order for ASCII values).
  return sha1Hex([...values].sort().join(''));
}
