/**
 * Mini Program open data: AES-128-CBC under the session_key, `watermark.appid` ours
 * (docs/protocol.md §3.2); CBC does not authenticate, so an `openId` in the data must be the
 * session's (docs/design.md §11.1). Pure functions; errors never carry a key or a text.
 */
import { createDecipheriv } from 'node:crypto';
import { strictBase64, strictUtf8 } from './encoding';

const KEY_BYTES = 16;
const BLOCK_BYTES = 16;

/** How WeChat shapes each field of encrypted data (the names are Wafer's para names). */
export const DATA_SHAPE = { encrypt_data: 'base64 of whole 16-byte blocks', iv: 'base64 of 16 bytes' } as const;

/** Encrypted data as the bytes parseMinaData found in it. */
export interface MinaCiphertext {
  readonly data: Buffer;
  readonly iv: Buffer;
}

export type MinaDataFailure = 'bad_key' | 'padding' | 'not_json' | 'watermark' | 'openid';

export class MinaDataError extends Error {
  constructor(
    readonly reason: MinaDataFailure,
    message: string,
  ) {
    super(message);
    this.name = 'MinaDataError';
  }
}

/**
 * The bytes of `encryptedData` and `iv` (base64), or the first field that is not shaped as WeChat
 * sends it (DATA_SHAPE): checkable before any key is at hand.
 */
export function parseMinaData(encryptedData: string, iv: string): MinaCiphertext | keyof typeof DATA_SHAPE {
  const ivBytes = strictBase64(iv);
  if (ivBytes === null || ivBytes.length !== BLOCK_BYTES) return 'iv';
  const data = strictBase64(encryptedData);
  if (data === null || data.length === 0 || data.length % BLOCK_BYTES !== 0) return 'encrypt_data';
  return { data, iv: ivBytes };
}

/**
 * The decrypted object of `ciphertext` under `sessionKey` (base64 of 16 bytes), after checking
 * that its watermark.appid is `appid` and, when it carries an `openId` and `openid` is given,
 * that it is `openid` (data without one, such as a phone number, passes).
 */
export function decryptMinaData(
  sessionKey: string,
  ciphertext: MinaCiphertext,
  appid: string,
  openid?: string,
): Record<string, unknown> {
  const key = strictBase64(sessionKey);
  if (key === null || key.length !== KEY_BYTES)
    throw new MinaDataError('bad_key', 'the session key is not base64 of 16 bytes');

  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, ciphertext.iv);
    plain = Buffer.concat([decipher.update(ciphertext.data), decipher.final()]);
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
  if (parsed === undefined)
    throw new MinaDataError('not_json', 'encrypt_data does not decrypt to JSON under this session');
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MinaDataError('not_json', 'encrypt_data does not decrypt to a JSON object');
  }
  const obj = parsed as Record<string, unknown>;
  const watermark = obj.watermark;
  const owner =
    watermark !== null && typeof watermark === 'object' ? (watermark as Record<string, unknown>).appid : undefined;
  if (owner !== appid) throw new MinaDataError('watermark', `the data's watermark is not for ${appid}`);
  if (openid !== undefined && obj.openId !== undefined && obj.openId !== openid)
    throw new MinaDataError('openid', "the data's openId is not this session's user");
  return obj;
}
