/**
 * The COS XML API request signature, `q-sign-algorithm=sha1` (docs/protocol.md §6). Pure
 * functions. Every intermediate value is returned: that is how the official vectors state them.
 */
import { createHash, createHmac } from 'node:crypto';

export interface CosSignInput {
  secretId: string;
  secretKey: string;
  method: string;
  /** The decoded path, e.g. `/exampleobject(腾讯云)`: COS signs the raw UTF-8, not %XX. */
  pathname: string;
  /** Decoded query parameters; a parameter without a value is ''. */
  query?: Readonly<Record<string, string>>;
  /** The headers to sign (which ones is the signer's choice; `host` is typical). */
  headers?: Readonly<Record<string, string>>;
  /** Unix seconds. */
  startTime: number;
  endTime: number;
}

export interface CosSignature {
  keyTime: string;
  signKey: string;
  httpParameters: string;
  urlParamList: string;
  httpHeaders: string;
  headerList: string;
  httpString: string;
  stringToSign: string;
  signature: string;
  /** The Authorization header value (or the query string of a presigned URL, once URL-encoded). */
  authorization: string;
}

/** encodeURIComponent, plus the five characters it leaves alone that COS wants encoded. */
export function cosUrlEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `k1=v1&k2=v2` and `k1;k2`: keys encoded then lowercased, values encoded, sorted by key. */
function canonicalPairs(pairs: Readonly<Record<string, string>> = {}): { joined: string; list: string } {
  const encoded = Object.entries(pairs)
    .map(([k, v]) => [cosUrlEncode(k).toLowerCase(), cosUrlEncode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { joined: encoded.map(([k, v]) => `${k}=${v}`).join('&'), list: encoded.map(([k]) => k).join(';') };
}

const hmacSha1 = (key: string, msg: string) => createHmac('sha1', key).update(msg, 'utf8').digest('hex');
const sha1 = (msg: string) => createHash('sha1').update(msg, 'utf8').digest('hex');

export function cosSign(input: CosSignInput): CosSignature {
  const keyTime = `${input.startTime};${input.endTime}`;
  const signKey = hmacSha1(input.secretKey, keyTime);
  const params = canonicalPairs(input.query);
  const headers = canonicalPairs(input.headers);
  const httpString = `${input.method.toLowerCase()}\n${input.pathname}\n${params.joined}\n${headers.joined}\n`;
  const stringToSign = `sha1\n${keyTime}\n${sha1(httpString)}\n`;
  const signature = hmacSha1(signKey, stringToSign);
  const authorization = [
    'q-sign-algorithm=sha1',
    `q-ak=${input.secretId}`,
    `q-sign-time=${keyTime}`,
    `q-key-time=${keyTime}`,
    `q-header-list=${headers.list}`,
    `q-url-param-list=${params.list}`,
    `q-signature=${signature}`,
  ].join('&');
  return {
    keyTime,
    signKey,
    httpParameters: params.joined,
    urlParamList: params.list,
    httpHeaders: headers.joined,
    headerList: headers.list,
    httpString,
    stringToSign,
    signature,
    authorization,
  };
}
