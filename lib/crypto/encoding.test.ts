import { describe, expect, it } from 'vitest';
import { strictBase64, strictUtf8 } from './encoding';

describe('strictBase64', () => {
  it('decodes canonical standard base64', () => {
    expect(strictBase64('aGk=')).toEqual(Buffer.from('hi'));
    expect(strictBase64('+/8=')).toEqual(Buffer.from([0xfb, 0xff]));
    expect(strictBase64('')).toEqual(Buffer.alloc(0));
  });

  it('refuses what a loose decoder would take: url-safe letters, whitespace, missing or inner padding, unused bits set', () => {
    for (const text of ['-_8=', 'aG k=', 'aGk', 'aGk=\n', 'aG==aGk=', 'aGl=']) expect(strictBase64(text)).toBeNull();
  });
});

describe('strictUtf8', () => {
  it('decodes valid UTF-8 and refuses invalid bytes instead of replacing them', () => {
    expect(strictUtf8(Buffer.from('微信 ok'))).toBe('微信 ok');
    expect(strictUtf8(Buffer.from([0x61, 0xff]))).toBeNull();
    expect(strictUtf8(Buffer.from([0xe5, 0xbe]))).toBeNull(); // truncated sequence
  });
});
