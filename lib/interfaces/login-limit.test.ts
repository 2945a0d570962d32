import { describe, expect, it } from 'vitest';
import { clientAddress } from '../gateway/client-address';
import type { HttpRequest } from '../gateway/http';
import { addressKey } from './login-limit';

describe('addressKey: whom a login is counted against', () => {
  it('an IPv4 address as it is, an IPv4-mapped one as its IPv4', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('the /64 of an IPv6 address, however it is written', () => {
    const net = '2001:db8:0:1::/64';
    for (const ip of [
      '2001:db8:0:1::1',
      '2001:0db8:0000:0001:ffff:ffff:ffff:ffff',
      '2001:DB8:0:1:0:0:0:0',
      'fe80::1%eth0',
    ])
      expect(addressKey(ip), ip).toBe(ip.startsWith('fe80') ? 'fe80:0:0:0::/64' : net);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('64:ff9b::203.0.113.7')).toBe('64:ff9b:0:0::/64');
  });

  it('anything else as one unknown client', () => {
    for (const ip of [undefined, '', 'localhost', '1.2.3', '203.0.113.7:80', 'x'.repeat(300)])
      expect(addressKey(ip)).toBe('unknown');
  });
});

describe('clientAddress', () => {
  const req = (headers: Record<string, string>, sourceIp?: string): HttpRequest => ({
    method: 'GET',
    path: '/',
    query: {},
    headers,
    body: '',
    ...(sourceIp ? { sourceIp } : {}),
  });

  it("takes the platform's address unless a header is configured; then that header's last value", () => {
    expect(clientAddress(req({ 'x-forwarded-for': '1.1.1.1' }, '10.0.0.1'), undefined)).toBe('10.0.0.1');
    expect(clientAddress(req({ 'x-forwarded-for': '6.6.6.6, 1.1.1.1 ' }, '10.0.0.1'), 'x-forwarded-for')).toBe(
      '1.1.1.1',
    );
    expect(clientAddress(req({}, '10.0.0.1'), 'x-forwarded-for')).toBe('10.0.0.1');
    expect(clientAddress(req({}), undefined)).toBeUndefined();
  });
});
