/**
 * WeCom's pushes to a suite's 指令回调URL, `GET|POST /work/suite/:suiteId` (docs/protocol.md §12.2):
 * GET verifies the URL (msg_signature over echostr, which is decrypted and answered); POST carries an
 * encrypted event: suite_ticket (kept), create_auth (its AuthCode fetches the permanent code),
 * change_auth (logged), cancel_auth (the corp is no longer served). Each push is checked, decrypted
 * for the suite's id, and handed over once within ±300 s (lib/gateway/push.ts); the answer is `success`.
 */
import { canonicalCorpid } from '../config/wecom-ids';
import { decrypt, MessageCryptoError, verifyMsgSignature } from '../crypto/message';
import { deliverPush } from '../gateway/push';
import { xmlChildren } from '../gateway/push-xml';
import { defineRoute } from '../gateway/routes/types';
import { encryptedValue, signed, text } from '../gateway/routes/wechat-server';
import type { CallContext } from '../credentials';
import { ApiError } from '../interfaces/errors';
import type { Services } from '../interfaces/types';
import type { SuiteConfig } from './suites';

/** A pushed value is a ticket, an auth code or a corpid: WeCom's are well under this. */
const MAX_FIELD = 512;

export const suitePush = defineRoute({
  label: 'work_suite',
  paths: ['/work/suite/:suiteId'],
  methods: ['GET', 'POST'],
  async handle({ req, params, services, call }) {
    const suite = services.credentials.suites.suite(params.suiteId);
    if (!suite) throw new ApiError('not_found', 'no such suite is configured (config.suites)');
    if (req.method === 'GET') {
      const q = signed(req, ['msg_signature', 'timestamp', 'nonce', 'echostr']);
      return text(open(suite, q, q.echostr));
    }
    const q = signed(req, ['msg_signature', 'timestamp', 'nonce']);
    const message = open(suite, q, encryptedValue(req.body));
    await deliverPush(services, `suite:${suite.suiteId}`, q, message, (m) => handleEvent(services, suite, m, call));
    return text('success');
  },
});

/** The plaintext of `encrypted`, once its msg_signature checks out and it decrypts for this suite; else 401 / 400. */
function open(suite: SuiteConfig, q: { msg_signature: string; timestamp: string; nonce: string }, encrypted: string) {
  if (!verifyMsgSignature(suite.token, q.timestamp, q.nonce, encrypted, q.msg_signature))
    throw new ApiError('bad_signature', "the msg_signature does not match the suite's token and message");
  try {
    return decrypt(suite.encodingAESKey, encrypted, suite.suiteId);
  } catch (err) {
    if (err instanceof MessageCryptoError)
      throw new ApiError('bad_para', `the message cannot be decrypted: ${err.message}`);
    throw err;
  }
}

/** One event, acted on; a failure answers 500 so that WeCom pushes it again (the claim is given back). */
async function handleEvent(services: Services, suite: SuiteConfig, message: string, call: CallContext): Promise<void> {
  const fields = xmlChildren(message.trim());
  const field = (name: string) => {
    const v = fields?.get(name);
    return v?.length === 1 && v[0] ? v[0].slice(0, MAX_FIELD) : undefined;
  };
  const { suites } = services.credentials;
  const { log } = services;
  const info = field('InfoType');
  if (field('SuiteId') !== undefined && field('SuiteId') !== suite.suiteId)
    throw new ApiError('bad_para', `the event names another suite than ${suite.suiteId}`);
  switch (info) {
    case 'suite_ticket': {
      const ticket = field('SuiteTicket');
      if (!ticket) throw new ApiError('bad_para', 'a suite_ticket event without SuiteTicket');
      await suites.putTicket(suite, ticket, call);
      log.log('info', 'suite_ticket', { suiteId: suite.suiteId });
      return;
    }
    case 'create_auth':
    case 'reset_permanent_code': {
      const code = field('AuthCode');
      if (!code) throw new ApiError('bad_para', `a ${info} event without AuthCode`);
      const { corpid, agentid } = await suites.authorize(suite, code, call);
      log.log('info', 'suite_authorized', { suiteId: suite.suiteId, corpid, agentid, infoType: info });
      return;
    }
    case 'change_auth':
      log.log('info', 'suite_auth_changed', { suiteId: suite.suiteId, corpid: canonicalCorpid(field('AuthCorpId')) });
      return;
    case 'cancel_auth': {
      const corpid = canonicalCorpid(field('AuthCorpId'));
      if (!corpid) throw new ApiError('bad_para', 'a cancel_auth event without a valid AuthCorpId');
      const known = await suites.cancel(suite, corpid, call);
      log.log('info', 'suite_auth_cancelled', { suiteId: suite.suiteId, corpid, known });
      return;
    }
    default:
      log.log('info', 'suite_event', { suiteId: suite.suiteId, infoType: info?.slice(0, 64) ?? null });
  }
}
