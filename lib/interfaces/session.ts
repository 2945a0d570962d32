/**
 * Mini Program sessions, Wafer v1's session server interfaces: `session.login`, `session.check`,
 * `session.decrypt` (and their `qcloud.cam.*` names) and the Wafer fork's `qcloud.cam.userinfo`.
 * Public. The sessions themselves: lib/sessions/mina.ts, docs/design.md §11.1.
 */
import { DATA_SHAPE, parseMinaData, type MinaCiphertext } from '../crypto/mina-data';
import { SessionError, type SessionFailure } from '../sessions/mina';
import { resolveApp } from './apps';
import { ApiError, type ErrorName } from './errors';
import { EXCHANGE_ERRORS } from './login-errors';
import { admitLogin } from './login-limit';
import { optionalString, requiredString } from './para';
import type { InterfaceDef } from './types';

/** encryptedData of wx.getUserInfo is about 1 KB; other open data (e.g. werun) is larger. */
const MAX_ENCRYPTED = 32_768;
const MAX_IV = 64;

const ERROR_OF: Record<SessionFailure, ErrorName> = {
  invalid: 'session_invalid',
  expired: 'session_expired',
  decrypt_failed: 'decrypt_failed',
  decrypt_locked: 'decrypt_locked',
  no_master_key: 'config_fault',
  store_unavailable: 'store_unavailable',
  ...EXCHANGE_ERRORS,
};

async function run<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw err instanceof SessionError ? new ApiError(ERROR_OF[err.reason], err.message, err.errcode) : err;
  }
}

/**
 * encrypt_data and iv, both or neither (`required`: both), shaped as WeChat sends them: checked
 * before anything else, so that malformed data never spends a code.
 */
function encrypted(para: Record<string, unknown>, required: boolean): MinaCiphertext | undefined {
  const encryptedData = optionalString(para, 'encrypt_data', MAX_ENCRYPTED);
  const iv = optionalString(para, 'iv', MAX_IV);
  if (encryptedData === undefined && iv === undefined && !required) return undefined;
  if (encryptedData === undefined)
    throw new ApiError(
      'bad_para',
      required ? 'para.encrypt_data is required' : 'para.encrypt_data is required with para.iv',
    );
  if (iv === undefined)
    throw new ApiError('bad_para', required ? 'para.iv is required' : 'para.iv is required with para.encrypt_data');
  const parsed = parseMinaData(encryptedData, iv);
  if (typeof parsed === 'string') throw new ApiError('bad_para', `para.${parsed} must be ${DATA_SHAPE[parsed]}`);
  return parsed;
}

/**
 * id or skey: present, and a string (else 1003). Any string goes on, '' included: a malformed one
 * is just no session (60012, which makes Wafer clients log in again), and older wafer-node-sdk
 * versions send '' when the Mini Program's request lacked the session headers.
 */
function credential(para: Record<string, unknown>, field: 'id' | 'skey'): string {
  const v = para[field];
  if (v === undefined || v === null) throw new ApiError('bad_para', `para.${field} is required`);
  if (typeof v !== 'string') throw new ApiError('bad_para', `para.${field} must be a string`);
  return v;
}

/** The session para of check, decrypt and userinfo. */
function sessionPara(para: Record<string, unknown>): { id: string; skey: string; appid: string | undefined } {
  return { id: credential(para, 'id'), skey: credential(para, 'skey'), appid: optionalString(para, 'appid', 64) };
}

export const sessionLogin: InterfaceDef = {
  name: 'session.login',
  aliases: ['qcloud.cam.id_skey'],
  access: 'public',
  async handle({ para, realm, call, services, client }) {
    const app = await resolveApp(services, realm, optionalString(para, 'appid', 64), ['mina']);
    const code = requiredString(para, 'code', 512);
    const data = encrypted(para, false);
    await admitLogin(services, client); // each login spends a jscode2session call
    const s = await run(() => services.sessions.login(app, code, data, call));
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
    const { id, skey, appid } = sessionPara(para);
    const s = await run(() => services.sessions.check(id, skey, appid));
    return {
      user_info: s.userInfo ?? null,
      appid: s.appid,
      openid: s.openid,
      ...(s.unionid === undefined ? {} : { unionid: s.unionid }),
    };
  },
};

export const sessionDecrypt: InterfaceDef = {
  name: 'session.decrypt',
  aliases: ['qcloud.cam.decrypt'],
  access: 'public',
  async handle({ para, services }) {
    const { id, skey, appid } = sessionPara(para);
    const data = encrypted(para, true)!;
    return run(() => services.sessions.decrypt(id, skey, data, appid));
  },
};

/** The Wafer fork's userinfo step: after a login with only a code, wx.getUserInfo's data becomes the session's user_info. */
export const sessionUserInfo: InterfaceDef = {
  name: 'qcloud.cam.userinfo',
  aliasOf: 'session.decrypt',
  access: 'public',
  async handle({ para, services }) {
    const { id, skey, appid } = sessionPara(para);
    const data = encrypted(para, true)!;
    const s = await run(() => services.sessions.setUserInfo(id, skey, data, appid));
    return { id, skey, appid: s.appid, user_info: s.userInfo ?? null };
  },
};
