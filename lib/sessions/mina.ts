/**
 * Mini Program sessions (Wafer's session server): a wx.login code becomes a session {id, skey},
 * checked in constant time, its session_key sealed under WECRED_MASTER_KEY. Records, expiry,
 * the CBC caveat and single-session mode: docs/design.md §11.1.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AppConfig, Config } from '../config/types';
import type { CallContext } from '../credentials';
import type { Logger } from '../log/logger';
import { AtRestError, cipherFor } from '../crypto/at-rest';
import { decryptMinaData, MinaDataError, type MinaCiphertext } from '../crypto/mina-data';
import { randomNonce } from '../crypto/random';
import { safeEqual } from '../crypto/realm';
import { parseJsonObject } from '../store/row';
import { guardStore } from '../store/guard';
import type { Store } from '../store/port';
import { code2Session, JSCODE2SESSION, type MinaSession } from '../wechat/mina';
import { exchangeRefusal, MIN_EXCHANGE_MS, type ExchangeFailure } from './login-errors';

/** An expired session is still recognised as expired (not unknown) this long. */
export const EXPIRED_GRACE_MS = 7 * 86_400_000;
/** The last visit is written at most this often per session (more often when the idle time is short). */
const SEEN_WRITE_MS = 60_000;
const ID = /^[A-Za-z0-9]{24}$/;
const SKEY = /^[A-Za-z0-9]{43}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const EPOCH_MS = /^[0-9]{1,15}$/;
const AGAIN = 'call wx.login again';

export type SessionFailure =
  | 'invalid'
  | 'expired'
  | 'decrypt_failed'
  | 'no_master_key'
  | 'store_unavailable'
  | ExchangeFailure;

export class SessionError extends Error {
  constructor(
    readonly reason: SessionFailure,
    message: string,
    /** WeChat's errcode, when jscode2session said no. */
    readonly errcode?: number,
  ) {
    super(message);
    this.name = 'SessionError';
  }
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
  /** Login time, epoch ms. */
  created: number;
}

export interface MinaSessions {
  /** code → jscode2session → a new session; `data` decrypted into userInfo first. */
  login(
    app: AppConfig,
    code: string,
    data: MinaCiphertext | undefined,
    call: Pick<CallContext, 'upstreamCalls' | 'deadline'>,
  ): Promise<NewSession>;
  /** The live session `id` whose skey is `skey` (of `appid`, when given); records the visit. */
  check(id: string, skey: string, appid?: string): Promise<SessionView>;
  /** `data` decrypted with the session's session_key (watermark checked), after the same check. */
  decrypt(id: string, skey: string, data: MinaCiphertext, appid?: string): Promise<Record<string, unknown>>;
  /** As decrypt, and the result kept as the session's userInfo (the session's openid and unionid stay jscode2session's). */
  setUserInfo(id: string, skey: string, data: MinaCiphertext, appid?: string): Promise<SessionView>;
}

export interface MinaSessionDeps {
  config: Config;
  store: Store;
  /** Epoch ms. */
  clock: () => number;
  log: Logger;
}

const sessionKeyOf = (id: string) => `session:${id}`;
const seenKeyOf = (id: string) => `session-seen:${id}`;
const userKeyOf = (appid: string, openid: string) => `session-user:${appid}:${openid}`;
const sealContext = (id: string) => `${sessionKeyOf(id)}:session_key`;
const hashSkey = (skey: string) => createHash('sha256').update(skey, 'utf8').digest('hex');

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `raw` as a session record when it is exactly what login writes; null for anything else. */
function parseRecord(raw: string): SessionRecord | null {
  const r = parseJsonObject(raw);
  if (!r) return null;
  const ok =
    r.v === 1 &&
    isString(r.appid) &&
    isString(r.openid) &&
    (r.unionid === undefined || isString(r.unionid)) &&
    (r.userInfo === undefined || isObject(r.userInfo)) &&
    typeof r.skeyHash === 'string' &&
    SHA256_HEX.test(r.skeyHash) &&
    isString(r.sessionKey) &&
    Number.isSafeInteger(r.created);
  return ok ? (r as unknown as SessionRecord) : null;
}

