/**
 * Mini Program open data (reference §3.2, 《开放数据校验与解密》): `encryptedData` is AES-128-CBC
 * with PKCS#7 padding under the user's session_key, and the plaintext JSON carries a
 * `watermark.appid` that must be ours. Pure functions.
 *
 * CBC does not authenticate: whoever holds encryptedData chooses the iv, and so the first 16
 * bytes of the plaintext. Hence an `openId` in the data must be the session's, and callers take
 * the user's identity from jscode2session, never from here.
 *
 * Every failure is one MinaDataError whose message names what was wrong, never a key, an iv,
 * the ciphertext or the plaintext.
 */
import { createDecipheriv } from 'node:crypto';
import { strictBase64, strictUtf8 } from './encoding';

const KEY_BYTES = 16;
const BLOCK_BYTES = 16;

/** How WeChat shapes each field of encrypted data (the names are Wafer's para names). */
export const DATA_SHAPE = { encrypt_data: 'base64 of whole 16-byte blocks', iv: 'base64 of 16 bytes' } as const;
export type DataField = keyof typeof DATA_SHAPE;

export type MinaDataFailure = 'bad_key' | 'bad_iv' | 'bad_data' | 'padding' | 'not_json' | 'watermark' | 'openid';

export class MinaDataError extends Error {
  constructor(
    readonly reason: MinaDataFailure,
    message: string,
  ) {
    super(message);
    this.name = 'MinaDataError';
  }
}

/** The bytes of `encryptedData` and `iv`, or the first field that is not shaped as WeChat sends it. */
function bytesOf(encryptedData: string, iv: string): { data: Buffer; iv: Buffer } | DataField {
  const ivBytes = strictBase64(iv);
  if (ivBytes === null || ivBytes.length !== BLOCK_BYTES) return 'iv';
  const data = strictBase64(encryptedData);
  if (data === null || data.length === 0 || data.length % BLOCK_BYTES !== 0) return 'encrypt_data';
  return { data, iv: ivBytes };
}

/** The first of `encryptedData` / `iv` that is not shaped as WeChat sends it (DATA_SHAPE), or null: checkable before any key is at hand. */
export function malformedDataField(encryptedData: string, iv: string): DataField | null {
  const shaped = bytesOf(encryptedData, iv);
  return typeof shaped === 'string' ? shaped : null;
}

/**
 * The decrypted object of `encryptedData` (base64) under `sessionKey` (base64 of 16 bytes) and
 * `iv` (base64 of 16 bytes), after checking that its watermark.appid is `appid` and, when it
 * carries an `openId` and `openid` is given, that it is `openid` (data without one, such as a
 * phone number, passes).
 */
export function decryptMinaData(sessionKey: string, encryptedData: string, iv: string, appid: string, openid?: string): Record<string, unknown> {
  const key = strictBase64(sessionKey);
  if (key === null || key.length !== KEY_BYTES) throw new MinaDataError('bad_key', 'the session key is not base64 of 16 bytes');
  const shaped = bytesOf(encryptedData, iv);
  if (shaped === 'iv') throw new MinaDataError('bad_iv', `iv is not ${DATA_SHAPE.iv}`);
  if (shaped === 'encrypt_data') throw new MinaDataError('bad_data', `encrypt_data is not ${DATA_SHAPE.encrypt_data}`);

  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, shaped.iv);
    plain = Buffer.concat([decipher.update(shaped.data), decipher.final()]);
  } catch {
    // A wrong key, a wrong iv's first block or altered data all end here.
    throw new MinaDataError('padding', 'encrypt_data does not decrypt under this session (bad padding)');
  }

  // Invalid UTF-8 (altered data whose padding happened to survive) is not JSON either.
  const text = strictUtf8(plain);
  let parsed: unknown;
  try {
    parsed = text === null ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined) throw new MinaDataError('not_json', 'encrypt_data does not decrypt to JSON under this session');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MinaDataError('not_json', 'encrypt_data does not decrypt to a JSON object');
  }
  const obj = parsed as Record<string, unknown>;
  const watermark = obj.watermark;
  const owner = watermark !== null && typeof watermark === 'object' ? (watermark as Record<string, unknown>).appid : undefined;
  if (owner !== appid) throw new MinaDataError('watermark', `the data's watermark is not for ${appid}`);
  if (openid !== undefined && obj.openId !== undefined && obj.openId !== openid) throw new MinaDataError('openid', "the data's openId is not this session's user");
  return obj;
}
