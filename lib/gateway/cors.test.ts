import { describe, expect, it } from 'vitest';
import { createCors, isPrivateIp } from './cors';

const allows = (patterns: string[], origin: string) => createCors(patterns)(origin)['access-control-allow-origin'] === origin;

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

  it('ignores a missing or malformed Origin', () => {
    expect(createCors([])(undefined)).toEqual({});
    expect(createCors([])('null')).toEqual({});
    expect(createCors([])('https://example.com/path')).toEqual({});
  });

  it('knows the private ranges', () => {
    for (const ip of ['10.1.2.3', '127.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.0.1', '::1', 'fd12:3456::1']) expect(isPrivateIp(ip)).toBe(true);
    for (const ip of ['172.32.0.1', '11.0.0.1', '8.8.8.8', 'example.com', '2001:db8::1']) expect(isPrivateIp(ip)).toBe(false);
  });
});
