import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { macHex, macHexMatches, signToken, verifyToken } from './signed';

/*
 * Vectors computed independently of this module with OpenSSL:
 *
 *   b64u() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
 *   h=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64u)
 *   p=$(printf '%s' "$CLAIMS" | b64u)
 *   printf '%s' "$h.$p" | openssl dgst -sha256 -hmac "$SECRET" -binary | b64u
 *
 * The first is jwt.io's well-known HS256 example: correct, but its secret "your-256-bit-secret"
 * is too short here (under 32 characters), so it must be refused.
 */
const JWT_IO =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const SECRET = 'oauth-secret-0123456789-0123456789';
const CLAIMS = {
  iss: 'wecred',
  appid: 'wx1234567890abcdef',
  openid: 'oAbC',
  scope: 'snsapi_base',
  iat: 1700000000,
  exp: 1700000300,
};
const VECTOR =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ3ZWNyZWQiLCJhcHBpZCI6Ind4MTIzNDU2Nzg5MGFiY2RlZiIsIm9wZW5pZCI6Im9BYkMiLCJzY29wZSI6InNuc2FwaV9iYXNlIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAzMDB9.DVX6-6xx-fCmBiLB9gDWrZ48ITLxtwgGwbR1ar9pyYU';
const NOW = 1700000100_000;

const b64u = (s: string) => Buffer.from(s).toString('base64url');
/** A token with any header and claims, correctly signed. */
function forge(secret: string, header: unknown, claims: unknown): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('signToken', () => {
  it('produces the standard HS256 JWT (known vector)', () => {
    expect(signToken(SECRET, CLAIMS)).toBe(VECTOR);
    expect(forge(SECRET, { alg: 'HS256', typ: 'JWT' }, CLAIMS)).toBe(VECTOR);
  });

  it('carries non-ASCII claims (UTF-8)', () => {
    const token = signToken(SECRET, { nickname: '微信用户 🐼', exp: 1700000300 });
    expect(verifyToken(SECRET, token, NOW)).toEqual({ ok: true, claims: { nickname: '微信用户 🐼', exp: 1700000300 } });
  });
});

describe('secrets under 32 characters', () => {
  it("are refused when signing and when verifying (a token \"signed\" with '' must not verify with '')", () => {
    const claims = { ...CLAIMS, exp: NOW / 1000 + 60 };
    for (const short of ['', 'x', SECRET.slice(0, 31)]) {
      expect(() => signToken(short, claims)).toThrow(TypeError);
      expect(() => verifyToken(short, forge(short, { alg: 'HS256', typ: 'JWT' }, claims), NOW)).toThrow(TypeError);
      expect(() => macHex(short, 'a', 'text')).toThrow(TypeError);
      expect(() => macHexMatches(short, 'a', 'text', 'tag')).toThrow(TypeError);
    }
    expect(() => verifyToken(undefined as unknown as string, VECTOR, NOW)).toThrow(TypeError);
    expect(() => verifyToken('your-256-bit-secret', JWT_IO, NOW)).toThrow(TypeError);
    expect(() => signToken(12345 as unknown as string, claims)).toThrow(
      new TypeError('signToken: the secret must be at least 32 characters'),
    );
    expect(() => verifyToken('x', VECTOR, NOW)).toThrow(
      new TypeError('verifyToken: the secret must be at least 32 characters'),
    );
    expect(() => macHex('x', 'a', 'text')).toThrow(new TypeError('macHex: the secret must be at least 32 characters'));
    const exactly32 = SECRET.slice(0, 32);
    expect(verifyToken(exactly32, signToken(exactly32, claims), NOW).ok).toBe(true);
  });
});

