/**
 * Mini Program open data: AES-128-CBC under the session_key, `watermark.appid` ours
 * (docs/protocol.md §3.2). CBC does not authenticate, so every failure is one and the same error
 * reached through the same work, and an `openId` in the data must be the session's
 * (docs/design.md §11.1). Pure functions; errors never carry a key or a text.
 */
import { createDecipheriv } from 'node:crypto';
import { strictBase64, strictUtf8 } from './encoding';
import { safeEqual } from './realm';

const KEY_BYTES = 16;
const BLOCK_BYTES = 16;

/** How WeChat shapes each field of encrypted data (the names are Wafer's para names). */
export const DATA_SHAPE = { encrypt_data: 'base64 of whole 16-byte blocks', iv: 'base64 of 16 bytes' } as const;

/** Encrypted data as the bytes parseMinaData found in it. */
export interface MinaCiphertext {
  readonly data: Buffer;
  readonly iv: Buffer;
}

/** Every failure to open data: which check refused it is never told (a padding oracle otherwise). */
export class MinaDataError extends Error {
  constructor() {
    super("encrypt_data is not this app's data for this session's user, under this session's key");
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
 * 0 when `plain` ends in valid PKCS#7 padding, else 1, without a branch on its bytes: the last
 * block is always read whole, so the time taken does not tell a padding byte apart.
 */
function paddingFault(plain: Buffer): { fault: number; pad: number } {
  const n = plain.length;
  const pad = plain[n - 1]!;
  let fault = ((pad - 1) | (BLOCK_BYTES - pad)) >>> 31; // 1 unless 1 <= pad <= 16
  for (let i = 0; i < BLOCK_BYTES; i++) {
    const inPad = (i - pad) >>> 31; // 1 while i < pad
    fault |= inPad & (((plain[n - 1 - i]! ^ pad) + 0xff) >>> 8); // 1 when that byte is not `pad`
  }
  return { fault, pad };
}

/**
 * The decrypted object of `ciphertext` under `sessionKey` (base64 of 16 bytes), after checking
 * that its watermark.appid is `appid` and, when it carries an `openId` and `openid` is given,
 * that it is `openid` (data without one, such as a phone number, passes). Every step runs whatever
 * the one before found (decrypt, unpad, parse, check), and one MinaDataError answers any failure.
 */
export function decryptMinaData(
  sessionKey: string,
  ciphertext: MinaCiphertext,
  appid: string,
  openid?: string,
): Record<string, unknown> {
  const key = strictBase64(sessionKey);
  // The session_key came from WeChat, never from the caller: refusing it early tells nothing.
  if (key === null || key.length !== KEY_BYTES) throw new MinaDataError();

  const decipher = createDecipheriv('aes-128-cbc', key, ciphertext.iv).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(ciphertext.data), decipher.final()]);
  const { fault, pad } = paddingFault(plain);
  // Bad padding still parses: the whole text, as if there were none.
  const text = strictUtf8(plain.subarray(0, plain.length - (pad & -(fault ^ 1)))) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const obj = (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {}) as Record<
    string,
    unknown
  >;
  const watermark = obj.watermark;
  const owner =
    watermark !== null && typeof watermark === 'object' ? (watermark as Record<string, unknown>).appid : undefined;
  const ownerOk = safeEqual(typeof owner === 'string' ? owner : '', appid);
  const claimed = obj.openId;
  const userOk =
    openid === undefined || claimed === undefined || safeEqual(typeof claimed === 'string' ? claimed : '', openid);
  if (fault !== 0 || obj !== parsed || !ownerOk || !userOk) throw new MinaDataError();
  return obj;
}
