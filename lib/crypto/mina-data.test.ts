import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptMinaData, MinaDataError, parseMinaData, type MinaCiphertext } from './mina-data';

// The official demo's vector (docs/protocol.md §3.2, aes-sample.zip).
const APPID = 'wx4f4bc4dec97d474b';
const SESSION_KEY = 'tiihtNczf5v6AKRyjwEUhQ==';
const IV = 'r7BXXKkLb8qrSNn05n0qiA==';
const ENCRYPTED =
  'CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==';
const PLAINTEXT =
  '{"openId":"oGZUI0egBJY1zhBYw2KhdUfwVJJE","nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","province":"Guangdong","country":"CN","avatarUrl":"http://wx.qlogo.cn/mmopen/vi_32/aSKcBBPpibyKNicHNTMM0qJVh8Kjgiak2AHWr8MHM4WgMEm7GFhsf8OYrySdbvAMvTsw3mo8ibKicsnfN5pRjl1p8HQ/0","unionId":"ocMvos6NjeKLIBqg5Mr9QjxrP1FA","watermark":{"timestamp":1477314187,"appid":"wx4f4bc4dec97d474b"}}';

/** AES-128-CBC + PKCS#7 with Node directly (what WeChat does), independent of the module under test. */
function encrypt(plaintext: string | Buffer, key = SESSION_KEY, iv = IV): string {
  const c = createCipheriv('aes-128-cbc', Buffer.from(key, 'base64'), Buffer.from(iv, 'base64'));
  return Buffer.concat([
    c.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
    c.final(),
  ]).toString('base64');
}

/** parseMinaData's bytes of well-shaped base64 fields. */
function shaped(data: string, iv = IV): MinaCiphertext {
  const parsed = parseMinaData(data, iv);
  if (typeof parsed === 'string') throw new Error(`test data: ${parsed} is malformed`);
  return parsed;
}

/** The one refusal, whatever refused the data. */
const REFUSAL = "encrypt_data is not this app's data for this session's user, under this session's key";

/** The message of the MinaDataError `f` throws. */
function failure(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(MinaDataError);
    return (err as Error).message;
  }
  throw new Error('expected a MinaDataError');
}

