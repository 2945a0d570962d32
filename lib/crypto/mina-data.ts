/**
 * Mini Program open data (reference §3.2, 《开放数据校验与解密》): `encryptedData` is AES-128-CBC
 * with PKCS#7 padding under the user's session_key, and the plaintext JSON carries a
 * `watermark.appid` that must be ours. Pure functions.
 *
 * Every failure is one MinaDataError whose message names what was wrong, never a key, an iv,
 * the ciphertext or the plaintext.
 */
import { createDecipheriv } from 'node:crypto';

const KEY_BYTES = 16;
const BLOCK_BYTES = 16;
/** Standard base64 with its padding, as WeChat sends it. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type MinaDataFailure = 'bad_key' | 'bad_iv' | 'bad_data' | 'padding' | 'not_json' | 'watermark';

export class MinaDataError extends Error {
  constructor(
    readonly reason: MinaDataFailure,
    message: string,
  ) {
    super(message);
    this.name = 'MinaDataError';
  }
}

/** `text` as bytes when it is canonical base64; null otherwise. */
function base64Bytes(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/**
 * The decrypted object of `encryptedData` (base64) under `sessionKey` (base64 of 16 bytes) and
 * `iv` (base64 of 16 bytes), after checking that its watermark.appid is `appid`.
 */
export function decryptMinaData(sessionKey: string, encryptedData: string, iv: string, appid: string): Record<string, unknown> {
  const key = base64Bytes(sessionKey);
  if (key === null || key.length !== KEY_BYTES) throw new MinaDataError('bad_key', 'the session key is not base64 of 16 bytes');
  const ivBytes = base64Bytes(iv);
  if (ivBytes === null || ivBytes.length !== BLOCK_BYTES) throw new MinaDataError('bad_iv', 'iv is not base64 of 16 bytes');
  const data = base64Bytes(encryptedData);
  if (data === null || data.length === 0 || data.length % BLOCK_BYTES !== 0) {
    throw new MinaDataError('bad_data', 'encrypt_data is not base64 of whole 16-byte blocks');
  }

  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, ivBytes);
    plain = Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    // A wrong key, a wrong iv's first block or altered data all end here.
    throw new MinaDataError('padding', 'encrypt_data does not decrypt under this session (bad padding)');
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(plain.toString('utf8'));
  } catch {
    throw new MinaDataError('not_json', 'encrypt_data does not decrypt to JSON under this session');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MinaDataError('not_json', 'encrypt_data does not decrypt to a JSON object');
  }
  const obj = parsed as Record<string, unknown>;
  const watermark = obj.watermark;
  const owner = watermark !== null && typeof watermark === 'object' ? (watermark as Record<string, unknown>).appid : undefined;
  if (owner !== appid) throw new MinaDataError('watermark', `the data's watermark is not for ${appid}`);
  return obj;
}
