/**
 * Server-URL verification and plaintext push signature (reference §1.6). Pure functions.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** sha1 (lowercase hex) of the values sorted as plain strings and concatenated. */
export function sortedSha1(values: readonly string[]): string {
  return createHash('sha1').update([...values].sort().join(''), 'utf8').digest('hex');
}

/** sha1 (lowercase hex) of the three values sorted as plain strings and concatenated. */
export function serverSignature(token: string, timestamp: string, nonce: string): string {
  return sortedSha1([token, timestamp, nonce]);
}

/**
 * Whether `given` is the hex sha1 `expected`, compared in constant time. Upper-case hex is
 * accepted (WeChat sends lower case; the signature's value, not its spelling, is what counts).
 */
export function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Checks a GET verification or plaintext push: `signature` over [token, timestamp, nonce]. */
export function verifyServerSignature(token: string, timestamp: string, nonce: string, signature: string): boolean {
  return sameSignature(serverSignature(token, timestamp, nonce), signature);
}
