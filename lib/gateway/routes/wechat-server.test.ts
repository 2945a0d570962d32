/**
 * The server URL route (docs/design.md §3.3) against WeChat's official vectors: URL checks, plaintext and aes pushes,
 * the refusals, and `encryptedValue` on hostile bodies. Over 400 lines: each mode and each refusal is its own case.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load';
import { encrypt, msgSignature } from '../../crypto/message';
import { serverSignature } from '../../crypto/server';
import type { MessageHook, Services } from '../../interfaces/types';
import { createMemoryStore } from '../../store/memory';
import type { HttpRequest } from '../http';
import { encryptedValue, wechatServer } from './wechat-server';

const TOKEN = 'AAAAA';
const KEY = 'A'.repeat(43);
const APPID = 'wxba5fad812f8e6fb9';
const PLAIN_ONLY = 'wx1111111111111111';
const NO_TOKEN = 'wx2222222222222222';
const MINA = 'wx3333333333333333';

/** The services of a deployment whose clock stands at `nowSeconds` (the official aes push's timestamp by default). */
function services(onMessage?: MessageHook, lines: Record<string, unknown>[] = [], nowSeconds = 1714112445): Services {
  return {
    config: parseConfig(
      {
        apps: [
          { appid: APPID, secret: 's', token: TOKEN, encodingAESKey: KEY },
          { appid: PLAIN_ONLY, secret: 's', token: TOKEN },
          { appid: NO_TOKEN, secret: 's' },
          { appid: MINA, secret: 's', type: 'mina', token: TOKEN },
        ],
        store: 'memory:',
      },
      {},
    ),
    clock: () => nowSeconds * 1000,
    store: createMemoryStore(),
    log: {
      log: (level: string, event: string, fields: Record<string, unknown> = {}) =>
        lines.push({ level, event, ...fields }),
    },
    onMessage,
  } as unknown as Services;
}

function call(s: Services, method: string, appid: string, query: Record<string, string>, body = '') {
  const req: HttpRequest = { method, path: `/wechat/${appid}`, query, headers: {}, body };
  return Promise.resolve().then(() =>
    wechatServer.handle({
      req,
      path: req.path,
      params: { appid },
      call: { caller: 'public', upstreamCalls: 0, deadline: 0 },
      services: s,
    }),
  );
}

function signedQuery(timestamp: string, nonce: string, extra: Record<string, string> = {}) {
  return { signature: serverSignature(TOKEN, timestamp, nonce), timestamp, nonce, ...extra };
}

function aesQuery(encrypted: string, timestamp = '1714112445', nonce = '415670741') {
  return {
    ...signedQuery(timestamp, nonce),
    encrypt_type: 'aes',
    msg_signature: msgSignature(TOKEN, timestamp, nonce, encrypted),
  };
}

describe('the route pattern', () => {
  it('takes /wechat/:appid only', () => {
    expect(wechatServer.match('/wechat/wx1111111111111111')).toEqual({ appid: 'wx1111111111111111' });
    expect(wechatServer.match('/wechat/')).toBeNull();
    expect(wechatServer.match('/wechat/a/b')).toBeNull();
  });
});

