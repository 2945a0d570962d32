/**
 * Random nonces for JS-SDK configs, sessions and the like. Pure (apart from the CSPRNG). docs/design.md §11.
 */
import { randomFillSync } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 248 = 4 × 62: bytes at or above it are rejected, so every character is equally likely. */
const LIMIT = 248;

// CSPRNG bytes are drawn 4 KiB at a time: one getrandom call serves some 250 nonces, which
// matters on the warm wx.config path (a syscall per request costs more than the signature).
// Each byte is used once and the pool is refilled, never reused.
const pool = Buffer.alloc(4096);
let next = pool.length;

function randomByte(): number {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]!;
}

/** A string of `length` characters from [A-Za-z0-9], from the CSPRNG without modulo bias. */
export function randomNonce(length = 16): string {
  if (!Number.isInteger(length) || length < 0)
    throw new RangeError('randomNonce: length must be a non-negative integer');
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < LIMIT) out += ALPHABET.charAt(byte % 62);
  }
  return out;
}
