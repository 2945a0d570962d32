/**
 * Random nonces for JS-SDK configs, sessions and the like. Pure (apart from the CSPRNG).
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 248 = 4 × 62: bytes at or above it are rejected, so every character is equally likely. */
const LIMIT = 248;

/** A string of `length` characters from [A-Za-z0-9], drawn from crypto.randomBytes without modulo bias. */
export function randomNonce(length = 16): string {
  if (!Number.isInteger(length) || length < 0) throw new RangeError('randomNonce: length must be a non-negative integer');
  let out = '';
  while (out.length < length) {
    // Ask for a little more than needed: about 3% of bytes are rejected.
    const bytes = randomBytes(Math.ceil((length - out.length) * 1.1) + 4);
    for (const byte of bytes) {
      if (byte >= LIMIT) continue;
      out += ALPHABET.charAt(byte % 62);
      if (out.length === length) break;
    }
  }
  return out;
}
