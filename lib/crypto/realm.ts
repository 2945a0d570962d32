/**
 * Realm request signing (docs/design.md §3.4). Pure functions.
 *
 *   signature = hex HMAC-SHA256(secret, METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA256(body)))
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function realmSignature(
  secret: string,
  p: { method: string; path: string; timestamp: string; nonce: string; body: string },
): string {
  const bodyHash = createHash('sha256').update(p.body, 'utf8').digest('hex');
  const text = `${p.method.toUpperCase()}\n${p.path}\n${p.timestamp}\n${p.nonce}\n${bodyHash}`;
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/**
 * Constant-time string comparison; strings of any lengths, nothing throws. Both sides are hashed
 * first (equal SHA-256 digests mean equal strings) so the comparison time does not depend on
 * where they differ nor on the length of the expected value.
 */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(
    createHash('sha256').update(a, 'utf8').digest(),
    createHash('sha256').update(b, 'utf8').digest(),
  );
}
