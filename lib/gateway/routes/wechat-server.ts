/**
 * WeChat's server URL, `GET|POST /wechat/:appid`: the console's URL check (echostr) and message pushes, plaintext or
 * encrypted, handed to the message hook once (lib/gateway/push.ts) and answered `success`.
 * Signatures, decryption and every status: docs/design.md §3.3, docs/protocol.md §1.6, §1.7.
 */
import type { AppConfig } from '../../config/types';
import { decrypt, MessageCryptoError, verifyMsgSignature } from '../../crypto/message';
import { verifyServerSignature } from '../../crypto/server';
import { ApiError, resolveApp } from '../../interfaces';
import type { Services } from '../../interfaces/types';
import type { HttpRequest, HttpResponse } from '../http';
import { deliverPush } from '../push';
import { xmlChildren } from '../push-xml';
import { defineRoute } from './types';

export const wechatServer = defineRoute({
  label: 'wechat_server',
  paths: ['/wechat/:appid'],
  methods: ['GET', 'POST'],
  async handle({ req, params, services }) {
    // appids are plain [0-9A-Za-z]: no percent-decoding needed, and a malformed escape is just an unknown app
    const app = await resolveApp(services, null, params.appid, ['mp', 'mina']);
    const token = app.token;
    if (token === undefined)
      throw new ApiError('not_found', `${app.appid} has no server-URL token configured (apps[].token)`);
    return req.method === 'POST' ? receive(req, app, token, services) : verifyUrl(req, token);
  },
});

export function text(body: string): HttpResponse {
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

/** The named query values, or 401 when one is missing or empty. */
export function signed<K extends string>(req: HttpRequest, names: readonly K[]): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const name of names) {
    const v = req.query[name];
    if (v === undefined || v === '')
      throw new ApiError('unsigned', `the ${names.join(', ')} query parameters are required`);
    out[name] = v;
  }
  return out;
}

/** The plaintext `signature` over token, timestamp and nonce (URL check and 明文模式 pushes), or 401. */
function checkServerSignature(req: HttpRequest, token: string): { timestamp: string; nonce: string } {
  const q = signed(req, ['signature', 'timestamp', 'nonce']);
  if (!verifyServerSignature(token, q.timestamp, q.nonce, q.signature))
    throw new ApiError('bad_signature', "the signature does not match the app's token");
  return q;
}

function verifyUrl(req: HttpRequest, token: string): HttpResponse {
  checkServerSignature(req, token);
  const echostr = req.query.echostr;
  if (echostr === undefined || echostr === '') throw new ApiError('bad_para', 'echostr is required');
  return text(echostr);
}

async function receive(req: HttpRequest, app: AppConfig, token: string, services: Services): Promise<HttpResponse> {
  const mode = req.query.encrypt_type ?? '';
  let message: string;
  let q: { timestamp: string; nonce: string };
  if (mode === '' || mode === 'raw') {
    q = checkServerSignature(req, token);
    if (req.body.trim() === '') throw new ApiError('bad_para', 'the message body is empty');
    message = req.body;
  } else if (mode === 'aes') {
    const key = app.encodingAESKey;
    if (key === undefined)
      throw new ApiError(
        'not_found',
        `${app.appid} has no encodingAESKey configured (apps[].encodingAESKey) for encrypted messages`,
      );
    const m = signed(req, ['msg_signature', 'timestamp', 'nonce']);
    q = m;
    const encrypted = encryptedValue(req.body);
    if (!verifyMsgSignature(token, m.timestamp, m.nonce, encrypted, m.msg_signature))
      throw new ApiError('bad_signature', "the msg_signature does not match the app's token and message");
    try {
      message = decrypt(key, encrypted, app.appid);
    } catch (err) {
      if (err instanceof MessageCryptoError)
        throw new ApiError('bad_para', `the message cannot be decrypted: ${err.message}`);
      throw err;
    }
  } else {
    throw new ApiError('bad_para', 'encrypt_type must be aes or absent');
  }
  await deliverPush(services, app.appid, q, message);
  return text('success');
}

/**
 * The Encrypt value of a pushed body: XML `<xml>…<Encrypt><![CDATA[…]]></Encrypt>…</xml>` or
 * the JSON variant `{"Encrypt": "…"}`. Only a direct child `<Encrypt>` of the root `<xml>`
 * counts (lib/gateway/push-xml.ts): in 兼容模式 the plaintext fields ride along, and a follower's
 * text may well hold `<Encrypt>`. A body with zero or several such elements, or not well nested,
 * is refused (400). What is extracted is checked by msg_signature and then strictly as base64
 * by decrypt.
 */
export function encryptedValue(body: string): string {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(trimmed); // it begins with '{': an object, if anything
    } catch {
      throw new ApiError('bad_para', 'the message body is not valid JSON');
    }
    const value = parsed.Encrypt;
    if (typeof value !== 'string' || value === '')
      throw new ApiError('bad_para', 'the message body has no Encrypt value');
    return value;
  }
  const values = xmlChildren(trimmed)?.get('Encrypt');
  if (values?.length !== 1 || values[0] === null)
    throw new ApiError('bad_para', 'the message body must be <xml> holding exactly one <Encrypt> element');
  if (values[0] === '') throw new ApiError('bad_para', 'the message body has an empty <Encrypt> element');
  return values[0]!;
}
