import { describe, expect, it } from 'vitest';
import { AtRestError, cipherFor, open, openBytes, seal, sealBytes } from './at-rest';

const KEY = Buffer.alloc(32, 7);
const CONTEXT = 'registered_apps:ww0123456789abcdef:1000002:secret';
const SECRET = 'WORK-SECRET-VALUE-0123456789';

function failure(fn: () => unknown): AtRestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AtRestError);
    return err as AtRestError;
  }
  throw new Error('did not throw');
}

/** Same length, one character changed, still in the base64url alphabet. */
function flipChar(s: string, i: number): string {
  return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

describe('seal / open', () => {
  it('round-trips text, including empty and non-ASCII', () => {
    for (const text of [SECRET, '', 'sk=o0q0otL8aEzpcZL/FT9WsQ==', '企业微信 secret ✓', 'x'.repeat(10_000)]) {
      expect(open(KEY, seal(KEY, text, CONTEXT), CONTEXT)).toBe(text);
    }
  });

  it('is v1.<base64url> of iv ‖ ciphertext ‖ tag', () => {
    const sealed = seal(KEY, SECRET, CONTEXT);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(Buffer.from(sealed.slice(3), 'base64url')).toHaveLength(12 + Buffer.byteLength(SECRET) + 16);
    expect(sealed).not.toContain(SECRET);
  });

  it('draws a fresh IV every time', () => {
    const ivs = new Set(
      Array.from({ length: 1000 }, () =>
        Buffer.from(seal(KEY, SECRET, CONTEXT).slice(3), 'base64url')
          .subarray(0, 12)
          .toString('hex'),
      ),
    );
    expect(ivs.size).toBe(1000);
  });

  it('refuses any altered character of the sealed text', () => {
    const sealed = seal(KEY, SECRET, CONTEXT);
    for (let i = 0; i < sealed.length; i++) {
      const err = failure(() => open(KEY, flipChar(sealed, i), CONTEXT));
      expect(['auth', 'malformed', 'version']).toContain(err.reason);
    }
  });

  it('refuses any altered bit of the sealed bytes', () => {
    const box = sealBytes(KEY, Buffer.from(SECRET), Buffer.from(CONTEXT));
    for (let i = 0; i < box.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const altered = Buffer.from(box);
        altered[i]! ^= bit;
        expect(failure(() => openBytes(KEY, altered, Buffer.from(CONTEXT))).reason).toBe('auth');
      }
    }
  });

  it('refuses a value sealed for another row, or under another key', () => {
    const sealed = seal(KEY, SECRET, CONTEXT);
    for (const other of [
      'registered_apps:ww0123456789abcdef:1000003:secret',
      `${CONTEXT} `,
      'session:abc:session_key',
    ]) {
      const err = failure(() => open(KEY, sealed, other));
      expect(err.reason).toBe('auth');
      expect(err.message).toBe('the sealed value does not authenticate (wrong key or context, or altered)');
    }
    expect(failure(() => open(Buffer.alloc(32, 8), sealed, CONTEXT)).reason).toBe('auth');
  });

  it('says what is wrong with a malformed value without echoing it', () => {
    const cases: [string, string][] = [
      ['plain-SECRET-never-sealed', 'malformed'],
      ['v1.', 'malformed'],
      ['v1.has spaces', 'malformed'],
      ['v1.c2hvcnQ', 'malformed'],
      ['v2.AAAA', 'version'],
      [`${seal(KEY, SECRET, CONTEXT)}=`, 'malformed'],
    ];
    for (const [input, reason] of cases) {
      const err = failure(() => open(KEY, input, CONTEXT));
      expect(err.reason).toBe(reason);
      expect(err.message).not.toContain('SECRET');
      expect(err.message).not.toContain('c2hvcnQ');
    }
    expect(failure(() => open(KEY, 'v2.AAAA', CONTEXT)).message).toBe('unsupported sealed-value version v2');
  });

  it('tells a version from a value that merely starts like one', () => {
    for (const [input, reason] of [
      ['v23', 'malformed'], // no dot: not a sealed value at all
      ['xv2.AAAA', 'malformed'],
      ['v2x.AAAA', 'malformed'],
      ['v22.AAAA', 'version'],
      ['v9999.AAAA', 'version'],
      ['v10000.AAAA', 'malformed'],
    ] as const) {
      expect(failure(() => open(KEY, input, CONTEXT)).reason, input).toBe(reason);
    }
  });

  it('refuses a sealed text whose last character differs only in its unused bits', () => {
    const sealed = seal(KEY, 'x', CONTEXT); // 29 bytes: the last character carries 2 unused bits
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = sealed.slice(0, -1) + alphabet[alphabet.indexOf(sealed.at(-1)!) ^ 1];
    expect(Buffer.from(twin.slice(3), 'base64url')).toEqual(Buffer.from(sealed.slice(3), 'base64url'));
    expect(failure(() => open(KEY, twin, CONTEXT)).reason).toBe('malformed');
  });

  it('says what is wrong in words of its own', () => {
    const says = (fn: () => unknown) => {
      const err = failure(fn);
      return `${err.name}: ${err.message}`;
    };
    expect([
      says(() => seal(Buffer.alloc(16), SECRET, CONTEXT)),
      says(() => open(KEY, 'v1.c2hvcnQ', CONTEXT)),
      says(() => open(KEY, 'plain', CONTEXT)),
      says(() => open(KEY, 'v1.has spaces', CONTEXT)),
      says(() => open(KEY, seal(KEY, SECRET, 'another:context'), CONTEXT)),
    ]).toEqual([
      'AtRestError: the key must be 32 bytes',
      'AtRestError: the sealed value is too short',
      'AtRestError: not a sealed value (expected v1.<base64url>)',
      'AtRestError: not a sealed value (expected v1.<base64url>)',
      'AtRestError: the sealed value does not authenticate (wrong key or context, or altered)',
    ]);
    expect(() => seal(KEY, SECRET, '')).toThrow('at-rest: context must name where the value is stored');
  });

  it('needs a 32-byte key and a context', () => {
    expect(failure(() => seal(Buffer.alloc(16), SECRET, CONTEXT)).reason).toBe('bad-key');
    expect(failure(() => open(Buffer.alloc(33), seal(KEY, SECRET, CONTEXT), CONTEXT)).reason).toBe('bad-key');
    expect(() => seal(KEY, SECRET, '')).toThrow(TypeError);
    expect(() => open(KEY, seal(KEY, SECRET, CONTEXT), '')).toThrow(TypeError);
  });
});

