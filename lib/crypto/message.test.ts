import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  aesKeyOf,
  decrypt,
  encrypt,
  MessageCryptoError,
  msgSignature,
  verifyMsgSignature,
  type MessageCryptoFailure,
} from './message';
import { serverSignature } from './server';

const ascii = (s: string) => Buffer.from(s, 'latin1');

/** docs/protocol.md §1.7, vector set A: the 《消息推送》 worked example (Token AAAAA, 43×A). */
const A = {
  token: 'AAAAA',
  key: 'A'.repeat(43),
  appid: 'wxba5fad812f8e6fb9',
  timestamp: '1714112445',
  nonce: '415670741',
  signature: '6c5c811b55cc85e0e1b54100749188c20beb3f5d',
  msgSignature: '046e02f8204d34f8ba5fa3b1db94908f3df2e9b3',
  random: 'a8eedb185eb2fecf',
  encrypt:
    '+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=',
  msg: '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}',
  reply: {
    msg: '{"demo_resp":"good luck"}',
    random: '707722b803182950',
    timestamp: '1713424427',
    nonce: '415670741',
    encrypt: 'ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==',
    msgSignature: '1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1',
  },
};

/**
 * docs/protocol.md §1.7, vector set B: the official Java WXBizMsgCryptTest. replyMsg2's ciphertext is
 * given in docs/protocol.md by its prefix only; the full value is the sample's afterAesEncrypt2
 * (the same string in the official sample and in WxJava's WxCryptUtilTest).
 */
const B = {
  key: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  appid: 'wxb11529c136998cb6',
  random: 'aaaabbbbccccdddd',
  msg: '我是中文abcd123',
  encrypt: 'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==',
  msg2: '<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>',
  encrypt2:
    'jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb',
};

/** docs/protocol.md §4.5: WeCom callback crypto (the corpid is the receiveId). */
const W = {
  token: 'QDG6eK',
  key: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
  corpid: 'wx5823bf96d3bd56c7',
  verify: {
    timestamp: '1409659589',
    nonce: '263014780',
    echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
    msgSignature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
    random: 'c41b64491c2468d0',
    echo: '1616140317555161061',
  },
  message: {
    timestamp: '1409659813',
    nonce: '1372623149',
    encrypt:
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
    msgSignature: '477715d11cdb4164915debcba66cb864d751f3e6',
    random: '0960688932c47ef1',
    xml: '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>',
  },
};

describe('official vectors, docs/protocol.md §1.7 set A (Token AAAAA, EncodingAESKey 43×A)', () => {
  it('checks the push URL: plain signature and msg_signature', () => {
    expect(serverSignature(A.token, A.timestamp, A.nonce)).toBe(A.signature);
    expect(msgSignature(A.token, A.timestamp, A.nonce, A.encrypt)).toBe(A.msgSignature);
    expect(verifyMsgSignature(A.token, A.timestamp, A.nonce, A.encrypt, A.msgSignature)).toBe(true);
  });

  it('decrypts the pushed message, and encrypts it back with its random', () => {
    expect(Buffer.from(A.encrypt, 'base64')).toHaveLength(224);
    expect(decrypt(A.key, A.encrypt, A.appid)).toBe(A.msg);
    expect(encrypt(A.key, A.appid, A.msg, ascii(A.random))).toBe(A.encrypt);
  });

  it('encrypts and signs the reply, and decrypts it back', () => {
    const r = A.reply;
    expect(encrypt(A.key, A.appid, r.msg, ascii(r.random))).toBe(r.encrypt);
    expect(msgSignature(A.token, r.timestamp, r.nonce, r.encrypt)).toBe(r.msgSignature);
    expect(decrypt(A.key, r.encrypt, A.appid)).toBe(r.msg);
  });
});

describe('official vectors, docs/protocol.md §1.7 set B (WXBizMsgCryptTest)', () => {
  it('encrypts and decrypts the short Chinese message', () => {
    expect(encrypt(B.key, B.appid, B.msg, ascii(B.random))).toBe(B.encrypt);
    expect(decrypt(B.key, B.encrypt, B.appid)).toBe(B.msg);
  });

  it('encrypts and decrypts the long video reply', () => {
    const out = encrypt(B.key, B.appid, B.msg2, ascii(B.random));
    expect(out.startsWith('jn1L23DB+6ELqJ+6bruv23M2GmYf')).toBe(true);
    expect(out.endsWith('ofJb')).toBe(true);
    expect(out).toBe(B.encrypt2);
    expect(decrypt(B.key, B.encrypt2, B.appid)).toBe(B.msg2);
  });
});