export function createMinaSessions(deps: MinaSessionDeps): MinaSessions {
  const { config, store, clock, log } = deps;
  const cipher = cipherFor(config);
  const { maxAgeSeconds, idleSeconds, singleSession } = config.sessions;
  const maxAgeMs = maxAgeSeconds * 1000;
  const idleMs = idleSeconds * 1000;
  const seenWriteMs = Math.min(SEEN_WRITE_MS, idleMs / 10);

  const stored = <T>(op: () => Promise<T>) =>
    guardStore(log, op, () => new SessionError('store_unavailable', 'the session store is unavailable'));
  const endsAt = (created: number, seen: number) => Math.min(created + maxAgeMs, seen + idleMs);
  const saveRecord = (id: string, rec: SessionRecord, now: number) =>
    stored(() =>
      store.putRecord(sessionKeyOf(id), JSON.stringify(rec), rec.created + maxAgeMs + EXPIRED_GRACE_MS, now),
    );
  /** The visit at `seen` (the clock's now). */
  const saveSeen = (id: string, created: number, seen: number) =>
    stored(() => store.putRecord(seenKeyOf(id), String(seen), endsAt(created, seen) + EXPIRED_GRACE_MS, seen));
  const invalid = (why = 'no such session (unknown id, or skey does not match)') =>
    new SessionError('invalid', `${why}: log in again`);
  const noMasterKey = () =>
    new SessionError(
      'no_master_key',
      'Mini Program sessions need WECRED_MASTER_KEY (the session_key is stored sealed under it)',
    );

  function openData(sessionKey: string, data: MinaCiphertext, appid: string, openid: string): Record<string, unknown> {
    try {
      return decryptMinaData(sessionKey, data, appid, openid);
    } catch (err) {
      if (err instanceof MinaDataError) throw new SessionError('decrypt_failed', err.message);
      throw err;
    }
  }

  async function jscode2session(
    app: AppConfig,
    code: string,
    call: Pick<CallContext, 'upstreamCalls' | 'deadline'>,
  ): Promise<MinaSession> {
    const left = call.deadline - performance.now();
    if (left < MIN_EXCHANGE_MS)
      throw new SessionError(
        'upstream_unavailable',
        `too little time was left in this request to call ${JSCODE2SESSION}: ${AGAIN}`,
      );
    call.upstreamCalls++;
    try {
      return await code2Session(
        config.upstream.mp,
        app.appid,
        app.secret,
        code,
        Math.min(config.upstream.timeoutMs, Math.floor(left)),
      );
    } catch (err) {
      const r = exchangeRefusal(err, `${JSCODE2SESSION} for ${app.appid}`, AGAIN);
      throw new SessionError(r.reason, r.message, r.errcode);
    }
  }

  /** The live record of `id` after every check and its opened session_key; records the visit. */
  async function live(
    id: string,
    skey: string,
    appid: string | undefined,
  ): Promise<{ rec: SessionRecord; sessionKey: string }> {
    if (!ID.test(id) || !SKEY.test(skey)) throw invalid();
    const now = clock();
    const [raw, seenRaw] = await Promise.all([
      stored(() => store.getRecord(sessionKeyOf(id), now)),
      stored(() => store.getRecord(seenKeyOf(id), now)),
    ]);
    const rec = raw === null ? null : parseRecord(raw);
    if (rec === null) throw invalid();
    if (!safeEqual(hashSkey(skey), rec.skeyHash)) throw invalid();
    if (appid !== undefined && appid !== rec.appid) throw invalid();
    if (!config.apps.some((a) => a.appid === rec.appid && a.type === 'mina'))
      throw invalid(`${rec.appid} is no longer a Mini Program of this deployment`);
    // The visit record outlives the session by the grace period: gone means long idle.
    if (seenRaw !== null && !EPOCH_MS.test(seenRaw)) throw invalid();
    const seen = seenRaw === null ? null : Number(seenRaw);
    if (seen === null || now >= endsAt(rec.created, seen))
      throw new SessionError('expired', 'the session expired: log in again');
    if (singleSession) {
      const current = await stored(() => store.getRecord(userKeyOf(rec.appid, rec.openid), now));
      if (current !== null && current !== id) throw invalid('the session was ended by a newer login of this user');
    }
    let sessionKey: string;
    try {
      sessionKey = cipher.open(rec.sessionKey, sealContext(id));
    } catch (err) {
      if (err instanceof AtRestError && err.reason === 'no-key') throw noMasterKey();
      throw invalid('the session cannot be opened with the current WECRED_MASTER_KEY');
    }
    if (now - seen >= seenWriteMs) await saveSeen(id, rec.created, now);
    return { rec, sessionKey };
  }

  function view(rec: SessionRecord): SessionView {
    const v: SessionView = { appid: rec.appid, openid: rec.openid };
    if (rec.unionid !== undefined) v.unionid = rec.unionid;
    if (rec.userInfo !== undefined) v.userInfo = rec.userInfo;
    return v;
  }

  return {
    async login(app, code, data, call) {
      if (config.masterKey === undefined) throw noMasterKey();
      const wx = await jscode2session(app, code, call);
      const userInfo = data === undefined ? undefined : openData(wx.sessionKey, data, app.appid, wx.openid);

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
        sessionKey: cipher.seal(wx.sessionKey, sealContext(id)),
        created: now,
      };
      // The visit first: a session record without one reads as long idle (expired).
      await saveSeen(id, now, now);
      await saveRecord(id, rec, now);
      if (singleSession) {
        const userKey = userKeyOf(app.appid, wx.openid);
        const previous = await stored(() => store.getRecord(userKey, now));
        await stored(() => store.putRecord(userKey, id, now + maxAgeMs + EXPIRED_GRACE_MS, now));
        if (previous !== null && previous !== id) await stored(() => store.deleteRecord(sessionKeyOf(previous)));
      }
      return { id, skey, ...view(rec), duration: Math.min(maxAgeSeconds, idleSeconds) };
    },

    async check(id, skey, appid) {
      return view((await live(id, skey, appid)).rec);
    },

    async decrypt(id, skey, data, appid) {
      const { rec, sessionKey } = await live(id, skey, appid);
      return openData(sessionKey, data, rec.appid, rec.openid);
    },

    async setUserInfo(id, skey, data, appid) {
      const { rec, sessionKey } = await live(id, skey, appid);
      const updated: SessionRecord = { ...rec, userInfo: openData(sessionKey, data, rec.appid, rec.openid) };
      await saveRecord(id, updated, clock());
      return view(updated);
    },
  };
}
