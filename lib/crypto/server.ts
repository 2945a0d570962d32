/**
 * Server-URL verification and plaintext push signature (reference §1.6). Pure function.
 */
import { createHash } from 'node:crypto';

/** sha1 (lowercase hex) of the three values sorted as plain strings and concatenated. */
export function serverSignature(token: string, timestamp: string, nonce: string): string {
  return createHash('sha1').update([token, timestamp, nonce].sort().join(''), 'utf8').digest('hex');
}