describe('official vectors, docs/protocol.md §4.5 (WeCom callback, corpid as receiveId)', () => {
  it('verifies the URL: msg_signature over the encrypted echostr, which decrypts to the echo', () => {
    const v = W.verify;
    expect(msgSignature(W.token, v.timestamp, v.nonce, v.echostr)).toBe(v.msgSignature);
    expect(decrypt(W.key, v.echostr, W.corpid)).toBe(v.echo);
    expect(encrypt(W.key, W.corpid, v.echo, ascii(v.random))).toBe(v.echostr);
  });

  it('decrypts the message (newlines kept), and encrypts it back', () => {
    const m = W.message;
    expect(msgSignature(W.token, m.timestamp, m.nonce, m.encrypt)).toBe(m.msgSignature);
    expect(decrypt(W.key, m.encrypt, W.corpid)).toBe(m.xml);
    expect(encrypt(W.key, W.corpid, m.xml, ascii(m.random))).toBe(m.encrypt);
  });
});

// ---------------------------------------------------------------------------------------------
// Tampering: every ciphertext below is well-formed AES under the right key, so only our checks
// can refuse it.

/** AES-256-CBC of `plain` (already a whole number of blocks) under the scheme's key and IV. */
function seal(encodingAESKey: string, plain: Buffer): string {
  const key = aesKeyOf(encodingAESKey);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

/** random ‖ msg_len ‖ msg ‖ receiveId, with a caller-chosen length field. */
function layout(msg: Buffer, receiveId: string, msgLen = msg.length): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(msgLen);
  return Buffer.concat([Buffer.alloc(16, 0x61), len, msg, Buffer.from(receiveId)]);
}

function pad32(plain: Buffer): Buffer {
  const n = 32 - (plain.length % 32);
  return Buffer.concat([plain, Buffer.alloc(n, n)]);
}

function failure(fn: () => unknown): MessageCryptoFailure {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MessageCryptoError);
    const e = err as MessageCryptoError;
    // No secret, ciphertext or plaintext in the message.
    for (const s of [A.key, A.encrypt, A.msg, 'gh_97417a04a28d']) expect(e.message).not.toContain(s);
    return e.reason;
  }
  throw new Error('expected a MessageCryptoError');
}

