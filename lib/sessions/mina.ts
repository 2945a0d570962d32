/**
 * Mini Program sessions (DESIGN §3.2; Wafer's session server): a wx.login code becomes a session
 * `{id, skey}` the Mini Program shows on each request, checked here in constant time.
 *
 * - The session is one store record `session:<id>` (JSON) holding the app, openid, unionid,
 *   user_info, the login time (`created`), the last visit (`seen`), sha256(skey) (never the skey)
 *   and the session_key sealed under WECRED_MASTER_KEY with the context
 *   `session:<id>:session_key`. No master key: no login (the session_key must not rest in clear).
 * - id: 24 characters [A-Za-z0-9] (~143 bits), skey: 43 (~256 bits), both from the CSPRNG. A
 *   malformed, unknown or forged pair is `invalid` (60012), without reaching further than one
 *   store read by a parameterised key.
 * - A session ends `sessions.maxAgeSeconds` after its login or `sessions.idleSeconds` after its
 *   last visit (`expired`, 60011). The record stays EXPIRED_GRACE_MS longer, so that an expired
 *   session answers "expired" (log in again) rather than "invalid" for a week.
 * - A visit refreshes `seen`, written at most once per SEEN_WRITE_MS: not a write per check.
 * - Encrypted user data given at login is decrypted (and its watermark checked) before anything
 *   is stored: on failure nothing is.
 * - A second login of the same user leaves the first session alone, unless
 *   `sessions.singleSession`: then `session-user:<appid>:<openid>` names the user's one live
 *   session, a login deletes the previous one, and a check of any other session of theirs fails.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AppConfig, Config } from '../config/types';
import type { CallContext } from '../credentials';
import { AtRestError, cipherFor } from '../crypto/at-rest';
import { decryptMinaData, MinaDataError } from '../crypto/mina-data';
import { randomNonce } from '../crypto/random';
import { safeEqual } from '../crypto/realm';
import type { Store } from '../store/port';
import { code2Session } from '../wechat/mina';

/** An expired session is still recognised as expired (not unknown) this long. */
export const EXPIRED_GRACE_MS = 7 * 86_400_000;
/** The last visit is written at most this often per session. */
export const SEEN_WRITE_MS = 60_000;
const ID = /^[A-Za-z0-9]{24}$/;
const SKEY = /^[A-Za-z0-9]{43}$/;
/** A code is single-use and a timed-out call may have spent it: with less budget left, do not start. */
const MIN_LOGIN_MS = 200;

export type SessionFailure = 'invalid' | 'expired' | 'decrypt_failed' | 'no_master_key' | 'upstream_unavailable' | 'store_unavailable';

export class SessionError extends Error {
  constructor(
    readonly reason: SessionFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SessionError';
  }
}

/** wx.getUserInfo's (or any open-data API's) encrypted answer. */
export interface EncryptedData {
  encryptedData: string;
  iv: string;
}

export interface SessionView {
  appid: string;
  openid: string;
  unionid?: string;
  userInfo?: Record<string, unknown>;
}

export interface NewSession extends SessionView {
  id: string;
  skey: string;
  /** Seconds the session lives if it is not used again (the shorter of max age and idle time). */
  duration: number;
}

interface SessionRecord {
  v: 1;
  appid: string;
  openid: string;
  unionid?: string;
  userInfo?: Record<string, unknown>;
  /** hex sha256 of the skey. */
  skeyHash: string;
  /** The session_key, sealed (lib/crypto/at-rest.ts). */
  sessionKey: string;
  /** Login time and last visit, epoch ms. */
  created: number;
  seen: number;
}

export interface MinaSessions {
  /** code → jscode2session → a new session; `data` decrypted into userInfo first. Upstream failures pass through (WechatError, UpstreamUnavailable). */
  login(app: AppConfig, code: string, data: EncryptedData | undefined, call: Pick<CallContext, 'upstreamCalls' | 'deadline'>): Promise<NewSession>;
  /** The live session `id` whose skey is `skey` (of `appid`, when given); refreshes the last visit. */
  check(id: string, skey: string, appid?: string): Promise<SessionView>;
  /** `data` decrypted with the session's session_key (watermark checked), after the same check. */
  decrypt(id: string, skey: string, data: EncryptedData, appid?: string): Promise<Record<string, unknown>>;
}

export interface MinaSessionDeps {
  config: Config;
  store: Store;
  /** Epoch ms. */
  clock: () => number;
}

const sessionKeyOf = (id: string) => `session:${id}`;
const userKeyOf = (appid: string, openid: string) => `session-user:${appid}:${openid}`;
const hashSkey = (skey: string) => createHash('sha256').update(skey, 'utf8').digest('hex');

