import { describe, expect, it } from 'vitest';
import { realmSignature, safeEqual } from './realm';

/*
 * The expected values below were computed once, independently of this module, with
 *
 *   node -e 'const c=require("node:crypto");
 *     const body=`{"version":1,"interface":{"interfaceName":"access_token","para":{"appid":"wx1234567890abcdef"}}}`;
 *     const s="POST\n/\n1714036504\nn0nce-Abc123\n"+c.createHash("sha256").update(body).digest("hex");
 *     console.log(c.createHmac("sha256","realm-secret-1").update(s).digest("hex"))'
 *
 * and cross-checked with OpenSSL:
 *
 *   bh=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
 *   printf 'POST\n/\n1714036504\nn0nce-Abc123\n%s' "$bh" | openssl dgst -sha256 -hmac realm-secret-1 -r
 *
 * (likewise for the GET case with an empty body and secret s3cr3t).
 */
const BODY = '{"version":1,"interface":{"interfaceName":"access_token","para":{"appid":"wx1234567890abcdef"}}}';

describe('realmSignature', () => {
  it('hashes the bytes given; a string stands for its UTF-8 bytes', () => {
    const sign = (body: string | Uint8Array) =>
      realmSignature('realm-secret-1', { method: 'POST', path: '/', timestamp: '1', nonce: 'n0nce-Abc123', body });
    expect(sign(Buffer.from(BODY))).toBe(sign(BODY));
    const notUtf8 = Buffer.from([0x7b, 0xff, 0x7d]);
    expect(sign(notUtf8)).not.toBe(sign(notUtf8.toString('utf8')));
  });

  it('matches a known value (POST with a JSON body)', () => {
    expect(
      realmSignature('realm-secret-1', {
        method: 'POST',
        path: '/',
        timestamp: '1714036504',
        nonce: 'n0nce-Abc123',
        body: BODY,
      }),
    ).toBe('eea0d230d22ef536c11c05ffb83454f1c65212766cff343aaabe1acb22fea897');
  });

  it('matches a known value (GET, empty body) and upper-cases the method', () => {
    const p = { path: '/jsapi/wx1/query', timestamp: '1700000000', nonce: 'abcdefgh', body: '' };
    const expected = 'c624bbb3ad0aba8cadd1659728f3d48bc11d1a91d61fc19340effebaf8c3af33';
    expect(realmSignature('s3cr3t', { ...p, method: 'GET' })).toBe(expected);
    expect(realmSignature('s3cr3t', { ...p, method: 'get' })).toBe(expected);
  });

  it('changes with every signed part', () => {
    const p = { method: 'POST', path: '/', timestamp: '1714036504', nonce: 'n0nce-Abc123', body: BODY };
    const base = realmSignature('realm-secret-1', p);
    expect(realmSignature('realm-secret-2', p)).not.toBe(base);
    expect(realmSignature('realm-secret-1', { ...p, method: 'PUT' })).not.toBe(base);
    expect(realmSignature('realm-secret-1', { ...p, path: '/x' })).not.toBe(base);
    expect(realmSignature('realm-secret-1', { ...p, timestamp: '1714036505' })).not.toBe(base);
    expect(realmSignature('realm-secret-1', { ...p, nonce: 'n0nce-Abc124' })).not.toBe(base);
    expect(realmSignature('realm-secret-1', { ...p, body: `${BODY} ` })).not.toBe(base);
  });
});

describe('safeEqual', () => {
  it('is true for equal strings', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual('签名', '签名')).toBe(true);
  });
  it('is false for different strings of the same length', () => {
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('eea0d230', 'EEA0D230')).toBe(false);
  });
  it('is false, without throwing, for different lengths', () => {
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('abcd', 'abc')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
    expect(safeEqual('a', '')).toBe(false);
  });
  it('compares bytes, so equal UTF-16 length but different UTF-8 length is false', () => {
    expect(safeEqual('é', 'e')).toBe(false);
  });
});
