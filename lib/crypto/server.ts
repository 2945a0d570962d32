/**
 * Server-URL verification and plaintext push signature (docs/protocol.md §1.6). Pure functions.
 */
import { createHash } from 'node:crypto';
import { safeEqual } from './realm';

/** sha1 (lowercase hex) of the values sorted as plain strings and concatenated. */
export function sortedSha1(values: readonly string[]): string {
  return createHash('sha1')
    .update([...values].sort().join(''), 'utf8')
    .digest('hex');
}

/** sha1 (lowercase hex) of the three values sorted as plain strings and concatenated. */
export function serverSignature(token: string, timestamp: string, nonce: string): string {
  return sortedSha1([token, timestamp, nonce]);
}

/**
 * Checks a GET verification or plaintext push: `signature` over [token, timestamp, nonce], in
 * constant time. Upper-case hex passes too: WeChat sends lower case, but the value counts, not its spelling.
 */
export function verifyServerSignature(token: string, timestamp: string, nonce: string, signature: string): boolean {
  return safeEqual(serverSignature(token, timestamp, nonce), signature.toLowerCase());
}