describe('the AES-256-GCM primitive', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (also in NIST's GCM
  // validation material): AES-256, 96-bit IV, 20 bytes of AAD, a 60-byte plaintext.
  const hex = (s: string) => Buffer.from(s, 'hex');
  const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
  const iv = hex('cafebabefacedbaddecaf888');
  const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
  const plaintext = hex(
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  );
  const ciphertext = hex(
    '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
  );
  const tag = hex('76fc6ece0f4e1768cddf8853bb2d551b');

  it('opens the published vector', () => {
    expect(openBytes(key, Buffer.concat([iv, ciphertext, tag]), aad)).toEqual(plaintext);
  });

  it('refuses the vector with its AAD changed', () => {
    expect(
      failure(() =>
        openBytes(key, Buffer.concat([iv, ciphertext, tag]), hex('feedfacedeadbeeffeedfacedeadbeefabaddad3')),
      ).reason,
    ).toBe('auth');
  });

  it('seals what it opens, in the same layout', () => {
    const box = sealBytes(key, plaintext, aad);
    expect(box).toHaveLength(12 + 60 + 16);
    expect(openBytes(key, box, aad)).toEqual(plaintext);
  });
});

describe('cipherFor', () => {
  it('seals and opens with the configured key', () => {
    const cipher = cipherFor({ masterKey: KEY });
    const sealed = cipher.seal(SECRET, CONTEXT);
    expect(open(KEY, sealed, CONTEXT)).toBe(SECRET);
    expect(cipher.open(sealed, CONTEXT)).toBe(SECRET);
  });

  it('fails on use, clearly, when no key is configured', () => {
    const cipher = cipherFor({});
    for (const use of [() => cipher.seal(SECRET, CONTEXT), () => cipher.open('v1.AAAA', CONTEXT)]) {
      const err = failure(use);
      expect(err.reason).toBe('no-key');
      expect(err.message).toBe('WECRED_MASTER_KEY is not set');
    }
  });
});