describe('GET: server URL verification', () => {
  it('echoes echostr verbatim as text for the official vector', async () => {
    const res = await call(services(), 'GET', APPID, {
      signature: 'f464b24fc39322e44b38aa78f5edd27bd1441696',
      timestamp: '1714036504',
      nonce: '1514711492',
      echostr: '4375120948345356249',
    });
    expect(res).toEqual({
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: '4375120948345356249',
    });
  });

  it('refuses missing and wrong signatures with 401', async () => {
    const ok = {
      signature: 'f464b24fc39322e44b38aa78f5edd27bd1441696',
      timestamp: '1714036504',
      nonce: '1514711492',
      echostr: 'e',
    };
    await expect(call(services(), 'GET', APPID, { echostr: 'e' })).rejects.toMatchObject({
      code: 'unsigned',
      httpStatus: 401,
    });
    await expect(call(services(), 'GET', APPID, { ...ok, nonce: '' })).rejects.toMatchObject({
      code: 'unsigned',
      httpStatus: 401,
    });
    await expect(call(services(), 'GET', APPID, { ...ok, timestamp: '1714036505' })).rejects.toMatchObject({
      code: 'bad_signature',
      httpStatus: 401,
    });
    await expect(call(services(), 'GET', APPID, { ...ok, signature: '0'.repeat(40) })).rejects.toMatchObject({
      code: 'bad_signature',
      httpStatus: 401,
    });
  });

  it('needs echostr, a known app and its token', async () => {
    const q = { signature: 'f464b24fc39322e44b38aa78f5edd27bd1441696', timestamp: '1714036504', nonce: '1514711492' };
    await expect(call(services(), 'GET', APPID, q)).rejects.toMatchObject({ code: 'bad_para', httpStatus: 400 });
    await expect(call(services(), 'GET', 'wx9999999999999999', { ...q, echostr: 'e' })).rejects.toMatchObject({
      code: 'unknown_app',
      httpStatus: 404,
    });
    await expect(call(services(), 'GET', NO_TOKEN, { ...q, echostr: 'e' })).rejects.toMatchObject({
      code: 'not_found',
      httpStatus: 404,
      message: `${NO_TOKEN} has no server-URL token configured (apps[].token)`,
    });
  });
});