describe('decrypt refuses tampered input', () => {
  const msg = Buffer.from('<xml><Content><![CDATA[hi]]></Content></xml>');

  it('a hand-sealed message with correct padding is accepted (the helpers are sound)', () => {
    expect(decrypt(A.key, seal(A.key, pad32(layout(msg, A.appid))), A.appid)).toBe(msg.toString());
  });

  it('accepts every padding length 1..32', () => {
    for (let extra = 0; extra < 32; extra++) {
      const text = 'x'.repeat(extra);
      const plain = pad32(layout(Buffer.from(text), A.appid));
      expect(decrypt(A.key, seal(A.key, plain), A.appid)).toBe(text);
    }
  });

  it('a padding byte of 0', () => {
    const plain = pad32(layout(msg, A.appid));
    plain[plain.length - 1] = 0;
    expect(failure(() => decrypt(A.key, seal(A.key, plain), A.appid))).toBe('bad-padding');
  });

  it('a padding byte above 32', () => {
    const base = layout(msg, A.appid);
    const plain = Buffer.concat([base, Buffer.alloc(64 - (base.length % 32), 33)]);
    expect(plain.length % 32).toBe(0);
    expect(failure(() => decrypt(A.key, seal(A.key, plain), A.appid))).toBe('bad-padding');
  });

  it('padding bytes that disagree', () => {
    const plain = pad32(layout(msg, A.appid));
    const n = plain[plain.length - 1]!;
    expect(n).toBeGreaterThan(1);
    plain[plain.length - n] = n - 1;
    expect(failure(() => decrypt(A.key, seal(A.key, plain), A.appid))).toBe('bad-padding');
  });

  it('a padding longer than the message', () => {
    expect(failure(() => decrypt(A.key, seal(A.key, Buffer.alloc(32, 32)), A.appid))).toBe('bad-length');
  });

  it('msg_len past the end of the plaintext', () => {
    const plain = pad32(layout(msg, A.appid, msg.length + A.appid.length + 1));
    expect(failure(() => decrypt(A.key, seal(A.key, plain), A.appid))).toBe('bad-length');
    const huge = pad32(layout(msg, A.appid, 0xffffffff));
    expect(failure(() => decrypt(A.key, seal(A.key, huge), A.appid))).toBe('bad-length');
  });

  it('a msg_len that moves bytes between message and appid', () => {
    const plain = pad32(layout(msg, A.appid, msg.length - 1));
    expect(failure(() => decrypt(A.key, seal(A.key, plain), A.appid))).toBe('wrong-receiver');
  });

  it("another app's message (the official vector decrypted as another appid)", () => {
    expect(failure(() => decrypt(A.key, A.encrypt, 'wx0000000000000000'))).toBe('wrong-receiver');
    expect(failure(() => decrypt(A.key, A.encrypt, 'wxba5fad812f8e6fb'))).toBe('wrong-receiver');
    expect(failure(() => decrypt(A.key, A.encrypt, ''))).toBe('wrong-receiver');
    expect(failure(() => decrypt(A.key, encrypt(A.key, 'wx0000000000000000', A.msg), A.appid))).toBe('wrong-receiver');
  });

  it('a flipped bit in the ciphertext', () => {
    const data = Buffer.from(A.encrypt, 'base64');
    // CBC: flipping byte i of block k-1 flips byte i of block k's plaintext: here inside the trailing appid.
    data[190 - 16]! ^= 0x01;
    expect(failure(() => decrypt(A.key, data.toString('base64'), A.appid))).toBe('wrong-receiver');
  });

  it('the wrong key', () => {
    expect(() => decrypt(B.key, A.encrypt, A.appid)).toThrow(MessageCryptoError);
  });

  it('a message that is not UTF-8', () => {
    const plain = pad32(layout(Buffer.from([0x3c, 0xff, 0xfe, 0x3e]), A.appid));
    expect(failure(() => decrypt(A.key, seal(A.key, plain), A.appid))).toBe('bad-text');
  });

  it('truncated ciphertexts', () => {
    const data = Buffer.from(A.encrypt, 'base64');
    expect(failure(() => decrypt(A.key, A.encrypt.slice(0, -4), A.appid))).toBe('malformed');
    expect(failure(() => decrypt(A.key, A.encrypt.slice(0, 100), A.appid))).toBe('malformed');
    expect(failure(() => decrypt(A.key, data.subarray(0, data.length - 1).toString('base64'), A.appid))).toBe(
      'malformed',
    );
    expect(failure(() => decrypt(A.key, data.subarray(0, 16).toString('base64'), A.appid))).toBe('malformed');
    expect(failure(() => decrypt(A.key, '', A.appid))).toBe('malformed');
    // One whole block less: still AES-shaped, refused by the checks after decryption.
    expect(() => decrypt(A.key, data.subarray(0, data.length - 16).toString('base64'), A.appid)).toThrow(
      MessageCryptoError,
    );
    expect(() => decrypt(A.key, data.subarray(0, data.length - 32).toString('base64'), A.appid)).toThrow(
      MessageCryptoError,
    );
  });

  it('text that is not strict base64', () => {
    for (const bad of [
      A.encrypt.replace(/\+/g, '-'),
      ` ${A.encrypt}`,
      `${A.encrypt}\n`,
      A.encrypt.replace('=', ''),
      A.encrypt.replace('=', '%3D'),
      '*'.repeat(64),
    ]) {
      expect(failure(() => decrypt(A.key, bad, A.appid))).toBe('malformed');
    }
  });

  it('at the edges of the length checks: an empty message for an empty receiver is fine, 16 bytes are too short', () => {
    expect(decrypt(A.key, seal(A.key, pad32(layout(Buffer.alloc(0), ''))), '')).toBe('');
    expect(decrypt(A.key, seal(A.key, pad32(layout(Buffer.from('hi'), ''))), '')).toBe('hi');
    expect(failure(() => decrypt(A.key, seal(A.key, pad32(Buffer.alloc(16, 0x61))), ''))).toBe('bad-length');
    expect(failure(() => decrypt(A.key, seal(A.key, pad32(Buffer.alloc(19, 0))), ''))).toBe('bad-length');
  });

  it('says what is wrong, in words of its own for each refusal', () => {
    const says = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
      }
      throw new Error('expected an error');
    };
    const sealed = (plain: Buffer) => seal(A.key, plain);
    const badPad = pad32(layout(msg, A.appid));
    badPad[badPad.length - 2] = 0;
    expect([
      says(() => aesKeyOf('short')),
      says(() => decrypt(A.key, '*', A.appid)),
      says(() => decrypt(A.key, Buffer.alloc(16).toString('base64'), A.appid)),
      says(() => decrypt(A.key, sealed(Buffer.alloc(32, 0)), A.appid)),
      says(() => decrypt(A.key, sealed(badPad), A.appid)),
      says(() => decrypt(A.key, sealed(Buffer.alloc(32, 16)), A.appid)),
      says(() => decrypt(A.key, sealed(pad32(layout(msg, A.appid, 0xffff))), A.appid)),
      says(() => decrypt(A.key, A.encrypt, 'wx0000000000000000')),
      says(() => decrypt(A.key, sealed(pad32(layout(Buffer.from([0xff]), A.appid))), A.appid)),
      says(() => encrypt(A.key, A.appid, 'x', Buffer.alloc(15))),
    ]).toEqual([
      'MessageCryptoError: the EncodingAESKey must be 43 letters or digits',
      'MessageCryptoError: the encrypted message is not base64',
      'MessageCryptoError: the encrypted message is not a whole number of AES blocks',
      'MessageCryptoError: the decrypted message has bad padding',
      'MessageCryptoError: the decrypted message has bad padding',
      'MessageCryptoError: the decrypted message is too short',
      'MessageCryptoError: the message length points past the end of the decrypted message',
      'MessageCryptoError: the message was not encrypted for this app',
      'MessageCryptoError: the decrypted message is not UTF-8 text',
      'TypeError: message crypto: random16 must be 16 bytes',
    ]);
  });

  it('a malformed EncodingAESKey', () => {
    for (const key of ['A'.repeat(42), 'A'.repeat(44), `${'A'.repeat(42)}+`, `${'A'.repeat(42)}=`, '']) {
      expect(failure(() => decrypt(key, A.encrypt, A.appid))).toBe('bad-key');
      expect(failure(() => encrypt(key, A.appid, 'x'))).toBe('bad-key');
    }
  });
});

