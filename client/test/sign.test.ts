import { describe, expect, it } from 'vitest';
import { sign } from '../src/sign';
import { VECTOR } from './vector';

describe('sign', () => {
  it("gives the README's test vector", () => {
    expect(sign(VECTOR)).toEqual({
      'X-Wecred-Realm': 'biz',
      'X-Wecred-Timestamp': '1714036504',
      'X-Wecred-Nonce': 'n0nce-Abc123',
      'X-Wecred-Signature': VECTOR.signature,
    });
  });

  it('upper-cases the method and never signs a query string', () => {
    const base = sign(VECTOR)['X-Wecred-Signature'];
    expect(sign({ ...VECTOR, method: 'post' })['X-Wecred-Signature']).toBe(base);
    expect(sign({ ...VECTOR, path: '/?debug=1' })['X-Wecred-Signature']).toBe(base);
    expect(sign({ ...VECTOR, path: '/x' })['X-Wecred-Signature']).not.toBe(base);
    expect(sign({ ...VECTOR, body: `${VECTOR.body} ` })['X-Wecred-Signature']).not.toBe(base);
  });

  it('defaults to now and a fresh nonce of the accepted shape', () => {
    const before = Math.floor(Date.now() / 1000);
    const a = sign({ realm: 'r', secret: 's', method: 'POST', path: '/' });
    const b = sign({ realm: 'r', secret: 's', method: 'POST', path: '/' });
    expect(Number(a['X-Wecred-Timestamp'])).toBeGreaterThanOrEqual(before);
    expect(Number(a['X-Wecred-Timestamp'])).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(a['X-Wecred-Nonce']).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(a['X-Wecred-Nonce']).not.toBe(b['X-Wecred-Nonce']);
  });
});
