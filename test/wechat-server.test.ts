/**
 * WeChat's server URL end to end (docs/design.md §3.3, docs/protocol.md §1.6, §1.7): the official vectors
 * through the real HTTP server, as WeChat would send them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encrypt, msgSignature } from '../lib/crypto/message';
import { serverSignature } from '../lib/crypto/server';
import { MP, startStack, type Stack } from './support/stack';

/** docs/protocol.md §1.7 set A: the 《消息推送》 worked example. */
const A = {
  appid: 'wxba5fad812f8e6fb9',
  token: 'AAAAA',
  key: 'A'.repeat(43),
  encrypt:
    '+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=',
  msg: '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}',
  /** The push URL's query exactly as in docs/protocol.md §1.7. */
  query:
    'signature=6c5c811b55cc85e0e1b54100749188c20beb3f5d&timestamp=1714112445&nonce=415670741&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=046e02f8204d34f8ba5fa3b1db94908f3df2e9b3',
};

/** docs/protocol.md §1.7 set B (official WXBizMsgCryptTest): the long video XML and its ciphertext. */
const B = {
  appid: 'wxb11529c136998cb6',
  token: 'pamtest',
  key: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  timestamp: '1409304348',
  nonce: 'xxxxxx',
  msg: '<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>',
  encrypt:
    'jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb',
};

/** Same token and EncodingAESKey as set A, another appid: set A's ciphertext is not for it. */
const OTHER = 'wx0000000000000001';

const apps = [
  { ...MP, type: 'mp', default: true },
  { appid: A.appid, secret: 'a-secret', token: A.token, encodingAESKey: A.key },
  { appid: B.appid, secret: 'b-secret', token: B.token, encodingAESKey: B.key },
  { appid: OTHER, secret: 'o-secret', token: A.token, encodingAESKey: A.key },
];

let stack: Stack;
const received: [string, string][] = [];
let failHook = false;

beforeAll(async () => {
  stack = await startStack({
    config: { apps },
    onMessage: async (appid, message) => {
      if (failHook) throw new Error('the queue is down');
      received.push([appid, message]);
    },
  });
});
afterAll(() => stack.close());
beforeEach(() => {
  received.length = 0;
  failHook = false;
});

