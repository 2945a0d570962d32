/**
 * Realm request signing, exactly as the wecred server checks it (wecred's README, "Signing"):
 *
 *   hex HMAC-SHA256(secret, METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" hex SHA256(body))
 *
 * PATH is the wecred route (`/` for the envelope): no deployment base path, no query string.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface SignInput {
  realm: string;
  secret: string;
  /** Upper-cased before signing. */
  method: string;
  /** The wecred route, e.g. `/`; a query string is dropped (it is never signed). */
  path: string;
  /** The exact body text sent ('' or omitted for none), hashed as UTF-8. */
  body?: string;
  /** Unix seconds; default now. The server accepts ±300 s. */
  timestamp?: number | string;
  /** 8–64 of [A-Za-z0-9_-], never reused; default 16 random characters. */
  nonce?: string;
}

export interface SignedHeaders {
  'X-Wecred-Realm': string;
  'X-Wecred-Timestamp': string;
  'X-Wecred-Nonce': string;
  'X-Wecred-Signature': string;
}

/** The four headers that sign one request, for callers using their own HTTP client. */
export function sign(input: SignInput): SignedHeaders {
  const timestamp = String(input.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = input.nonce ?? randomBytes(12).toString('base64url');
  const path = input.path.split('?')[0] ?? '';
  const bodyHash = createHash('sha256')
    .update(input.body ?? '', 'utf8')
    .digest('hex');
  const text = `${input.method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${bodyHash}`;
  return {
    'X-Wecred-Realm': input.realm,
    'X-Wecred-Timestamp': timestamp,
    'X-Wecred-Nonce': nonce,
    'X-Wecred-Signature': createHmac('sha256', input.secret).update(text, 'utf8').digest('hex'),
  };
}
