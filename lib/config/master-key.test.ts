import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseMasterKey } from './master-key';

describe('parseMasterKey', () => {
  const raw = randomBytes(32);
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

  it('accepts base64 and hex of 32 bytes, ignoring surrounding whitespace', () => {
    expect(parseMasterKey(raw.toString('base64'))).toEqual(raw);
    expect(parseMasterKey(raw.toString('hex'))).toEqual(raw);
    expect(parseMasterKey(raw.toString('hex').toUpperCase())).toEqual(raw);
    expect(parseMasterKey(`  ${raw.toString('base64')}\n`)).toEqual(raw);
  });

  it('rejects anything else with one message that shows no part of the input', () => {
    const b64 = raw.toString('base64');
    const inputs = [
      '',
      'short',
      raw.toString('hex').slice(2), // 31 bytes
      `${raw.toString('hex')}00`, // 33 bytes
      randomBytes(31).toString('base64'),
      randomBytes(33).toString('base64'),
      raw.toString('base64url'), // no padding, other alphabet
      `${b64.slice(0, 42)}${B64[B64.indexOf(b64[42]!) | 1]}=`, // the last character's unused bits set
      'g'.repeat(64),
    ];
    for (const input of inputs) {
      expect(() => parseMasterKey(input)).toThrow(
        'must be 32 bytes as base64 (44 characters, e.g. from `openssl rand -base64 32`) or hex (64 characters)',
      );
    }
  });
});