describe('encrypt', () => {
  it('draws a fresh random prefix by default, and round-trips', () => {
    const a = encrypt(A.key, A.appid, A.msg);
    const b = encrypt(A.key, A.appid, A.msg);
    expect(a).not.toBe(b);
    expect(decrypt(A.key, a, A.appid)).toBe(A.msg);
    expect(decrypt(A.key, b, A.appid)).toBe(A.msg);
  });

  it('pads to a multiple of 32 bytes, a full block when already aligned', () => {
    for (let n = 0; n < 70; n++) {
      const len = Buffer.from(encrypt(A.key, A.appid, 'x'.repeat(n)), 'base64').length;
      expect(len % 32).toBe(0);
      expect(len - (20 + n + A.appid.length)).toBeGreaterThanOrEqual(1);
      expect(len - (20 + n + A.appid.length)).toBeLessThanOrEqual(32);
    }
  });

  it('refuses a random prefix that is not 16 bytes', () => {
    expect(() => encrypt(A.key, A.appid, 'x', Buffer.alloc(15))).toThrow(TypeError);
  });
});

describe('verifyMsgSignature', () => {
  it('refuses a changed value or signature', () => {
    expect(verifyMsgSignature(A.token, A.timestamp, A.nonce, `${A.encrypt}x`, A.msgSignature)).toBe(false);
    expect(verifyMsgSignature(A.token, A.timestamp, '1', A.encrypt, A.msgSignature)).toBe(false);
    expect(verifyMsgSignature(A.token, A.timestamp, A.nonce, A.encrypt, A.msgSignature.slice(1))).toBe(false);
    expect(verifyMsgSignature(A.token, A.timestamp, A.nonce, A.encrypt, '')).toBe(false);
    expect(verifyMsgSignature(A.token, A.timestamp, A.nonce, A.encrypt, A.msgSignature.toUpperCase())).toBe(true);
  });
});