describe('POST: message pushes', () => {
  const ENCRYPTED =
    '+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=';
  const MSG =
    '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}';
  const OFFICIAL_QUERY = {
    signature: '6c5c811b55cc85e0e1b54100749188c20beb3f5d',
    timestamp: '1714112445',
    nonce: '415670741',
    openid: 'o9AgO5Kd5ggOC-bXrbNODIiE3bGY',
    encrypt_type: 'aes',
    msg_signature: '046e02f8204d34f8ba5fa3b1db94908f3df2e9b3',
  };

  it('decrypts the official aes push (JSON and XML bodies) and hands it to the hook', async () => {
    const got: [string, string][] = [];
    for (const body of [
      JSON.stringify({ ToUserName: 'gh_97417a04a28d', Encrypt: ENCRYPTED }),
      `<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[${ENCRYPTED}]]></Encrypt></xml>`,
    ]) {
      // Each in a deployment of its own: to the same one, the second would be a replay.
      const s = services(async (appid, message) => void got.push([appid, message]));
      expect(await call(s, 'POST', APPID, OFFICIAL_QUERY, body)).toEqual({
        status: 200,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'success',
      });
    }
    expect(got).toEqual([
      [APPID, MSG],
      [APPID, MSG],
    ]);
  });

  it('checks msg_signature, not signature, in aes mode', async () => {
    const body = JSON.stringify({ Encrypt: ENCRYPTED });
    await expect(
      call(services(), 'POST', APPID, { ...OFFICIAL_QUERY, msg_signature: '0'.repeat(40) }, body),
    ).rejects.toMatchObject({ code: 'bad_signature', httpStatus: 401 });
    const { msg_signature: _, ...noMsgSig } = OFFICIAL_QUERY;
    await expect(call(services(), 'POST', APPID, noMsgSig, body)).rejects.toMatchObject({
      code: 'unsigned',
      httpStatus: 401,
    });
    await expect(
      call(services(), 'POST', APPID, { ...OFFICIAL_QUERY, signature: '0'.repeat(40) }, body),
    ).resolves.toMatchObject({ status: 200 });
    // Another Encrypt value under the official msg_signature.
    const other = encrypt(KEY, APPID, MSG);
    await expect(
      call(services(), 'POST', APPID, OFFICIAL_QUERY, JSON.stringify({ Encrypt: other })),
    ).rejects.toMatchObject({ code: 'bad_signature' });
  });

  it('refuses a validly signed message encrypted for another app with 400', async () => {
    const foreign = encrypt(KEY, 'wx0000000000000000', '<xml/>');
    const hooked: string[] = [];
    await expect(
      call(
        services(async (_a, m) => void hooked.push(m)),
        'POST',
        APPID,
        aesQuery(foreign),
        JSON.stringify({ Encrypt: foreign }),
      ),
    ).rejects.toMatchObject({
      code: 'bad_para',
      httpStatus: 400,
      message: 'the message cannot be decrypted: the message was not encrypted for this app',
    });
    expect(hooked).toEqual([]);
  });

  it('refuses undecryptable and malformed bodies with 400', async () => {
    const junk = Buffer.alloc(64, 7).toString('base64');
    await expect(
      call(services(), 'POST', APPID, aesQuery(junk), `<xml><Encrypt><![CDATA[${junk}]]></Encrypt></xml>`),
    ).rejects.toMatchObject({ code: 'bad_para', httpStatus: 400 });
    const short = 'AAAA';
    await expect(
      call(services(), 'POST', APPID, aesQuery(short), JSON.stringify({ Encrypt: short })),
    ).rejects.toMatchObject({ code: 'bad_para', httpStatus: 400 });
    for (const body of [
      '',
      '<xml></xml>',
      '{"Encrypt":1}',
      '{"Encrypt":',
      `<xml><Encrypt>${short}</Encrypt><Encrypt>${short}</Encrypt></xml>`,
    ]) {
      await expect(call(services(), 'POST', APPID, aesQuery(short), body)).rejects.toMatchObject({
        code: 'bad_para',
        httpStatus: 400,
      });
    }
    await expect(
      call(services(), 'POST', APPID, { ...aesQuery(short), encrypt_type: 'rsa' }, short),
    ).rejects.toMatchObject({ code: 'bad_para', httpStatus: 400 });
  });

  it('answers 404 for an aes push to an app without encodingAESKey', async () => {
    const enc = encrypt(KEY, PLAIN_ONLY, '<xml/>');
    await expect(
      call(services(), 'POST', PLAIN_ONLY, aesQuery(enc), JSON.stringify({ Encrypt: enc })),
    ).rejects.toMatchObject({ code: 'not_found', httpStatus: 404 });
  });

  it('plain mode: checks signature (official vector) and hands the body over as is', async () => {
    const got: string[] = [];
    const s = services(async (_appid, message) => void got.push(message), [], 1714037059);
    const xml =
      '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content></xml>';
    const q = { signature: '899cf89e464efb63f54ddac96b0a0a235f53aa78', timestamp: '1714037059', nonce: '486452656' };
    for (const appid of [PLAIN_ONLY, APPID])
      expect(await call(s, 'POST', appid, q, xml)).toMatchObject({ status: 200, body: 'success' });
    expect(got).toEqual([xml, xml]);
    await expect(call(s, 'POST', PLAIN_ONLY, { ...q, signature: '0'.repeat(40) }, xml)).rejects.toMatchObject({
      code: 'bad_signature',
      httpStatus: 401,
    });
    await expect(call(s, 'POST', PLAIN_ONLY, { timestamp: q.timestamp, nonce: q.nonce }, xml)).rejects.toMatchObject({
      code: 'unsigned',
      httpStatus: 401,
    });
    await expect(call(s, 'POST', PLAIN_ONLY, q, '  ')).rejects.toMatchObject({ code: 'bad_para', httpStatus: 400 });
    await expect(call(s, 'POST', NO_TOKEN, q, xml)).rejects.toMatchObject({ code: 'not_found', httpStatus: 404 });
    expect(got).toHaveLength(2);
  });

  it('without a hook, logs one line with no message content', async () => {
    const lines: Record<string, unknown>[] = [];
    const s = services(undefined, lines);
    await call(s, 'POST', APPID, OFFICIAL_QUERY, JSON.stringify({ Encrypt: ENCRYPTED }));
    expect(lines).toEqual([{ level: 'info', event: 'wechat_message', appid: APPID, bytes: Buffer.byteLength(MSG) }]);
    expect(JSON.stringify(lines)).not.toContain('hello world');
  });

  it('lets a failing hook fail the request (so WeChat retries)', async () => {
    const s = services(async () => {
      throw new Error('queue down');
    });
    await expect(call(s, 'POST', APPID, OFFICIAL_QUERY, JSON.stringify({ Encrypt: ENCRYPTED }))).rejects.toThrow(
      'queue down',
    );
  });
});

