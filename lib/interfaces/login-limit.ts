/**
 * Public calls that each spend an upstream call (session.login, OAuth callbacks exchanging a code)
 * are limited per client address and clock minute, counted in the store so that every instance
 * agrees: a stranger cannot burn the app's calls, and real users stay far below the limit
 * (config clients.loginsPerMinute). docs/design.md §11.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { ApiError } from './errors';
import type { Services } from './types';

const MINUTE_MS = 60_000;

/**
 * Whom an address stands for: an IPv4 address (an IPv4-mapped IPv6 one too), or the /64 of an
 * IPv6 address, which one subscriber usually holds whole; anything else is one unknown client.
 */
export function addressKey(address: string | undefined): string {
  const ip = (address ?? '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (isIPv4(ip) || mapped) return mapped?.[1] ?? ip;
  if (!isIPv6(ip)) return 'unknown';
  const [head = '', tail] = ip.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const width = (gs: string[]) => gs.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const all = [...front, ...Array<string>(8 - width(front) - width(back)).fill('0'), ...back];
  return `${all
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** Counts one login from `address` this minute; 429 rate_limited (7106) past the limit. */
export async function admitLogin(services: Services, address: string | undefined): Promise<void> {
  const limit = services.config.clients.loginsPerMinute;
  if (limit === 0) return;
  const now = services.clock();
  const minute = Math.floor(now / MINUTE_MS);
  const who = createHash('sha256').update(addressKey(address)).digest('hex').slice(0, 32);
  const count = await services.store
    .increment(`login-limit:${who}:${minute}`, 1, (minute + 1) * MINUTE_MS, now)
    .catch(() => {
      throw new ApiError('store_unavailable', 'the credential store is unavailable');
    });
  if (count > limit) {
    const wait = Math.ceil(((minute + 1) * MINUTE_MS - now) / 1000);
    throw new ApiError(
      'rate_limited',
      `too many logins from this address: at most ${limit} a minute (clients.loginsPerMinute); retry in ${wait} s`,
    );
  }
}
