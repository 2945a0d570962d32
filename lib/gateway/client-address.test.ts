import { describe, expect, it } from 'vitest';
import { clientAddress } from './client-address';
import type { HttpRequest } from './http';

const request = (headers: Record<string, string>): HttpRequest => ({
  method: 'POST',
  path: '/',
  query: {},
  body: '',
  headers,
  sourceIp: '10.0.0.9',
});

describe('clientAddress (docs/design.md §11)', () => {
  it("takes the last value of the trusted proxy's header, else the platform's address", () => {
    const forwarded = request({ 'x-forwarded-for': '203.0.113.7, 198.51.100.2 ' });
    expect(clientAddress(forwarded, 'x-forwarded-for')).toBe('198.51.100.2');
    expect(clientAddress(request({ 'x-forwarded-for': '198.51.100.3' }), 'x-forwarded-for')).toBe('198.51.100.3');
    // without a header configured, a client's own header counts for nothing
    expect(clientAddress(forwarded, undefined)).toBe('10.0.0.9');
    expect(clientAddress(request({}), 'x-forwarded-for')).toBe('10.0.0.9');
    expect(clientAddress(request({ 'x-forwarded-for': ' , ' }), 'x-forwarded-for')).toBe('10.0.0.9');
  });
});