async function send(method: 'GET' | 'POST', path: string, body?: string, contentType = 'text/xml') {
  const res = await fetch(stack.url + path, {
    method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': contentType } }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json };
}

const xmlBody = (encrypted: string) =>
  `<xml>\n  <ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName>\n  <Encrypt><![CDATA[${encrypted}]]></Encrypt>\n</xml>`;

describe('GET /wechat/:appid (server URL verification, docs/protocol.md §1.6)', () => {
  it('echoes echostr for the official vector, as text/plain', async () => {
    const res = await send(
      'GET',
      `/wechat/${A.appid}?signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492`,
    );
    expect(res).toMatchObject({ status: 200, text: '4375120948345356249' });
    expect(res.type).toMatch(/^text\/plain/);
  });

  it('refuses a wrong or missing signature with 401 and a JSON error', async () => {
    const wrong = await send(
      'GET',
      `/wechat/${A.appid}?signature=f464b24fc39322e44b38aa78f5edd27bd1441697&echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492`,
    );
    expect(wrong).toMatchObject({ status: 401, json: { error: { code: 'bad_signature' } } });
    expect(wrong.text).not.toContain('4375120948345356249');
    const missing = await send(
      'GET',
      `/wechat/${A.appid}?echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492`,
    );
    expect(missing).toMatchObject({ status: 401, json: { error: { code: 'unsigned' } } });
  });

  it('answers 404 for an app without a token, and for an unknown app', async () => {
    const q = '?signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=1&timestamp=1714036504&nonce=1514711492';
    expect(await send('GET', `/wechat/${MP.appid}${q}`)).toMatchObject({
      status: 404,
      json: { error: { code: 'not_found', message: `${MP.appid} has no server-URL token configured (apps[].token)` } },
    });
    expect(await send('GET', `/wechat/wx9999999999999999${q}`)).toMatchObject({
      status: 404,
      json: { error: { code: 'unknown_app' } },
    });
  });
});

describe('POST /wechat/:appid, 安全模式 (docs/protocol.md §1.7)', () => {
  it("decrypts the official push (JSON body, docs/protocol.md's exact query), hands it to the hook, answers success", async () => {
    const res = await send(
      'POST',
      `/wechat/${A.appid}?${A.query}`,
      JSON.stringify({ ToUserName: 'gh_97417a04a28d', Encrypt: A.encrypt }),
      'application/json',
    );
    expect(res).toMatchObject({ status: 200, text: 'success' });
    expect(res.type).toMatch(/^text\/plain/);
    expect(received).toEqual([[A.appid, A.msg]]);
  });

  it('takes the XML body with the same ciphertext', async () => {
    expect(await send('POST', `/wechat/${A.appid}?${A.query}`, xmlBody(A.encrypt))).toMatchObject({
      status: 200,
      text: 'success',
    });
    expect(received).toEqual([[A.appid, A.msg]]);
  });

  it("decrypts the official sample's long XML (UTF-8) message", async () => {
    const sig = msgSignature(B.token, B.timestamp, B.nonce, B.encrypt);
    const q = `signature=${serverSignature(B.token, B.timestamp, B.nonce)}&timestamp=${B.timestamp}&nonce=${B.nonce}&encrypt_type=aes&msg_signature=${sig}`;
    expect(
      await send(
        'POST',
        `/wechat/${B.appid}?${q}`,
        `<xml><ToUserName><![CDATA[toUser]]></ToUserName><Encrypt><![CDATA[${B.encrypt}]]></Encrypt></xml>`,
      ),
    ).toMatchObject({ status: 200, text: 'success' });
    expect(received).toEqual([[B.appid, B.msg]]);
  });

  it("accepts WeChat's retry of the same push: no timestamp window, no nonce memory", async () => {
    // The vector's timestamp is from 2024, far from the server's clock.
    for (let i = 0; i < 3; i++)
      expect(await send('POST', `/wechat/${A.appid}?${A.query}`, xmlBody(A.encrypt))).toMatchObject({
        status: 200,
        text: 'success',
      });
    expect(received).toHaveLength(3);
  });

  it('refuses a wrong or missing msg_signature with 401', async () => {
    const wrong = A.query.replace('msg_signature=046e', 'msg_signature=046f');
    expect(await send('POST', `/wechat/${A.appid}?${wrong}`, xmlBody(A.encrypt))).toMatchObject({
      status: 401,
      json: { error: { code: 'bad_signature' } },
    });
    const missing = A.query.replace(/&msg_signature=[0-9a-f]+/, '');
    expect(await send('POST', `/wechat/${A.appid}?${missing}`, xmlBody(A.encrypt))).toMatchObject({
      status: 401,
      json: { error: { code: 'unsigned' } },
    });
    // A changed ciphertext under the official msg_signature.
    const changed = encrypt(A.key, A.appid, '<xml><Content>forged</Content></xml>');
    expect(await send('POST', `/wechat/${A.appid}?${A.query}`, xmlBody(changed))).toMatchObject({ status: 401 });
    expect(received).toEqual([]);
  });

  it('refuses a message encrypted for another appid with 400, though its signature is valid', async () => {
    const res = await send('POST', `/wechat/${OTHER}?${A.query}`, xmlBody(A.encrypt));
    expect(res).toMatchObject({
      status: 400,
      json: {
        error: {
          code: 'bad_para',
          message: 'the message cannot be decrypted: the message was not encrypted for this app',
        },
      },
    });
    expect(res.text).not.toContain('hello world');
    expect(received).toEqual([]);
  });

  it('refuses undecryptable and malformed bodies with 400', async () => {
    const junk = Buffer.alloc(64, 1).toString('base64');
    const sig = msgSignature(A.token, '1714112445', '415670741', junk);
    expect(
      await send(
        'POST',
        `/wechat/${A.appid}?timestamp=1714112445&nonce=415670741&encrypt_type=aes&msg_signature=${sig}`,
        xmlBody(junk),
      ),
    ).toMatchObject({
      status: 400,
      json: { error: { code: 'bad_para' } },
    });
    for (const body of ['', 'not xml', '<xml><Encrypt/></xml>', `${xmlBody(A.encrypt)}${xmlBody(A.encrypt)}`]) {
      expect(await send('POST', `/wechat/${A.appid}?${A.query}`, body)).toMatchObject({
        status: 400,
        json: { error: { code: 'bad_para' } },
      });
    }
    expect(received).toEqual([]);
  });

  it('answers 500 with a JSON error when the hook fails, so that WeChat retries', async () => {
    failHook = true;
    const res = await send('POST', `/wechat/${A.appid}?${A.query}`, xmlBody(A.encrypt));
    expect(res).toMatchObject({ status: 500, json: { error: { code: 'internal' } } });
    expect(res.text).not.toContain('queue');
  });
});

describe('POST /wechat/:appid, 兼容模式 (docs/protocol.md §1.7)', () => {
  it("decrypts the Encrypt beside the plaintext fields, though the follower's text holds <Encrypt> in its CDATA", async () => {
    const [timestamp, nonce] = ['1714112445', '415670741'];
    const message =
      '<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName>' +
      '<CreateTime>1714112445</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[<Encrypt>x</Encrypt>]]></Content><MsgId>1</MsgId></xml>';
    const encrypted = encrypt(A.key, A.appid, message);
    // 兼容模式: the plaintext fields as in 明文模式, and Encrypt as the last child of <xml>
    const body = message.replace('</xml>', `<Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`);
    const q = `signature=${serverSignature(A.token, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY&encrypt_type=aes&msg_signature=${msgSignature(A.token, timestamp, nonce, encrypted)}`;
    expect(await send('POST', `/wechat/${A.appid}?${q}`, body)).toMatchObject({ status: 200, text: 'success' });
    expect(received).toEqual([[A.appid, message]]);
  });
});

describe('POST /wechat/:appid, 明文模式 (docs/protocol.md §1.6)', () => {
  const xml =
    '<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName><CreateTime>1714037059</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>1</MsgId></xml>';

  it('checks the official plaintext signature and hands the body over as is', async () => {
    const res = await send(
      'POST',
      `/wechat/${A.appid}?signature=899cf89e464efb63f54ddac96b0a0a235f53aa78&timestamp=1714037059&nonce=486452656&openid=o9AgO5Kd5ggOC-bXrbNODIiE3bGY`,
      xml,
    );
    expect(res).toMatchObject({ status: 200, text: 'success' });
    expect(received).toEqual([[A.appid, xml]]);
  });

  it('refuses a wrong signature with 401', async () => {
    const res = await send(
      'POST',
      `/wechat/${A.appid}?signature=899cf89e464efb63f54ddac96b0a0a235f53aa79&timestamp=1714037059&nonce=486452656`,
      xml,
    );
    expect(res).toMatchObject({ status: 401, json: { error: { code: 'bad_signature' } } });
    expect(received).toEqual([]);
  });
});

describe('the default hook', () => {
  it('logs one line per push without its content', async () => {
    const plain = await startStack({ config: { apps } });
    try {
      const res = await fetch(`${plain.url}/wechat/${A.appid}?${A.query}`, {
        method: 'POST',
        body: xmlBody(A.encrypt),
      });
      expect(await res.text()).toBe('success');
      const lines = plain.logs.filter((l) => l.event === 'wechat_message');
      expect(lines).toEqual([
        expect.objectContaining({ level: 'info', appid: A.appid, bytes: Buffer.byteLength(A.msg) }),
      ]);
      const all = JSON.stringify(plain.logs);
      for (const secret of ['hello world', 'debug_demo', A.encrypt, A.key]) expect(all).not.toContain(secret);
    } finally {
      await plain.close();
    }
  });
});
