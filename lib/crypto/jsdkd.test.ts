import { describe, expect, it } from 'vitest';
import { jsdkdPayload, jsdkdSignature } from './jsdkd';

/*
 * Vectors from jsdkd itself (github.com/xixilive/jsdkd):
 *
 * - README.md, "签名算法":
 *     md5(realm=R123&nonce=caa3c9d793b&ts=1589203758.realm_secret) === 782ab722a4efaecade8d3bba953f9c5d
 * - __tests__/sdk.spec.js, "verifyRealmSign": realm key "key", secret "secret",
 *     payload 'realm=key&nonce=c3554025c6c0ac5b&ts=1589436449', sign '59c9391f52d908799e1e83e446cfacab'
 *
 * Both examples write ts in seconds although jsdkd checks it as milliseconds; the signature
 * itself only signs the string, so they are vectors for the formula. The server refuses such a
 * ts as out of the ±5 min window (test/jsdkd.test.ts).
 */
describe('jsdkdSignature', () => {
  it("matches jsdkd's README example value", () => {
    expect(jsdkdPayload({ realm: 'R123', nonce: 'caa3c9d793b', ts: '1589203758' })).toBe(
      'realm=R123&nonce=caa3c9d793b&ts=1589203758',
    );
    expect(jsdkdSignature('realm_secret', { realm: 'R123', nonce: 'caa3c9d793b', ts: '1589203758' })).toBe(
      '782ab722a4efaecade8d3bba953f9c5d',
    );
  });

  it("matches jsdkd's own unit-test vector", () => {
    expect(jsdkdSignature('secret', { realm: 'key', nonce: 'c3554025c6c0ac5b', ts: '1589436449' })).toBe(
      '59c9391f52d908799e1e83e446cfacab',
    );
  });

  it('signs every field and the secret', () => {
    const base = { realm: 'R123', nonce: 'caa3c9d793b', ts: '1589203758' };
    const ref = jsdkdSignature('realm_secret', base);
    expect(jsdkdSignature('realm_secret2', base)).not.toBe(ref);
    expect(jsdkdSignature('realm_secret', { ...base, realm: 'R124' })).not.toBe(ref);
    expect(jsdkdSignature('realm_secret', { ...base, nonce: 'caa3c9d793c' })).not.toBe(ref);
    expect(jsdkdSignature('realm_secret', { ...base, ts: '1589203758000' })).not.toBe(ref);
    expect(ref).toMatch(/^[0-9a-f]{32}$/);
  });
});
