import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load';
import { createCors, isPrivateIp } from './cors';

const allows = (patterns: string[], origin: string) =>
  createCors(patterns)(origin)['access-control-allow-origin'] === origin;

describe('CORS', () => {
  it('matches a full-origin pattern against the whole Origin, anchored and case-insensitive', () => {
    const p = ['^https://([a-z0-9-]+\\.)*example\\.com$'];
    expect(allows(p, 'https://example.com')).toBe(true);
    expect(allows(p, 'https://shop.Example.com')).toBe(true);
    expect(allows(p, 'https://example.com.evil.net')).toBe(false);
    expect(allows(p, 'https://evilexample.com')).toBe(false);
    expect(allows(p, 'http://example.com')).toBe(false);
    expect(allows(['^https?:\\/\\/example\\.com$'], 'http://example.com')).toBe(true);
  });

  it('compiles every pattern config validation accepts, keeping escaped anchors literal', () => {
    const tricky = [
      'example\\.com\\$',
      'a\\\\$',
      '\\$',
      '^',
      '$',
      '^$',
      'a|b$',
      '^a$|^b$',
      '(?:x)$',
      '[$]',
      '\\^example\\.com',
    ];
    const config = parseConfig(
      { apps: [{ appid: 'wx1111111111111111', secret: 's' }], cors: tricky, store: 'memory:' },
      {},
    );
    expect(config.cors).toEqual(tricky);
    expect(() => createCors(config.cors)).not.toThrow();
    expect(allows(['example\\.com\\$'], 'https://example.com')).toBe(false); // \$ is a literal $, not an anchor
    expect(allows(['^a\\.test$|^https://b\\.test$'], 'https://b.test')).toBe(true);
    expect(allows(['^a\\.test$|^https://b\\.test$'], 'https://a.test')).toBe(true);
    expect(allows(['^a\\.test$|^https://b\\.test$'], 'https://xa.test')).toBe(false);
  });

  it("matches jsdkd's host patterns against the whole host", () => {
    const p = ['example\\.com'];
    expect(allows(p, 'https://example.com')).toBe(true);
    expect(allows(p, 'http://EXAMPLE.com:8080')).toBe(true);
    expect(allows(p, 'https://example.com.evil.net')).toBe(false);
    expect(allows(p, 'https://notexample.com')).toBe(false);
  });

  it('allows any origin for * or an empty list, and literal private or loopback IPs always', () => {
    expect(allows([], 'https://anything.test')).toBe(true);
    expect(allows(['*'], 'https://anything.test')).toBe(true);
    expect(allows(['example\\.com'], 'http://192.168.1.20:8080')).toBe(true);
    expect(allows(['example\\.com'], 'http://[::1]:3000')).toBe(true);
    expect(allows(['example\\.com'], 'http://8.8.8.8')).toBe(false);
  });

  it('ignores a missing or malformed Origin: no allow header, only Vary', () => {
    expect(createCors([])(undefined)).toEqual({ vary: 'Origin' });
    expect(createCors([])('null')).toEqual({ vary: 'Origin' });
    expect(createCors([])('https://example.com/path')).toEqual({ vary: 'Origin' });
    expect(createCors([])('https://example.com:443')).toEqual({ vary: 'Origin' });
  });

  it('Must show: under example\\.com refuses look-alikes, allows example.com and a 192.168.x.x origin', () => {
    const cors = createCors(['example\\.com']);
    for (const origin of ['https://example.com.evil.net', 'https://notexample.com', 'http://10.evil.net']) {
      expect([origin, cors(origin)]).toEqual([origin, { vary: 'Origin' }]);
    }
    for (const origin of ['https://example.com', 'http://192.168.1.20:8080']) {
      expect([origin, cors(origin)]).toEqual([
        origin,
        {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers':
            'content-type, x-wecred-realm, x-wecred-timestamp, x-wecred-nonce, x-wecred-signature',
          'access-control-max-age': '600',
          vary: 'Origin',
        },
      ]);
    }
  });

  it('does not mistake hosts that only look like private IPs, nor normalised IP spellings', () => {
    const p = ['example\\.com'];
    for (const origin of [
      'http://10.evil.net',
      'http://192.168.1.1.evil.net',
      'http://127.1',
      'http://0x7f.0.0.1',
      'http://[::ffff:8.8.8.8]',
    ]) {
      expect([origin, allows(p, origin)]).toEqual([origin, false]);
    }
    expect(allows(p, 'http://[::ffff:c0a8:101]')).toBe(true); // ::ffff:192.168.1.1, as a browser writes it
    expect(allows(p, 'http://127.0.0.1:5173')).toBe(true);
  });

  it('knows the private ranges', () => {
    for (const ip of [
      '10.1.2.3',
      '127.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '::1',
      'fd12:3456::1',
      '::ffff:c0a8:1',
    ])
      expect(isPrivateIp(ip)).toBe(true);
    for (const ip of [
      '172.32.0.1',
      '11.0.0.1',
      '8.8.8.8',
      'example.com',
      '2001:db8::1',
      '::ffff:808:808',
      '10.evil.net',
      '172.15.0.1',
      '8.16.0.1',
      '193.168.0.1',
      '8.168.0.1',
      '1::ffff:a00:1', // holds ::ffff:10.0.0.1, but is no IPv4-mapped address
      '::ffff:a00:1:1',
      '1::fc00:1',
    ])
      expect([ip, isPrivateIp(ip)]).toEqual([ip, false]);
  });

  it('allows an origin that any one of several patterns matches', () => {
    expect(allows(['a\\.example', 'b\\.example'], 'https://b.example')).toBe(true);
    expect(allows(['https://a\\.example', 'b\\.example'], 'https://a.example')).toBe(true);
  });
});
