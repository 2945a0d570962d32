/**
 * Signed, expiring tokens: JWTs (JWS compact, HS256 only) that any JWT library verifies with the
 * shared secret, and short MACs of identifiers for [A-Za-z0-9]-only places (WeChat's OAuth
 * state). Pure functions; each refuses a secret under 32 characters. docs/design.md §11.2.
 */
import { createHmac } from 'node:crypto';
import { safeEqual } from './realm';

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const SEGMENT = /^[A-Za-z0-9_-]*$/;
/** oauth.secret's minimum in the config (schema.ts). */
const MIN_SECRET_LENGTH = 32;

export type TokenClaims = Record<string, unknown>;

export type TokenFailure =
  /** Not three canonical base64url segments of JSON objects, or a claim of the wrong type. */
  | 'malformed'
  /** A header other than HS256, or `crit` extensions we do not understand. */
  | 'unsupported'
  | 'bad_signature'
  /** Past `exp`, or no numeric `exp` at all (these tokens always expire). */
  | 'expired'
  /** Before `nbf`. */
  | 'not_yet_valid';

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: TokenFailure };

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function checkSecret(fn: string, secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH)
    throw new TypeError(`${fn}: the secret must be at least ${MIN_SECRET_LENGTH} characters`);
}

function mac(secret: string, data: string): Buffer {
  return createHmac('sha256', secret).update(data, 'utf8').digest();
}

/** The compact HS256 token of `claims` (put `iat`/`exp` in them: see {@link verifyToken}). */
export function signToken(secret: string, claims: TokenClaims): string {
  checkSecret('signToken', secret);
  const signingInput = `${HEADER}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${mac(secret, signingInput).toString('base64url')}`;
}

/** A JSON object out of a canonical base64url segment, or undefined. */
function decodeSegment(segment: string): Record<string, unknown> | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  // Canonical only (only that encodes back to itself): otherwise padding, '+' '/' or the unused
  // bits of the last character could change unnoticed.
  if (bytes.toString('base64url') !== segment) return undefined;
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Check `token` against `secret` at `now` (epoch ms): the signature first, then `exp` (required)
 * and `nbf` (when present). Never throws for a bad token; throws for a short secret.
 */
export function verifyToken(secret: string, token: string, now: number): TokenCheck {
  checkSecret('verifyToken', secret);
  if (typeof token !== 'string' || token.length > 8192) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = decodeSegment(headerPart);
  if (!header) return { ok: false, reason: 'malformed' };
  if (header.alg !== 'HS256' || header.crit !== undefined || (header.typ !== undefined && header.typ !== 'JWT'))
    return { ok: false, reason: 'unsupported' };
  if (!SEGMENT.test(signaturePart)) return { ok: false, reason: 'malformed' };
  const expected = mac(secret, `${headerPart}.${claimsPart}`).toString('base64url');
  if (!safeEqual(signaturePart, expected)) return { ok: false, reason: 'bad_signature' };

  const claims = decodeSegment(claimsPart);
  if (!claims) return { ok: false, reason: 'malformed' };
  const { exp, nbf } = claims;
  if (exp !== undefined && typeof exp !== 'number') return { ok: false, reason: 'malformed' };
  if (nbf !== undefined && typeof nbf !== 'number') return { ok: false, reason: 'malformed' };
  if (typeof exp !== 'number' || !(now < exp * 1000)) return { ok: false, reason: 'expired' };
  if (typeof nbf === 'number' && now < nbf * 1000) return { ok: false, reason: 'not_yet_valid' };
  return { ok: true, claims };
}

/**
 * A MAC of `text` as `hexChars` hex characters (default 32 = 128 bits), keyed by `secret` and
 * bound to `purpose` so that a tag made for one use never passes for another.
 */
export function macHex(secret: string, purpose: string, text: string, hexChars = 32): string {
  checkSecret('macHex', secret);
  if (!Number.isInteger(hexChars) || hexChars < 16 || hexChars > 64)
    throw new RangeError('macHex: hexChars must be 16 to 64');
  return mac(secret, `${purpose}\n${text}`).toString('hex').slice(0, hexChars);
}

/** Constant-time check of a {@link macHex} tag of exactly `hexChars` characters. */
export function macHexMatches(secret: string, purpose: string, text: string, tag: string, hexChars = 32): boolean {
  return safeEqual(tag, macHex(secret, purpose, text, hexChars));
}
