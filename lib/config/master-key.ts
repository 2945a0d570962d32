/**
 * WECRED_MASTER_KEY's text form: the 32-byte key that seals secrets at rest (lib/crypto/at-rest).
 * See docs/design.md §3.5.
 */

/** A 32-byte key from base64 (44 characters) or hex (64 characters); surrounding whitespace is ignored. */
export function parseMasterKey(text: string): Buffer {
  const s = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(s)) {
    const key = Buffer.from(s, 'base64');
    if (key.toString('base64') === s) return key;
  }
  throw new Error(
    'must be 32 bytes as base64 (44 characters, e.g. from `openssl rand -base64 32`) or hex (64 characters)',
  );
}
