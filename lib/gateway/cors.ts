/**
 * CORS for pages that fetch wx.config parameters (docs/design.md §3.3): a pattern matches the whole Origin or, written
 * without a scheme as jsdkd's were, the whole host, so `example\.com` never admits https://example.com.evil.net.
 * Every answer carries `Vary: Origin`: what it carries depends on the Origin, and a cache must not serve one origin's
 * answer to another.
 */
import { isIP } from 'node:net';

export type CorsCheck = (origin: string | undefined) => Record<string, string>;

const ALLOW_METHODS = 'GET, POST, OPTIONS';
const ALLOW_HEADERS = 'content-type, x-wecred-realm, x-wecred-timestamp, x-wecred-nonce, x-wecred-signature';
/** Seconds a browser may cache a preflight answer. */
const MAX_AGE = '600';

export function createCors(patterns: string[]): CorsCheck {
  const anyOrigin = patterns.length === 0 || patterns.includes('*');
  // Wrapped whole, never edited: the pattern's own ^ and $ (no m flag) anchor at the same places,
  // and the wrapped form compiles whenever the pattern does (config validation compiled it).
  const matchers = patterns.filter((p) => p !== '*').map((p) => new RegExp(`^(?:${p})$`, 'i'));

  const allowed = (origin: string): boolean => {
    let host: string;
    try {
      const u = new URL(origin);
      if (u.origin !== origin.toLowerCase()) return false; // an Origin is scheme://host[:port], nothing more
      host = u.hostname.replace(/^\[|\]$/g, '');
    } catch {
      return false;
    }
    if (anyOrigin || isPrivateIp(host)) return true;
    return matchers.some((re) => re.test(origin) || re.test(host));
  };

  return (origin): Record<string, string> => {
    if (!origin || !allowed(origin)) return { vary: 'Origin' };
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': ALLOW_METHODS,
      'access-control-allow-headers': ALLOW_HEADERS,
      'access-control-max-age': MAX_AGE,
      vary: 'Origin',
    };
  };
}

/** Literal loopback or private-range addresses (development pages on a LAN). */
export function isPrivateIp(host: string): boolean {
  const kind = isIP(host);
  if (kind === 4) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  if (kind === 6) {
    const h = host.toLowerCase();
    // IPv4-mapped (::ffff:a.b.c.d, which URL writes as ::ffff:XXXX:XXXX): judge the IPv4 address
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
    if (mapped) {
      const hi = parseInt(mapped[1]!, 16);
      const lo = parseInt(mapped[2]!, 16);
      return isPrivateIp(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return h === '::1' || /^f[cd][0-9a-f]{2}:/.test(h);
  }
  return false;
}
