import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptMinaData, MinaDataError, parseMinaData, type MinaCiphertext, type MinaDataFailure } from './mina-data';

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

function failure(f: () => unknown): { reason: MinaDataFailure; message: string } {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(MinaDataError);
    return { reason: (err as MinaDataError).reason, message: (err as Error).message };
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
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), 'wx0000000000000000')).reason).toBe(
      'watermark',
    );
    const unmarked = encrypt('{"openId":"o1","nickName":"x"}');
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(unmarked), APPID)).reason).toBe('watermark');
    const stringMark = encrypt(`{"watermark":"${APPID}"}`);
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(stringMark), APPID)).reason).toBe('watermark');
  });

  it("refuses data whose openId is not the session's; data without an openId passes", () => {
    expect(decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE').nickName).toBe(
      'Band',
    );
    expect(
      failure(() => decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJF')),
    ).toMatchObject({ reason: 'openid' });
    // The caller's own iv rewrites the first block: `{"openId":"oGZUI` becomes `{"openId":"xGZUI`.
    const iv = Buffer.from(IV, 'base64');
    iv[11]! ^= 'o'.charCodeAt(0) ^ 'x'.charCodeAt(0);
    expect(
      failure(() =>
        decryptMinaData(SESSION_KEY, shaped(ENCRYPTED, iv.toString('base64')), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE'),
      ).reason,
    ).toBe('openid');
    const phone = encrypt(`{"phoneNumber":"13800138000","watermark":{"appid":"${APPID}"}}`);
    expect(decryptMinaData(SESSION_KEY, shaped(phone), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE').phoneNumber).toBe(
      '13800138000',
    );
    const numeric = encrypt(`{"openId":1,"watermark":{"appid":"${APPID}"}}`);
    expect(
      failure(() => decryptMinaData(SESSION_KEY, shaped(numeric), APPID, 'oGZUI0egBJY1zhBYw2KhdUfwVJJE')).reason,
    ).toBe('openid');
  });

  it('refuses tampered ciphertext (last block: padding; earlier block: garbled JSON)', () => {
    const bytes = Buffer.from(ENCRYPTED, 'base64');
    const last = Buffer.from(bytes);
    last[last.length - 1]! ^= 0x01;
    expect(['padding', 'not_json']).toContain(
      failure(() => decryptMinaData(SESSION_KEY, shaped(last.toString('base64')), APPID)).reason,
    );
    const early = Buffer.from(bytes);
    early[20]! ^= 0x40;
    expect(['padding', 'not_json']).toContain(
      failure(() => decryptMinaData(SESSION_KEY, shaped(early.toString('base64')), APPID)).reason,
    );
    const cut = bytes.subarray(0, bytes.length - 16).toString('base64');
    expect(['padding', 'not_json']).toContain(failure(() => decryptMinaData(SESSION_KEY, shaped(cut), APPID)).reason);
  });

  it('refuses another session key', () => {
    expect(['padding', 'not_json']).toContain(
      failure(() => decryptMinaData('HyVFkGl5F5OQWJZZaNzBBg==', shaped(ENCRYPTED), APPID)).reason,
    );
  });

  it('refuses a session key that is not base64 of 16 bytes', () => {
    expect(failure(() => decryptMinaData('tiihtNczf5v6AKRy', shaped(ENCRYPTED), APPID)).reason).toBe('bad_key');
    expect(failure(() => decryptMinaData('not base64!', shaped(ENCRYPTED), APPID)).reason).toBe('bad_key');
  });

  it('refuses a plaintext that is not a JSON object', () => {
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt('not json at all')), APPID)).reason).toBe(
      'not_json',
    );
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt('[1,2]')), APPID)).reason).toBe('not_json');
  });

  it('says which check refused the data, in words of its own', () => {
    const says = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return `${(err as Error).name} ${(err as MinaDataError).reason}: ${(err as Error).message}`;
      }
      return 'no error';
    };
    const mark = `"watermark":{"appid":"${APPID}"}`;
    const open = (plaintext: string | Buffer, openid?: string) =>
      says(() => decryptMinaData(SESSION_KEY, shaped(encrypt(plaintext)), APPID, openid));
    const cut = Buffer.from(ENCRYPTED, 'base64').subarray(0, -16).toString('base64');
    expect([
      says(() => decryptMinaData('short', shaped(ENCRYPTED), APPID)),
      says(() => decryptMinaData(SESSION_KEY, shaped(cut), APPID)),
      open('not json'),
      open(Buffer.from([0x7b, 0xff, 0x7d])),
      open('null'),
      open('42'),
      open('"text"'),
      open('[{}]'),
      open('{"watermark":null}'),
      open(`{"openId":"o2",${mark}}`, 'o1'),
    ]).toEqual([
      'MinaDataError bad_key: the session key is not base64 of 16 bytes',
      'MinaDataError padding: encrypt_data does not decrypt under this session (bad padding)',
      'MinaDataError not_json: encrypt_data does not decrypt to JSON under this session',
      'MinaDataError not_json: encrypt_data does not decrypt to JSON under this session',
      'MinaDataError not_json: encrypt_data does not decrypt to a JSON object',
      'MinaDataError not_json: encrypt_data does not decrypt to a JSON object',
      'MinaDataError not_json: encrypt_data does not decrypt to a JSON object',
      'MinaDataError not_json: encrypt_data does not decrypt to a JSON object',
      `MinaDataError watermark: the data's watermark is not for ${APPID}`,
      "MinaDataError openid: the data's openId is not this session's user",
    ]);
  });

  it('refuses a plaintext that is not valid UTF-8, even when it would parse once repaired', () => {
    const [head, tail] = [`{"nickName":"`, `","watermark":{"appid":"${APPID}"}}`];
    const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe]), Buffer.from(tail)]);
    expect(failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt(bytes)), APPID)).reason).toBe('not_json');
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
      failure(() => decryptMinaData(SESSION_KEY, shaped(ENCRYPTED), 'wx0000000000000000')).message,
      failure(() => decryptMinaData('HyVFkGl5F5OQWJZZaNzBBg==', shaped(ENCRYPTED), APPID)).message,
      failure(() => decryptMinaData(SESSION_KEY, shaped(encrypt('not json at all')), APPID)).message,
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