describe('refusals say what is wrong', () => {
  const words = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (err: { code: string; message: string }) => `${err.code}: ${err.message}`,
    );
  const q = signedQuery('1714036504', '1514711492');

  it('in URL checks and plain pushes, for Official Accounts and Mini Programs alike', async () => {
    const s = services(async () => {}, [], 1714036504); // the query's own time: pushes must be within ±300 s
    expect(await call(s, 'GET', MINA, { ...q, echostr: 'e' })).toMatchObject({ status: 200, body: 'e' });
    expect(await words(call(s, 'GET', APPID, { echostr: 'e' }))).toBe(
      'unsigned: the signature, timestamp, nonce query parameters are required',
    );
    expect(await words(call(s, 'GET', APPID, { ...q, signature: '0'.repeat(40), echostr: 'e' }))).toBe(
      "bad_signature: the signature does not match the app's token",
    );
    expect(await words(call(s, 'GET', APPID, { ...q, echostr: '' }))).toBe('bad_para: echostr is required');
    expect(await call(s, 'POST', APPID, { ...q, encrypt_type: 'raw' }, '<xml/>')).toMatchObject({ body: 'success' });
    expect(await words(call(s, 'POST', APPID, q, ' \n'))).toBe('bad_para: the message body is empty');
    expect(await words(call(s, 'POST', APPID, { ...q, encrypt_type: 'rsa' }, '<xml/>'))).toBe(
      'bad_para: encrypt_type must be aes or absent',
    );
  });

  it('in encrypted pushes', async () => {
    const s = services(async () => {});
    const enc = encrypt(KEY, APPID, '<xml/>');
    const json = JSON.stringify({ Encrypt: enc });
    expect(await words(call(s, 'POST', PLAIN_ONLY, aesQuery(enc), json))).toBe(
      `not_found: ${PLAIN_ONLY} has no encodingAESKey configured (apps[].encodingAESKey) for encrypted messages`,
    );
    expect(await words(call(s, 'POST', APPID, { ...aesQuery(enc), msg_signature: '0'.repeat(40) }, json))).toBe(
      "bad_signature: the msg_signature does not match the app's token and message",
    );
    for (const [body, said] of [
      ['{"Encrypt":', 'the message body is not valid JSON'],
      ['{"Encrypt":""}', 'the message body has no Encrypt value'],
      ['{"Other":"x"}', 'the message body has no Encrypt value'],
      ['<xml><Encrypt></Encrypt></xml>', 'the message body has an empty <Encrypt> element'],
      ['<xml><Encrypt/></xml>', 'the message body has an empty <Encrypt> element'],
      ['<xml></xml>', 'the message body must be <xml> holding exactly one <Encrypt> element'],
    ]) {
      expect(await words(call(s, 'POST', APPID, aesQuery(''), body!)), body).toBe(`bad_para: ${said}`);
    }
  });
});

