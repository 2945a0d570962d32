/**
 * Secrets at rest: AES-256-GCM under the 32-byte WECRED_MASTER_KEY, `"v1." base64url(iv ‖
 * ciphertext ‖ tag)`, the value's context bound as AAD. Pure functions; errors never carry a key,
 * a plaintext or the sealed input. docs/design.md §14.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Config } from '../config/types';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export type AtRestFailure = 'no-key' | 'bad-key' | 'malformed' | 'version' | 'auth';

export class AtRestError extends Error {
  constructor(
    readonly reason: AtRestFailure,
    message: string,
  ) {
    super(message);
    this.name = 'AtRestError';
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new AtRestError('bad-key', `the key must be ${KEY_BYTES} bytes`);
}

function checkContext(context: string): void {
  // An empty context would let a value open anywhere: binding it is the point.
  if (context === '') throw new TypeError('at-rest: context must name where the value is stored');
}

/** The primitive: iv ‖ ciphertext ‖ tag of `plaintext` with `aad` authenticated. */
export function sealBytes(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The inverse of {@link sealBytes}; nothing is returned unless the tag checks. */
export function openBytes(key: Uint8Array, box: Uint8Array, aad: Uint8Array): Buffer {
  checkKey(key);
  if (box.length < IV_BYTES + TAG_BYTES) throw new AtRestError('malformed', 'the sealed value is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, box.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(box.subarray(IV_BYTES, box.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new AtRestError('auth', 'the sealed value does not authenticate (wrong key or context, or altered)');
  }
}

export function seal(key: Uint8Array, plaintext: string, context: string): string {
  checkContext(context);
  return `${VERSION}.${sealBytes(key, Buffer.from(plaintext, 'utf8'), Buffer.from(context, 'utf8')).toString('base64url')}`;
}

export function open(key: Uint8Array, sealed: string, context: string): string {
  checkContext(context);
  const dot = sealed.indexOf('.');
  const version = dot < 0 ? '' : sealed.slice(0, dot);
  if (version !== VERSION) {
    // Name the version only when it looks like one: the input may be a plaintext that was never sealed.
    if (/^v\d{1,4}$/.test(version)) throw new AtRestError('version', `unsupported sealed-value version ${version}`);
    throw new AtRestError('malformed', `not a sealed value (expected ${VERSION}.<base64url>)`);
  }
  const body = sealed.slice(dot + 1);
  const box = Buffer.from(body, 'base64url');
  // Canonical encoding only: otherwise the unused bits of the last character could change unnoticed.
  if (!BASE64URL.test(body) || box.toString('base64url') !== body) {
    throw new AtRestError('malformed', `not a sealed value (expected ${VERSION}.<base64url>)`);
  }
  return openBytes(key, box, Buffer.from(context, 'utf8')).toString('utf8');
}

export interface AtRestCipher {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

/**
 * The one way to seal and open with the configured WECRED_MASTER_KEY. A missing key fails on use,
 * not here, so a deployment that never stores such a value needs no key.
 */
export function cipherFor(config: Pick<Config, 'masterKey'>): AtRestCipher {
  const key = (): Buffer => {
    if (config.masterKey === undefined) throw new AtRestError('no-key', 'WECRED_MASTER_KEY is not set');
    return config.masterKey;
  };
  return {
    seal: (plaintext, context) => seal(key(), plaintext, context),
    open: (sealed, context) => open(key(), sealed, context),
  };
}
