/**
 * Realm authentication of business servers (docs/design.md §3.4): HMAC-SHA256 over method, path,
 * timestamp, nonce and the body's hash; ±300 s; each nonce accepted once per realm.
 * Checks run cheapest first and the nonce is only spent once the signature is valid, so
 * an attacker can't burn a realm's nonces. The window, nonce and interface-scope checks
 * are shared with jsdkd's md5 query signature (routes/jsdkd.ts).
 */
import type { RealmConfig } from '../config/types';
import { realmSignature, safeEqual } from '../crypto/realm';
import { ApiError } from '../interfaces/errors';
import type { Services } from '../interfaces/types';
import { STORE_TIMEOUT_MS } from '../store/guard';
import type { HttpRequest } from './http';

export const WINDOW_SECONDS = 300;
const WINDOW_MS = WINDOW_SECONDS * 1000;
const NONCE = /^[A-Za-z0-9_-]{8,64}$/;

/** `path` is the route path the client signed: the request path without the deployment's base path. */
export async function authenticateRealm(req: HttpRequest, path: string, services: Services): Promise<RealmConfig> {
  const key = req.headers['x-wecred-realm'];
  const timestamp = req.headers['x-wecred-timestamp'];
  const nonce = req.headers['x-wecred-nonce'];
  const signature = req.headers['x-wecred-signature'];
  if (!key || !timestamp || !nonce || !signature) {
    throw new ApiError(
      'unsigned',
      'this interface needs a signed request: X-Wecred-Realm, X-Wecred-Timestamp, X-Wecred-Nonce and X-Wecred-Signature',
    );
  }
  if (!NONCE.test(nonce)) throw new ApiError('unsigned', 'X-Wecred-Nonce must be 8 to 64 characters of [A-Za-z0-9_-]');
  const realm = services.config.realms.find((r) => r.key === key);
  const expected = realm
    ? realmSignature(realm.secret, { method: req.method, path, timestamp, nonce, body: req.bytes ?? req.body })
    : '';
  if (!realm || !safeEqual(signature.toLowerCase(), expected))
    throw new ApiError('bad_signature', 'the request signature does not match');
  const now = services.clock();
  checkTimestamp(timestamp, 'seconds', now, 'X-Wecred-Timestamp');
  await spendNonce(services, realm, nonce, now);
  return realm;
}

/** 401 stale_timestamp unless `timestamp` is unix `unit` (digits only) within the window of `now` (ms). */
export function checkTimestamp(timestamp: string, unit: 'seconds' | 'milliseconds', now: number, field: string): void {
  const at = /^\d{1,16}$/.test(timestamp) ? Number(timestamp) * (unit === 'seconds' ? 1000 : 1) : NaN;
  if (!(Math.abs(now - at) <= WINDOW_MS)) {
    const clock = unit === 'seconds' ? Math.floor(now / 1000) : now;
    throw new ApiError(
      'stale_timestamp',
      `${field} must be unix ${unit} within ${WINDOW_SECONDS} s of the server's clock (${clock})`,
    );
  }
}

/** Nonces remembered in this process while the store is away (storeOutage.nonces 'memory'), by key → expiry (clock ms). */
const outageNonces = new Map<string, number>();
/** At most this many: past it, expired ones are swept, and a still-full memory refuses (7201) rather than grow. */
const OUTAGE_NONCES_MAX = 100_000;

/**
 * Accepts a realm's nonce once, else 401 replayed_nonce. Both signature schemes share the
 * namespace, and a nonce is kept for two windows: a timestamp up to one window ahead of `now`
 * stays acceptable for one more window. While the store is away, nonces are kept in this
 * process (or refused: storeOutage.nonces); docs/design.md §6.4.
 */
export async function spendNonce(services: Services, realm: RealmConfig, nonce: string, now: number): Promise<void> {
  const key = `nonce:${realm.key}:${nonce}`;
  const expiresAt = now + 2 * WINDOW_MS;
  const { storeHealth: health } = services;
  if (health.since() !== null && services.config.storeOutage.nonces === 'memory') {
    // While the store is away this process answers from memory; one write a second, beside the
    // requests, tries the store again.
    if (health.due())
      health.call(() => services.store.insertIfAbsent(key, expiresAt, now), STORE_TIMEOUT_MS).catch(() => undefined);
  } else if (health.since() === null || health.due()) {
    try {
      const fresh = await health.call(() => services.store.insertIfAbsent(key, expiresAt, now), STORE_TIMEOUT_MS);
      // one kept in memory during an outage is not forgotten when the store is back
      if (!fresh || (outageNonces.get(key) ?? 0) > now) throw replayed();
      return;
    } catch (err) {
      if (err instanceof ApiError) throw err;
    }
  }
  if (services.config.storeOutage.nonces === 'refuse') {
    throw new ApiError('store_unavailable', 'the credential store is unavailable');
  }
  if ((outageNonces.get(key) ?? 0) > now) throw replayed();
  if (outageNonces.size >= OUTAGE_NONCES_MAX) {
    for (const [k, until] of outageNonces) if (until <= now) outageNonces.delete(k);
    if (outageNonces.size >= OUTAGE_NONCES_MAX) {
      throw new ApiError('store_unavailable', 'the credential store is unavailable');
    }
  }
  outageNonces.set(key, expiresAt);
}

const replayed = () => new ApiError('replayed_nonce', 'this nonce was already used; sign every request with a new one');

/**
 * 403 interface_not_allowed unless the realm may use the interface named `scope`: one its
 * `interfaces` list, or any when it lists none (admin realms too: their list binds them alike).
 */
export function authorizeScope(realm: RealmConfig, scope: string): void {
  if (realm.interfaces.length > 0 && !realm.interfaces.includes(scope)) {
    throw new ApiError('interface_not_allowed', `realm ${realm.key} may not call ${scope}`);
  }
}
