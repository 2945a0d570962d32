/**
 * Third-party platform routes (docs/design.md §3.3, §19): `POST /wechat/component/:appid`, the 授权事件接收 URL (verify
 * tickets and authorization changes, always encrypted, each handled once within the push window), and
 * `GET /component/:appid/callback`, where WeChat sends the administrator back after authorizing. 401 bad signature or
 * stale timestamp, 400 a body that does not decrypt, 404 an unknown component, 500 a failed push (WeChat retries).
 */
import { componentError, componentFlow } from '../../interfaces/component';
import { ApiError } from '../../interfaces';
import { admitLogin } from '../../interfaces/login-limit';
import type { Services } from '../../interfaces/types';
import type { CallContext } from '../../credentials';
import { decrypt, MessageCryptoError, verifyMsgSignature } from '../../crypto/message';
import { dropCredentials } from '../../third-party/component-flow';
import type { ComponentConfig } from '../../third-party/component-credentials';
import { readNotice } from '../component-notice';
import { clientAddress } from '../client-address';
import type { HttpRequest } from '../http';
import { deliverPush } from '../push';
import { defineRoute } from './types';
import { encryptedValue } from './wechat-server';

function component(services: Services, appid: string): ComponentConfig {
  const found = services.config.components.find((c) => c.appid === appid);
  if (!found) throw new ApiError('not_found', `${appid} is not a configured component (config.components)`);
  return found;
}

/** The named query values, or 401 when one is missing or empty. */
function signed(req: HttpRequest): { msg_signature: string; timestamp: string; nonce: string } {
  const out = { msg_signature: '', timestamp: '', nonce: '' };
  for (const name of ['msg_signature', 'timestamp', 'nonce'] as const) {
    const v = req.query[name];
    if (v === undefined || v === '')
      throw new ApiError('unsigned', 'the msg_signature, timestamp and nonce query parameters are required');
    out[name] = v;
  }
  return out;
}

export const componentPush = defineRoute({
  label: 'component_push',
  paths: ['/wechat/component/:appid'],
  methods: ['POST'],
  async handle({ req, params, call, services }) {
    const c = component(services, params.appid);
    const q = signed(req);
    const encrypted = encryptedValue(req.body);
    if (!verifyMsgSignature(c.token, q.timestamp, q.nonce, encrypted, q.msg_signature))
      throw new ApiError('bad_signature', "the msg_signature does not match the component's token and message");
    let message: string;
    try {
      message = decrypt(c.encodingAESKey, encrypted, c.appid);
    } catch (err) {
      if (err instanceof MessageCryptoError)
        throw new ApiError('bad_para', `the message cannot be decrypted: ${err.message}`);
      throw err;
    }
    await deliverPush(services, `component:${c.appid}`, q, message, (m) => handleNotice(services, c, m, call));
    return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'success' };
  },
});

/** One decrypted notice: a verify ticket kept (the latest wins), an authorization completed or ended. */
async function handleNotice(services: Services, c: ComponentConfig, message: string, call: CallContext): Promise<void> {
  const notice = readNotice(message);
  const { credentials, log } = services;
  if (notice?.appid !== c.appid) {
    log.log('warn', 'component_notice_unreadable', { component: c.appid });
    return;
  }
  switch (notice.kind) {
    case 'component_verify_ticket': {
      const kept = await credentials.components.tickets.save(
        c.appid,
        notice.ticket,
        notice.createTime,
        services.clock(),
      );
      log.log('info', 'component_verify_ticket', { component: c.appid, created: notice.createTime, kept });
      return;
    }
    case 'authorized':
    case 'updateauthorized':
      await componentFlow(services)
        .complete(c, notice.code, call)
        .catch((err: unknown) => {
          throw componentError(err);
        });
      return;
    case 'unauthorized':
      if (await credentials.components.authorizers.unauthorize(c.appid, notice.authorizer))
        await dropCredentials(credentials, { appid: notice.authorizer, component: c.appid }, call);
      log.log('info', 'component_unauthorized', { component: c.appid, appid: notice.authorizer });
      return;
    default:
      log.log('info', 'component_notice', { component: c.appid, info: notice.infoType });
  }
}

export const componentCallback = defineRoute({
  label: 'component_callback',
  paths: ['/component/:appid/callback'],
  methods: ['GET'],
  async handle({ req, params, call, services }) {
    const c = component(services, params.appid);
    const client = clientAddress(req, services.config.clients.addressHeader);
    try {
      const location = await componentFlow(services).finish(
        c,
        { link: req.query.link, authCode: req.query.auth_code, admit: () => admitLogin(services, client) },
        call,
      );
      return {
        status: 302,
        headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
        body: '',
      };
    } catch (err) {
      throw componentError(err);
    }
  },
});
