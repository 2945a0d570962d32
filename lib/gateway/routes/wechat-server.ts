/**
 * WeChat's server URL (DESIGN §3.3, reference §1.6, §1.7): `GET|POST /wechat/:appid`.
 *
 * - GET `?signature&timestamp&nonce&echostr`: the console's URL check, always plaintext for
 *   Official Accounts and Mini Programs, even in 安全模式 (§1.6). A valid signature gets
 *   `echostr` back verbatim as text/plain.
 * - POST `?signature&timestamp&nonce` (明文模式): the signature is checked, the body handed to
 *   the message hook as is. POST `…&encrypt_type=aes&msg_signature` (安全模式 / 兼容模式):
 *   msg_signature is checked over the body's Encrypt value, which is decrypted with the app's
 *   encodingAESKey (its trailing appid must be this app) and handed to the hook. Either way
 *   the answer is `success`, text/plain.
 *
 * Statuses: 401 missing (unsigned) or wrong (bad_signature) signature; 400 an unknown
 * encrypt_type, a body without one Encrypt value or one that does not decrypt (bad_para);
 * 404 an unknown appid (unknown_app) or an app without `token` (or, for aes pushes, without
 * `encodingAESKey`) configured (not_found: the URL is not set up on our side, which is what a
 * 404 says; 409 would suggest a state the caller could resolve). A failing hook gives 500 so
 * that WeChat retries. No timestamp window: WeChat's docs demand none, and it retries a push
 * with the same timestamp and nonce.
 */
import type { AppConfig } from '../../config/types';
import { decrypt, MessageCryptoError, verifyMsgSignature } from '../../crypto/message';
import { verifyServerSignature } from '../../crypto/server';
import { ApiError, resolveApp } from '../../interfaces';
import type { Services } from '../../interfaces/types';
import type { HttpRequest, HttpResponse } from '../http';
import { defineRoute } from './types';

export const wechatServer = defineRoute({
  label: 'wechat_server',
  paths: ['/wechat/:appid'],
  methods: ['GET', 'POST'],
  async handle({ req, params, services }) {
    // appids are plain [0-9A-Za-z]: no percent-decoding needed, and a malformed escape is just an unknown app
    const app = resolveApp(services, null, params.appid, ['mp', 'mina']);
    const token = app.token;
    if (token === undefined)
      throw new ApiError('not_found', `${app.appid} has no server-URL token configured (apps[].token)`);
    return req.method === 'POST' ? receive(req, app, token, services) : verifyUrl(req, token);
  },
});

function text(body: string): HttpResponse {
  return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body };
}

/** The named query values, or 401 when one is missing or empty. */
function signed<K extends string>(req: HttpRequest, names: readonly K[]): Record<K, string> {
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
function checkServerSignature(req: HttpRequest, token: string): void {
  const q = signed(req, ['signature', 'timestamp', 'nonce']);
  if (!verifyServerSignature(token, q.timestamp, q.nonce, q.signature))
    throw new ApiError('bad_signature', "the signature does not match the app's token");
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
  if (mode === '' || mode === 'raw') {
    checkServerSignature(req, token);
    if (req.body.trim() === '') throw new ApiError('bad_para', 'the message body is empty');
    message = req.body;
  } else if (mode === 'aes') {
    const key = app.encodingAESKey;
    if (key === undefined)
      throw new ApiError(
        'not_found',
        `${app.appid} has no encodingAESKey configured (apps[].encodingAESKey) for encrypted messages`,
      );
    const q = signed(req, ['msg_signature', 'timestamp', 'nonce']);
    const encrypted = encryptedValue(req.body);
    if (!verifyMsgSignature(token, q.timestamp, q.nonce, encrypted, q.msg_signature))
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
  if (services.onMessage) await services.onMessage(app.appid, message);
  // Without a hook: one line saying a push arrived, without its content.
  else services.log.log('info', 'wechat_message', { appid: app.appid, bytes: Buffer.byteLength(message) });
  return text('success');
}

/**
 * One token of a pushed XML body, matched at the scan position: a CDATA section (1), a comment,
 * a processing instruction, a DOCTYPE (internal subset skipped whole), a tag (2 `/`, 3 name,
 * 4 `/`) or text (5). Nothing else may follow, so a stray `<` refuses the body. Each
 * alternative fails in one pass at a position (no quadratic backtracking on 64 KB bodies).
 */
const XML_TOKEN =
  /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^[>]*(?:\[[^\]]*\][^>]*)?>|<(\/?)([A-Za-z_][\w.:-]*)(?=[\s/>])[^>]*?(\/?)>|([^<]+)/y;

/**
 * The Encrypt value of a pushed body: XML `<xml>…<Encrypt><![CDATA[…]]></Encrypt>…</xml>` or
 * the JSON variant `{"Encrypt": "…"}`. A small scanner, not an XML parser: nothing is expanded
 * or resolved. Only a direct child `<Encrypt>` of the root `<xml>` counts, and CDATA sections
 * are skipped whole: in 兼容模式 the plaintext fields ride along, and a follower's text may
 * well hold `<Encrypt>`. A body with zero or several such elements, or not well nested, is
 * refused (400). What is extracted is checked by msg_signature and then strictly as base64
 * by decrypt.
 */
export function encryptedValue(body: string): string {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new ApiError('bad_para', 'the message body is not valid JSON');
    }
    const value =
      typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).Encrypt : undefined;
    if (typeof value !== 'string' || value === '')
      throw new ApiError('bad_para', 'the message body has no Encrypt value');
    return value;
  }
  const values = xmlEncryptValues(trimmed);
  if (values?.length !== 1)
    throw new ApiError('bad_para', 'the message body must be <xml> holding exactly one <Encrypt> element');
  if (values[0] === '') throw new ApiError('bad_para', 'the message body has an empty <Encrypt> element');
  return values[0]!;
}

/**
 * The contents of `<xml>`'s direct `<Encrypt>` children (each one CDATA section or one text,
 * whitespace around it ignored), or undefined when the body is not one well-nested `<xml>`
 * element or an Encrypt holds anything else.
 */
function xmlEncryptValues(xml: string): string[] | undefined {
  const open: string[] = [];
  const values: string[] = [];
  let rooted = false;
  /** The non-blank pieces of the direct Encrypt child being read, if one is open. */
  let pieces: string[] | undefined;
  for (let at = 0; at < xml.length; at = XML_TOKEN.lastIndex) {
    XML_TOKEN.lastIndex = at;
    const m = XML_TOKEN.exec(xml);
    if (!m) return undefined;
    const [, cdata, close, name, selfClosing, text] = m;
    if (cdata !== undefined || text !== undefined) {
      const piece = cdata ?? text!.trim();
      if (pieces) {
        if (cdata !== undefined || piece !== '') pieces.push(piece);
      } else if (open.length === 0 && piece !== '') return undefined; // text outside the root
    } else if (name === undefined) {
      if (pieces) return undefined; // a comment or declaration inside Encrypt
    } else if (close) {
      if (open.pop() !== name) return undefined;
      if (pieces) {
        if (pieces.length > 1) return undefined;
        values.push(pieces[0] ?? '');
        pieces = undefined;
      }
    } else {
      if (pieces || (open.length === 0 && (rooted || name !== 'xml'))) return undefined;
      rooted = true;
      const directEncrypt = open.length === 1 && name === 'Encrypt';
      if (selfClosing) {
        if (directEncrypt) values.push('');
      } else {
        open.push(name);
        if (directEncrypt) pieces = [];
      }
    }
  }
  return rooted && open.length === 0 ? values : undefined;
}