describe('verifyToken', () => {
  it('accepts a valid token and returns its claims', () => {
    expect(verifyToken(SECRET, VECTOR, NOW)).toEqual({ ok: true, claims: CLAIMS });
  });

  it("checks the signature of a foreign token before its claims (jwt.io's claims: signature fine, no exp)", () => {
    const noExp = forge(SECRET, { alg: 'HS256', typ: 'JWT' }, { sub: '1234567890', name: 'John Doe', iat: 1516239022 });
    expect(verifyToken(SECRET, noExp, NOW)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyToken('another-secret-0123456789-0123456789', noExp, NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('expires at exp (unix seconds), and honours nbf', () => {
    expect(verifyToken(SECRET, VECTOR, 1700000299_999).ok).toBe(true);
    expect(verifyToken(SECRET, VECTOR, 1700000300_000)).toEqual({ ok: false, reason: 'expired' });
    const later = signToken(SECRET, { nbf: 1700000200, exp: 1700000300 });
    expect(verifyToken(SECRET, later, NOW)).toEqual({ ok: false, reason: 'not_yet_valid' });
    expect(verifyToken(SECRET, later, 1700000200_000).ok).toBe(true);
  });

  it('refuses every altered part', () => {
    const [h, p, s] = VECTOR.split('.') as [string, string, string];
    const otherClaims = b64u(JSON.stringify({ ...CLAIMS, openid: 'oEvil' }));
    const flip = (x: string) => (x[0] === 'A' ? 'B' : 'A') + x.slice(1);
    expect(verifyToken(SECRET, `${h}.${otherClaims}.${s}`, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyToken(SECRET, `${h}.${p}.${flip(s)}`, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyToken(SECRET, `${h}.${p}.`, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyToken('oauth-secret-0123456789-012345678X', VECTOR, NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    // the last character's unused bits: same bytes, other text
    const last = s.at(-1)!;
    const twin = s.slice(0, -1) + (last === 'U' ? 'V' : 'U');
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(s, 'base64url'))).toBe(true);
    expect(verifyToken(SECRET, `${h}.${p}.${twin}`, NOW).ok).toBe(false);
  });

  it('refuses other algorithms, "none" and unknown critical extensions even when "signed"', () => {
    const none = `${b64u('{"alg":"none","typ":"JWT"}')}.${b64u(JSON.stringify(CLAIMS))}.`;
    expect(verifyToken(SECRET, none, NOW)).toEqual({ ok: false, reason: 'unsupported' });
    expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS512', typ: 'JWT' }, CLAIMS), NOW)).toEqual({
      ok: false,
      reason: 'unsupported',
    });
    expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS256', crit: ['exp'] }, CLAIMS), NOW)).toEqual({
      ok: false,
      reason: 'unsupported',
    });
    expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS256', typ: 'JOSE+JSON' }, CLAIMS), NOW)).toEqual({
      ok: false,
      reason: 'unsupported',
    });
    // no typ is fine
    expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS256' }, CLAIMS), NOW).ok).toBe(true);
  });

  it('refuses a non-canonical claims segment even under a valid signature', () => {
    const [h] = VECTOR.split('.') as [string];
    const p = b64u(JSON.stringify({ ...CLAIMS, n: 12 })); // 151 bytes: the last character has unused bits
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    expect(Buffer.from(p, 'base64url').length % 3).not.toBe(0);
    const twin = p.slice(0, -1) + alphabet[alphabet.indexOf(p.at(-1)!) ^ 1];
    expect(Buffer.from(twin, 'base64url')).toEqual(Buffer.from(p, 'base64url'));
    const input = `${h}.${twin}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expect(verifyToken(SECRET, token, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('takes tokens up to 8192 characters, refuses longer ones', () => {
    const sized = (length: number) => {
      const probe = signToken(SECRET, { exp: 1700000300, pad: '' });
      // base64url: every 3 characters of claims JSON make 4 of the token
      let pad = 'x'.repeat(Math.floor(((length - probe.length) * 3) / 4));
      while (signToken(SECRET, { exp: 1700000300, pad }).length < length) pad += 'x';
      const token = signToken(SECRET, { exp: 1700000300, pad });
      expect(token.length).toBeGreaterThanOrEqual(length);
      return token;
    };
    const exact = sized(8192);
    expect(exact.length).toBe(8192);
    expect(verifyToken(SECRET, exact, NOW).ok).toBe(true);
    expect(verifyToken(SECRET, sized(8200), NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses malformed tokens without throwing', () => {
    for (const bad of ['', 'a.b', 'a.b.c.d', '...', `${VECTOR}.`, 'eyJ!.eyJ.x', 'x'.repeat(9000)]) {
      expect(verifyToken(SECRET, bad, NOW).ok).toBe(false);
    }
    expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS256' }, [1, 2]), NOW)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS256' }, { exp: '1700000300' }), NOW)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS256' }, { exp: 1700000300, nbf: 'x' }), NOW)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS256' }, { sub: 'x' }), NOW)).toEqual({
      ok: false,
      reason: 'expired',
    });
    expect(verifyToken(SECRET, 42 as unknown as string, NOW)).toEqual({ ok: false, reason: 'malformed' });
    for (const claims of [null, 42, 'text', true]) {
      expect(verifyToken(SECRET, forge(SECRET, { alg: 'HS256' }, claims), NOW), String(claims)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
    const [h, p] = VECTOR.split('.') as [string, string];
    expect(verifyToken(SECRET, `${b64u('not json')}.${p}.x`, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyToken(SECRET, `${h}.${p}.not+base64url`, NOW)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('macHex', () => {
  it('matches a known value (OpenSSL: HMAC-SHA256 of "purpose\\ntext", first 32 hex)', () => {
    expect(macHex(SECRET, 'wecred:oauth-state', 'abc1700000000')).toBe('8eb9da06d7a52aa54ad835afce4fc7e3');
    expect(macHex(SECRET, 'wecred:oauth-state', 'abc1700000000', 64)).toBe(
      '8eb9da06d7a52aa54ad835afce4fc7e30454df9d9b8bd8775f81bda98ed7b7cf',
    );
  });

  it('binds the purpose, and checks whole tags only', () => {
    const tag = macHex(SECRET, 'a', 'text');
    expect(macHexMatches(SECRET, 'a', 'text', tag)).toBe(true);
    expect(macHexMatches(SECRET, 'b', 'text', tag)).toBe(false);
    expect(macHexMatches(SECRET, 'a', 'text2', tag)).toBe(false);
    expect(macHexMatches(SECRET, 'a', 'text', tag.slice(0, 8))).toBe(false);
    expect(macHexMatches(SECRET, 'a', 'text', '')).toBe(false);
    expect(macHexMatches(SECRET, 'a', 'text', tag.toUpperCase())).toBe(tag === tag.toUpperCase());
    expect(() => macHex(SECRET, 'a', 'text', 8)).toThrow(new RangeError('macHex: hexChars must be 16 to 64'));
    expect(() => macHex(SECRET, 'a', 'text', 65)).toThrow(RangeError);
    expect(macHex(SECRET, 'a', 'text', 16)).toBe(tag.slice(0, 16));
    expect(macHex(SECRET, 'a', 'text', 64)).toHaveLength(64);
  });
});
