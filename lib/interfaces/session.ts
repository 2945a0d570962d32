/**
 * Mini Program sessions (DESIGN §3.2), Wafer v1's session server interfaces: `session.login`
 * (`qcloud.cam.id_skey`), `session.check` (`qcloud.cam.auth`) and `session.decrypt`
 * (`qcloud.cam.decrypt`, `qcloud.cam.userinfo`). Public: Mini Program clients call them. The
 * sessions themselves are lib/sessions/mina.ts.
 */
import { createMinaSessions, SessionError, type EncryptedData, type MinaSessions, type SessionFailure } from '../sessions/mina';
import { classifyUpstream, UpstreamUnavailable, WechatError } from '../wechat/errors';
import { JSCODE2SESSION } from '../wechat/mina';
import { resolveApp } from './apps';
import { ApiError, type ErrorName } from './errors';
import { optionalString, requiredString } from './para';
import type { InterfaceDef, Services } from './types';

/** encryptedData of wx.getUserInfo is about 1 KB; other open data (e.g. werun) is larger. */
const MAX_ENCRYPTED = 32_768;
const MAX_IV = 64;

const sessionsOf = new WeakMap<Services, MinaSessions>();

function sessions(services: Services): MinaSessions {
  let s = sessionsOf.get(services);
  if (!s) {
    s = createMinaSessions({ config: services.config, store: services.store, clock: services.clock });
    sessionsOf.set(services, s);
  }
  return s;
}

const ERROR_OF: Record<SessionFailure, ErrorName> = {
  invalid: 'session_invalid',
  expired: 'session_expired',
  decrypt_failed: 'decrypt_failed',
  no_master_key: 'config_fault',
  upstream_unavailable: 'upstream_unavailable',
  store_unavailable: 'store_unavailable',
};

/** A session failure as an ApiError; anything else passes on to toApiError. */
function sessionError(err: unknown): unknown {
  return err instanceof SessionError ? new ApiError(ERROR_OF[err.reason], err.message) : err;
}

/** A login failure (the session's, or jscode2session's) as an ApiError. */
function loginError(err: unknown, appid: string): unknown {
  if (err instanceof UpstreamUnavailable) return new ApiError('upstream_unavailable', `WeChat did not answer ${JSCODE2SESSION} for ${appid} (${err.reason}): log in again`);
  if (!(err instanceof WechatError)) return sessionError(err);
  const c = err.errcode;
  const what = `${JSCODE2SESSION} for ${appid} answered errcode ${c}`;
  if (c === 40029) return new ApiError('bad_code', 'WeChat does not know this code (40029; codes live 5 minutes): call wx.login again', c);
  if (c === 40163) return new ApiError('bad_code', 'this code was already used (40163): call wx.login again', c);
  if (c === 45011) return new ApiError('upstream_unavailable', `${what}: this user logs in too often, retry next minute`, c);
  switch (classifyUpstream(err)) {
    case 'retry':
      return new ApiError('upstream_unavailable', `${what}: WeChat is busy, call wx.login again`, c);
    // jscode2session takes the secret itself: a rejected "credential" is the app's secret.
    case 'token':
    case 'config':
      return new ApiError('config_fault', `${what}: check the Mini Program's appid and secret`, c);
    case 'quota':
      return new ApiError('quota_exhausted', `${what}: WeChat's daily quota is exhausted`, c);
    default:
      return new ApiError('upstream_error', what, c);
  }
}

async function run<T>(work: () => Promise<T>, toError: (err: unknown) => unknown = sessionError): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toError(err);
  }
}

/** encrypt_data and iv, both or neither (`required`: both). */
function encrypted(para: Record<string, unknown>, required: boolean): EncryptedData | undefined {
  const encryptedData = optionalString(para, 'encrypt_data', MAX_ENCRYPTED);
  const iv = optionalString(para, 'iv', MAX_IV);
  if (encryptedData === undefined && iv === undefined && !required) return undefined;
  if (encryptedData === undefined) throw new ApiError('bad_para', required ? 'para.encrypt_data is required' : 'para.encrypt_data is required with para.iv');
  if (iv === undefined) throw new ApiError('bad_para', required ? 'para.iv is required' : 'para.iv is required with para.encrypt_data');
  return { encryptedData, iv };
}

/** id and skey: anything that is not a string is refused (1003); a malformed string is just no session (60012). */
function credentials(para: Record<string, unknown>): { id: string; skey: string } {
  return { id: requiredString(para, 'id', 256), skey: requiredString(para, 'skey', 256) };
}

export const sessionLogin: InterfaceDef = {
  name: 'session.login',
  aliases: ['qcloud.cam.id_skey'],
  access: 'public',
  async handle({ para, realm, call, services }) {
    const app = resolveApp(services, realm, optionalString(para, 'appid', 64), ['mina']);
    const code = requiredString(para, 'code', 512);
    const data = encrypted(para, false);
    const s = await run(() => sessions(services).login(app, code, data, call), (err) => loginError(err, app.appid));
    return {
      id: s.id,
      skey: s.skey,
      appid: s.appid,
      ...(s.unionid === undefined ? {} : { unionid: s.unionid }),
      ...(s.userInfo === undefined ? {} : { user_info: s.userInfo }),
      duration: s.duration,
    };
  },
};

export const sessionCheck: InterfaceDef = {
  name: 'session.check',
  aliases: ['qcloud.cam.auth'],
  access: 'public',
  async handle({ para, services }) {
    const { id, skey } = credentials(para);
    const appid = optionalString(para, 'appid', 64);
    const s = await run(() => sessions(services).check(id, skey, appid));
    return { user_info: s.userInfo ?? null, appid: s.appid, openid: s.openid, ...(s.unionid === undefined ? {} : { unionid: s.unionid }) };
  },
};

export const sessionDecrypt: InterfaceDef = {
  name: 'session.decrypt',
  aliases: ['qcloud.cam.decrypt', 'qcloud.cam.userinfo'],
  access: 'public',
  async handle({ para, services }) {
    const { id, skey } = credentials(para);
    const data = encrypted(para, true)!;
    const appid = optionalString(para, 'appid', 64);
    return run(() => sessions(services).decrypt(id, skey, data, appid));
  },
};