describe('encryptedValue: a minimal, safe extraction', () => {
  it('takes whitespace outside the root and self-closing elements deeper down in its stride', () => {
    expect(encryptedValue('<?xml version="1.0"?>\n<xml><Encrypt>QUJD</Encrypt></xml>')).toBe('QUJD');
    expect(encryptedValue('<xml><a><Encrypt/></a><Encrypt>QUJD</Encrypt></xml>')).toBe('QUJD');
  });

  it('refuses an Encrypt holding a comment or more than one piece, even an empty CDATA', () => {
    for (const body of [
      '<xml><Encrypt><!-- x -->QUJD</Encrypt></xml>',
      '<xml><Encrypt><![CDATA[]]>QUJD</Encrypt></xml>',
    ])
      expect(() => encryptedValue(body), body).toThrow(
        expect.objectContaining({
          code: 'bad_para',
          message: 'the message body must be <xml> holding exactly one <Encrypt> element',
        }),
      );
  });

  it('reads the CDATA, plain-text and JSON forms', () => {
    expect(
      encryptedValue('<xml><ToUserName><![CDATA[a]]></ToUserName><Encrypt><![CDATA[QUJD+/==]]></Encrypt></xml>'),
    ).toBe('QUJD+/==');
    expect(encryptedValue('<xml>\n  <Encrypt>\n    <![CDATA[QUJD]]>\n  </Encrypt>\n</xml>\n')).toBe('QUJD');
    expect(encryptedValue('<xml><Encrypt>QUJD</Encrypt></xml>')).toBe('QUJD');
    expect(encryptedValue(' {"ToUserName":"gh","Encrypt":"QUJD"} ')).toBe('QUJD');
  });

  it('expands nothing: entities and DOCTYPEs stay literal text', () => {
    const body = '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>';
    expect(encryptedValue(body)).toBe('&e;');
  });

  it("takes only <xml>'s direct Encrypt child: CDATA, comments and deeper elements are skipped (兼容模式)", () => {
    const body =
      '<?xml version="1.0"?><!-- <Encrypt>c</Encrypt> --><xml><ToUserName><![CDATA[gh]]></ToUserName>' +
      '<Content><![CDATA[<Encrypt>x</Encrypt> and <xml>]]></Content><Nested><Encrypt>deep</Encrypt></Nested>' +
      '<Encrypt><![CDATA[QUJD]]></Encrypt><MsgId>1</MsgId></xml>';
    expect(encryptedValue(body)).toBe('QUJD');
    expect(
      encryptedValue('<xml><Encrypt>QUJD</Encrypt><Content><![CDATA[</Encrypt><Encrypt>REVG]]></Content></xml>'),
    ).toBe('QUJD');
  });

  it('scans pathological bodies in linear time', () => {
    const started = performance.now();
    for (const body of [
      `<xml><${'a'.repeat(65536)}`,
      `<!DOCTYPE${' '.repeat(65536)}`,
      `<xml><![CDATA[${']'.repeat(65536)}`,
      `<xml>${'<a>'.repeat(20000)}`,
    ]) {
      expect(() => encryptedValue(body)).toThrow(expect.objectContaining({ code: 'bad_para' }));
    }
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses bodies without exactly one Encrypt element', () => {
    for (const body of [
      '',
      '<xml/>',
      '<xml><Encrypt></Encrypt></xml>',
      '<xml><Encrypt><![CDATA[]]></Encrypt></xml>',
      '<xml><Encrypt>QUJD</Encrypt><Encrypt>REVG</Encrypt></xml>',
      '<xml><Encrypt><Encrypt>QUJD</Encrypt></Encrypt></xml>',
      '<xml><Encrypt>QUJD</xml>',
      '<xml><Encrypt><![CDATA[QU]]>JD]]></Encrypt></xml>',
      '<xml><Encrypt><![CDATA[QUJD</Encrypt></xml>',
      '<xml><Encrypt>QUJD</Encrypt>',
      '<Encrypt>QUJD</Encrypt>',
      '<root><Encrypt>QUJD</Encrypt></root>',
      '<xml><Encrypt>QUJD</Encrypt></xml><xml/>',
      'text <xml><Encrypt>QUJD</Encrypt></xml>',
      '<xml><Encrypt>QUJD</Encrypt><Encrypt/></xml>',
      '<xml><Encrypt>QU<!-- -->JD</Encrypt></xml>',
      '<xml><Encrypt>QUJD</Encrypt><a></b></xml>',
      '{"Encrypt":null}',
      '{"encrypt":"QUJD"}',
      '{nope',
    ]) {
      expect(() => encryptedValue(body), body).toThrow(expect.objectContaining({ code: 'bad_para' }));
    }
  });
});
