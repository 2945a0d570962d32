import { describe, expect, it } from 'vitest';
import { ApiError } from './errors';
import { qrcodeRequest } from './qrcode';

function refusal(para: Record<string, unknown>): ApiError {
  try {
    qrcodeRequest(para);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected a refusal');
}

describe('qrcodeRequest', () => {
  it('an integer scene is a scene_id, a string (numeric too) a scene_str', () => {
    expect(qrcodeRequest({ scene: 123 })).toEqual({ scene: 123, permanent: false });
    expect(qrcodeRequest({ scene: '123' })).toEqual({ scene: '123', permanent: false });
    expect(qrcodeRequest({ scene: 'abc', expire_seconds: 604800 })).toEqual({
      scene: 'abc',
      permanent: false,
      expireSeconds: 604800,
    });
  });

  it('permanent is a boolean; "false", 0 and "0" are false; "true" and 1 are true', () => {
    expect(qrcodeRequest({ scene: 1, permanent: 'false' }).permanent).toBe(false);
    expect(qrcodeRequest({ scene: 1, permanent: 0 }).permanent).toBe(false);
    expect(qrcodeRequest({ scene: 1, permanent: 'true' }).permanent).toBe(true);
    expect(qrcodeRequest({ scene: 1, permanent: 1 }).permanent).toBe(true);
    expect(refusal({ scene: 1, permanent: 'no' }).message).toBe('para.permanent must be a boolean');
  });

  it('accepts the documented edges', () => {
    expect(qrcodeRequest({ scene: 1 }).scene).toBe(1);
    expect(qrcodeRequest({ scene: 2147483647 }).scene).toBe(2147483647);
    expect(qrcodeRequest({ scene: 100000, permanent: true }).scene).toBe(100000);
    expect(qrcodeRequest({ scene: 'x' }).scene).toBe('x');
    expect(qrcodeRequest({ scene: 'x'.repeat(64), permanent: true }).scene).toHaveLength(64);
    expect(qrcodeRequest({ scene: 1, expire_seconds: 1 }).expireSeconds).toBe(1);
    expect(qrcodeRequest({ scene: 1, expire_seconds: 2592000 }).expireSeconds).toBe(2592000);
    expect(qrcodeRequest({ scene: 1, expire_seconds: null })).toEqual({ scene: 1, permanent: false });
  });

  it('counts scene_str in characters, not UTF-16 units', () => {
    expect(qrcodeRequest({ scene: '码'.repeat(64) }).scene).toHaveLength(64);
    expect(qrcodeRequest({ scene: '😀'.repeat(64) }).scene).toHaveLength(128);
    expect(refusal({ scene: '😀'.repeat(65) }).code).toBe('bad_para');
  });

  it('refuses every out-of-bounds value with 1003 and a message naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'para.scene is required'],
      [{ scene: 0 }, 'para.scene must be an integer between 1 and 2147483647 for a temporary code (or a string)'],
      [{ scene: -1 }, 'para.scene must be an integer between 1 and 2147483647 for a temporary code (or a string)'],
      [{ scene: 2 ** 31 }, 'para.scene must be an integer between 1 and 2147483647 for a temporary code (or a string)'],
      [
        { scene: 100001, permanent: true },
        'para.scene must be an integer between 1 and 100000 for a permanent code (or a string)',
      ],
      [{ scene: 2.5 }, 'para.scene must be an integer between 1 and 2147483647 for a temporary code (or a string)'],
      [{ scene: false }, 'para.scene must be an integer or a string'],
      [{ scene: [1] }, 'para.scene must be an integer or a string'],
      [{ scene: '' }, 'para.scene must be 1 to 64 characters long as a string'],
      [{ scene: 'x'.repeat(65) }, 'para.scene must be 1 to 64 characters long as a string'],
      [{ scene: 1, expire_seconds: 0 }, 'para.expire_seconds must be an integer between 1 and 2592000 (30 days)'],
      [{ scene: 1, expire_seconds: 2592001 }, 'para.expire_seconds must be an integer between 1 and 2592000 (30 days)'],
      [{ scene: 1, expire_seconds: '600' }, 'para.expire_seconds must be an integer between 1 and 2592000 (30 days)'],
      [
        { scene: 1, permanent: true, expire_seconds: 600 },
        'para.expire_seconds is for temporary codes only (permanent codes never expire)',
      ],
    ];
    for (const [para, message] of cases) {
      const err = refusal(para);
      expect(err.returnCode).toBe(1003);
      expect(err.message).toBe(message);
    }
  });
});
