/**
 * Message encryption of 安全模式 / 兼容模式 pushes and WeCom callbacks: the EncodingAESKey scheme
 * (AES-256-CBC, PKCS#7 to 32 bytes, a trailing receiveId: the appid, or the corpid for WeCom),
 * docs/protocol.md §1.7, §4.5. Pure functions; errors never carry the key or a text.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { strictBase64, strictUtf8 } from './encoding';
import { safeEqual } from './realm';
import { sortedSha1 } from './server';

/** 43 characters of [a-zA-Z0-9], as the consoles hand it out. */
export const ENCODING_AES_KEY = /^[A-Za-z0-9]{43}$/;
/** WeChat pads to a multiple of 32 bytes (not the AES block size). */
const PAD_BLOCK = 32;
const RANDOM_BYTES = 16;
const LENGTH_BYTES = 4;

export type MessageCryptoFailure =
  /** The EncodingAESKey is not 43 letters or digits. */
  | 'bad-key'
  /** The Encrypt value is not strict base64 of a whole number of AES blocks (at least 32 bytes). */
  | 'malformed'
  /** The PKCS#7 padding is not 1..32 bytes of its own value. */
  | 'bad-padding'
  /** msg_len points past the end of the plaintext. */
  | 'bad-length'
  /** The message is not valid UTF-8. */
  | 'bad-text'
  /** The trailing appid / corpid is not the expected one. */
  | 'wrong-receiver';

export class MessageCryptoError extends Error {
  constructor(
    readonly reason: MessageCryptoFailure,
    message: string,
  ) {
    super(message);
    this.name = 'MessageCryptoError';
  }
}

/** The 32-byte AES key of an EncodingAESKey. */
export function aesKeyOf(encodingAESKey: string): Buffer {
  if (!ENCODING_AES_KEY.test(encodingAESKey))
    throw new MessageCryptoError('bad-key', 'the EncodingAESKey must be 43 letters or digits');
  return Buffer.from(`${encodingAESKey}=`, 'base64');
}

/** `msg_signature`: sha1 of [token, timestamp, nonce, encrypt] sorted as strings and joined. */
export function msgSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return sortedSha1([token, timestamp, nonce, encrypt]);
}

/** Checks a `msg_signature` in constant time, in either hex case (as verifyServerSignature). */
export function verifyMsgSignature(
  token: string,
  timestamp: string,
  nonce: string,
  encrypt: string,
  signature: string,
): boolean {
  return safeEqual(msgSignature(token, timestamp, nonce, encrypt), signature.toLowerCase());
}

/**
 * The message inside `encrypt` (base64), checked strictly: whole AES blocks, PKCS#7 padding of
 * 1..32 bytes, msg_len within the plaintext, valid UTF-8, and a trailing receiveId equal to
 * `expectedReceiveId` (the app's own appid, or the corpid). Throws MessageCryptoError.
 */
export function decrypt(encodingAESKey: string, encrypt: string, expectedReceiveId: string): string {
  const key = aesKeyOf(encodingAESKey);
  const data = strictBase64(encrypt);
  if (data === null) throw new MessageCryptoError('malformed', 'the encrypted message is not base64');
  if (data.length < PAD_BLOCK || data.length % 16 !== 0)
    throw new MessageCryptoError('malformed', 'the encrypted message is not a whole number of AES blocks');

  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(data), decipher.final()]);

  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > PAD_BLOCK) throw new MessageCryptoError('bad-padding', 'the decrypted message has bad padding');
  for (let i = padded.length - pad; i < padded.length; i++) {
    if (padded[i] !== pad) throw new MessageCryptoError('bad-padding', 'the decrypted message has bad padding');
  }
  const plain = padded.subarray(0, padded.length - pad);
  if (plain.length < RANDOM_BYTES + LENGTH_BYTES)
    throw new MessageCryptoError('bad-length', 'the decrypted message is too short');

  const msgLen = plain.readUInt32BE(RANDOM_BYTES);
  const start = RANDOM_BYTES + LENGTH_BYTES;
  if (msgLen > plain.length - start)
    throw new MessageCryptoError('bad-length', 'the message length points past the end of the decrypted message');
  const receiveId = plain.subarray(start + msgLen);
  if (!receiveId.equals(Buffer.from(expectedReceiveId, 'utf8'))) {
    throw new MessageCryptoError('wrong-receiver', 'the message was not encrypted for this app');
  }
  const text = strictUtf8(plain.subarray(start, start + msgLen));
  if (text === null) throw new MessageCryptoError('bad-text', 'the decrypted message is not UTF-8 text');
  return text;
}

/**
 * `msg` encrypted for `receiveId` as base64: random(16) ‖ msg_len ‖ msg ‖ receiveId, padded
 * to 32 bytes. `random16` (16 bytes) makes the output reproducible for tests; fresh by default.
 */
export function encrypt(
  encodingAESKey: string,
  receiveId: string,
  msg: string,
  random16: Uint8Array = randomBytes(RANDOM_BYTES),
): string {
  const key = aesKeyOf(encodingAESKey);
  if (random16.length !== RANDOM_BYTES) throw new TypeError(`message crypto: random16 must be ${RANDOM_BYTES} bytes`);
  const body = Buffer.from(msg, 'utf8');
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(body.length);
  const plain = Buffer.concat([random16, length, body, Buffer.from(receiveId, 'utf8')]);
  const pad = PAD_BLOCK - (plain.length % PAD_BLOCK);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString(
    'base64',
  );
}
