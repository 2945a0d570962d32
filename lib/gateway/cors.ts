/**
 * CORS for pages that fetch wx.config parameters (DESIGN §3.3). A pattern must match the
 * whole Origin or, for patterns written without a scheme as jsdkd's were ("example\\.com"),
 * the whole host. So `example\.com` admits https://example.com but never https://example.com.evil.net.
 */
import { isIP } from 'node:net';

export type CorsCheck = (origin: string | undefined) => Record<string, string>;

export function createCors(patterns: string[]): CorsCheck {
  const anyOrigin = patterns.length === 0 || patterns.includes('*');
  const matchers = patterns
    .filter((p) => p !== '*')
    .map((p) => new RegExp(`^(?:${p.replace(/^\^/, '').replace(/\$$/, '')})$`, 'i'));

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
    if (!origin || !allowed(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': 'content-type, x-wecred-realm, x-wecred-timestamp, x-wecred-nonce, x-wecred-signature',
      'access-control-max-age': '600',
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
    return h === '::1' || /^f[cd][0-9a-f]{2}:/.test(h);
  }
  return false;
}