export function createMinaSessions(deps: MinaSessionDeps): MinaSessions {
  const { config, store, clock } = deps;
  const cipher = cipherFor(config);
  const { maxAgeSeconds, idleSeconds, singleSession } = config.sessions;
  const maxAgeMs = maxAgeSeconds * 1000;
  const idleMs = idleSeconds * 1000;

  const stored = async <T>(what: Promise<T>): Promise<T> => {
    try {
      return await what;
    } catch {
      throw new SessionError('store_unavailable', 'the session store is unavailable');
    }
  };
  const endsAt = (rec: SessionRecord) => Math.min(rec.created + maxAgeMs, rec.seen + idleMs);
  const save = (id: string, rec: SessionRecord) => stored(store.putRecord(sessionKeyOf(id), JSON.stringify(rec), endsAt(rec) + EXPIRED_GRACE_MS));
  const invalid = () => new SessionError('invalid', 'no such session (unknown id, or skey does not match): log in again');

  function openData(sessionKey: string, data: EncryptedData, appid: string): Record<string, unknown> {
    try {
      return decryptMinaData(sessionKey, data.encryptedData, data.iv, appid);
    } catch (err) {
      if (err instanceof MinaDataError) throw new SessionError('decrypt_failed', err.message);
      throw err;
    }
  }

  /** The live record of `id` after every check, with the last visit refreshed. */
  async function live(id: string, skey: string, appid: string | undefined): Promise<SessionRecord> {
    if (!ID.test(id) || !SKEY.test(skey)) throw invalid();
    const now = clock();
    const raw = await stored(store.getRecord(sessionKeyOf(id), now));
    if (raw === null) throw invalid();
    const rec = JSON.parse(raw) as SessionRecord;
    if (!safeEqual(hashSkey(skey), rec.skeyHash)) throw invalid();
    if (appid !== undefined && appid !== rec.appid) throw invalid();
    if (now >= endsAt(rec)) throw new SessionError('expired', 'the session expired: log in again');
    if (singleSession) {
      const current = await stored(store.getRecord(userKeyOf(rec.appid, rec.openid), now));
      if (current !== null && current !== id) throw new SessionError('invalid', 'the session was ended by a newer login of this user: log in again');
    }
    if (now - rec.seen >= SEEN_WRITE_MS) {
      rec.seen = now;
      await save(id, rec);
    }
    return rec;
  }

  function view(rec: SessionRecord): SessionView {
    const v: SessionView = { appid: rec.appid, openid: rec.openid };
    if (rec.unionid !== undefined) v.unionid = rec.unionid;
    if (rec.userInfo !== undefined) v.userInfo = rec.userInfo;
    return v;
  }

  return {
    async login(app, code, data, call) {
      if (config.masterKey === undefined) {
        throw new SessionError('no_master_key', 'Mini Program sessions need WECRED_MASTER_KEY (the session_key is stored sealed under it)');
      }
      const left = call.deadline - performance.now();
      if (left < MIN_LOGIN_MS) throw new SessionError('upstream_unavailable', 'too little time was left in this request to call jscode2session: log in again');
      call.upstreamCalls++;
      const wx = await code2Session(config.upstream.mp, app.appid, app.secret, code, Math.min(config.upstream.timeoutMs, Math.floor(left)));
      const userInfo = data === undefined ? undefined : openData(wx.sessionKey, data, app.appid);

      const id = randomNonce(24);
      const skey = randomNonce(43);
      const now = clock();
      const rec: SessionRecord = {
        v: 1,
        appid: app.appid,
        openid: wx.openid,
        ...(wx.unionid === undefined ? {} : { unionid: wx.unionid }),
        ...(userInfo === undefined ? {} : { userInfo }),
        skeyHash: hashSkey(skey),
        sessionKey: cipher.seal(wx.sessionKey, `${sessionKeyOf(id)}:session_key`),
        created: now,
        seen: now,
      };
      await save(id, rec);
      if (singleSession) {
        const userKey = userKeyOf(app.appid, wx.openid);
        const previous = await stored(store.getRecord(userKey, now));
        await stored(store.putRecord(userKey, id, endsAt(rec) + EXPIRED_GRACE_MS));
        if (previous !== null && previous !== id) await stored(store.deleteRecord(sessionKeyOf(previous)));
      }
      return { id, skey, ...view(rec), duration: Math.min(maxAgeSeconds, idleSeconds) };
    },

    async check(id, skey, appid) {
      return view(await live(id, skey, appid));
    },

    async decrypt(id, skey, data, appid) {
      const rec = await live(id, skey, appid);
      let sessionKey: string;
      try {
        sessionKey = cipher.open(rec.sessionKey, `${sessionKeyOf(id)}:session_key`);
      } catch (err) {
        if (err instanceof AtRestError && err.reason === 'no-key') throw new SessionError('no_master_key', 'Mini Program sessions need WECRED_MASTER_KEY (the session_key is stored sealed under it)');
        // Sealed under another master key (rotated): this session cannot decrypt any more.
        throw new SessionError('invalid', 'the session cannot be opened with the current WECRED_MASTER_KEY: log in again');
      }
      return openData(sessionKey, data, rec.appid);
    },
  };
}