describe('decryptMinaData', () => {
  it('decrypts the official vector to its plaintext', () => {
    expect(decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), APPID)).toEqual(JSON.parse(PLAINTEXT));
    expect(Buffer.from(ENCRYPTED, 'base64')).toHaveLength(400);
  });

  it('re-encrypting the official plaintext reproduces the ciphertext byte for byte', () => {
    expect(encrypt(PLAINTEXT)).toBe(ENCRYPTED);
  });

  it('refuses a foreign watermark, and data without one', () => {
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), 'wx0000000000000000'))).toBe(REFUSAL);
    const unmarked = encrypt('{"openId":"o1","nickName":"x"}');
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(unmarked), APPID))).toBe(REFUSAL);
    const stringMark = encrypt(`{"watermark":"${APPID}"}`);
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(stringMark), APPID))).toBe(REFUSAL);
  });

  it("refuses data whose openId is not the session's; data without an openId passes", () => {
    expect(decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE').nickName).toBe(
      'Band',
    );
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJF'))).toBe(
      REFUSAL,
    );
    // The caller's own iv rewrites the first block: `{"openId":"oGZUI` becomes `{"openId":"xGZUI`.
    const iv = Buffer.from(IV, 'base64');
    iv[11]! ^= 'o'.charCodeAt(0) ^ 'x'.charCodeAt(0);
    expect(
      failure(() =>
        decryptMinaData(SESSION_KEY, shaped(ENCRYPTED, iv.toString('base64')), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE'),
      ),
    ).toBe(REFUSAL);
    const phone = encrypt(`{"phoneNumber":"13800138000","watermark":{"appid":"${APPID}"}}`);
    expect(decryptMinaData(SESSION_KEY, shaped(phone), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE').phoneNumber).toBe(
      '13800138000',
    );
    const numeric = encrypt(`{"openId":1,"watermark":{"appid":"${APPID}"}}`);
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(numeric), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE'))).toBe(
      REFUSAL,
    );
  });

  it('refuses tampered ciphertext (last block: padding; earlier block: garbled JSON)', () => {
    const bytes = Buffer.from(ENCRYPTED, 'base64');
    const last = Buffer.from(bytes);
    last[last.length - 1]! ^= 0x01;
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(last.toString('base64')), APPID))).toBe(REFUSAL);
    const early = Buffer.from(bytes);
    early[20]! ^= 0x40;
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(early.toString('base64')), APPID))).toBe(REFUSAL);
    const cut = bytes.subarray(0, bytes.length - 16).toString('base64');
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(cut), APPID))).toBe(REFUSAL);
  });

  it('refuses another session key', () => {
    expect(failure(() => decryptMinaData('HyVFkGl5F5OQWJZZaNzBBg==', shaped(ENCRYPTED), APPID))).toBe(REFUSAL);
  });

  it('refuses a session key that is not base64 of 16 bytes', () => {
    expect(failure(() => decryptMinaData('tiihtNczf5v6AKRy', shaped(ENCRYPTED), APPID))).toBe(REFUSAL);
    expect(failure(() => decryptMinaData('not base64!', shaped(ENCRYPTED), APPID))).toBe(REFUSAL);
  });

  it('refuses a plaintext that is not a JSON object', () => {
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt('not json at all')), APPID))).toBe(REFUSAL);
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt('[1,2]')), APPID))).toBe(REFUSAL);
  });

  it('refuses everything else with one error in the same words, whichever check it failed', () => {
    const mark = `"watermark":{"appid":"${APPID}"}`;
    const open = (plaintext: string | Buffer, openid?: string) =>
      failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt(plaintext)), APPID, openid));
    const cut = Buffer.from(ENCRYPTED, 'base64').subarray(0, -16).toString('base64');
    const refusals = [
      failure(() => decryptMinaData('short', shaped(ENCRYPTED), APPID)),
      failure(() => decryptMinaData(SESSION_KEY, shaped(cut), APPID)),
      open('not json'),
      open(Buffer.from([0x7b, 0xff, 0x7d])),
      open('null'),
      open('42'),
      open('"text"'),
      open('[{}]'),
      open('{"watermark":null}'),
      open(`{"openId":"o2",${mark}}`, 'o1'),
    ];
    expect(new Set(refusals)).toEqual(new Set([REFUSAL]));
  });

  it('reads PKCS#7 padding of 1 to 16 bytes, and nothing else, as padding', () => {
    const object = `{"watermark":{"appid":"${APPID}"}}`; // 41 bytes: spaces fill it up to `length`
    const open = (length: number, tail: number[]) => () => {
      const body = Buffer.concat([Buffer.from(object.padEnd(length, ' ')), Buffer.from(tail)]);
      const c = createCipheriv('aes-128-cbc', Buffer.from(SESSION_KEY, 'base64'), Buffer.from(IV, 'base64'));
      const data = Buffer.concat([c.setAutoPadding(false).update(body), c.final()]).toString('base64');
      return decryptMinaData(SESSION_KEY, shaped(data), APPID);
    };
    const sixteen = Array<number>(16).fill(16);
    expect(open(47, [1])()).toEqual(JSON.parse(object));
    expect(open(48, sixteen)()).toEqual(JSON.parse(object));
    expect(open(46, [2, 2])()).toEqual(JSON.parse(object));
    for (const [length, tail] of [
      [47, [0]], // no padding
      [47, [17]], // longer than a block
      [46, [1, 2]], // 02 after a byte that is not 02
      [48, [15, ...sixteen.slice(1)]], // the first of sixteen 16s is off
      [47, [0x20]], // a space (32): the text would parse whole, but it is no padding
      [47, [0x09]], // a tab (9) after spaces: nine 09s are missing
    ] as const)
      expect(failure(open(length, [...tail])), `${length} ${tail}`).toBe(REFUSAL);
  });

  it('refuses a plaintext that is not valid UTF-8, even when it would parse once repaired', () => {
    const [head, tail] = [`{"nickName":"`, `","watermark":{"appid":"${APPID}"}}`];
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe]), Buffer.from(tail)]);
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt(bytes)), APPID))).toBe(REFUSAL);
    expect(decryptMinaData(SESSION_KEY, shaped(encrypt(`${head}微信${tail}`)), APPID).nickName).toBe('微信');
  });

  it('parseMinaData gives the bytes, or names the first field not shaped as WeChat sends it, before any key is needed', () => {
    expect(parseMinaData(ENCRYPTED, IV)).toEqual({
      data: Buffer.from(ENCRYPTED, 'base64'),
      iv: Buffer.from(IV, 'base64'),
    });
    expect(parseMinaData(ENCRYPTED, 'r7BXXKkLb8qrSNn0')).toBe('iv');
    expect(parseMinaData(ENCRYPTED, 'r7BXXKkLb8qrSNn05n0qiB==')).toBe('iv'); // non-canonical: unused bits set
    expect(parseMinaData(ENCRYPTED, `-${IV.slice(1)}`)).toBe('iv'); // url-safe alphabet
    expect(parseMinaData(ENCRYPTED.slice(0, -4), IV)).toBe('encrypt_data');
    expect(parseMinaData('', IV)).toBe('encrypt_data');
    expect(parseMinaData(ENCRYPTED.replace('+', ' '), IV)).toBe('encrypt_data');
    expect(parseMinaData(`${ENCRYPTED}\n`, IV)).toBe('encrypt_data');
  });

  it('never puts the key, iv, ciphertext or plaintext in its messages', () => {
    const messages = [
      failure(() => decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), 'wx0000000000000000')),
      failure(() => decryptMinaData('HyVFkGl5F5OQWJZZaNzBBg==', shaped(ENCRYPTED), APPID)),
      failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt('not json at all')), APPID)),
    ];
    for (const m of messages) {
      for (const secret of [
        SESSION_KEY,
        'HyVFkGl5F5OQWJZZaNzBBg==',
        IV,
        ENCRYPTED.slice(0, 16),
        'oGZUI0egBJY1zhBYw2KhdUfwVJJE',
        'not json',
      ])
        expect(m).not.toContain(secret);
    }
  });
});
