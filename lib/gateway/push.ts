/**
 * Handing pushes from WeChat (and WeCom) to the message hook, one way for every push route: the
 * signed timestamp within ±300 s, and each push handed over once across instances, by its
 * (timestamp, nonce) and by its message (MsgId, or FromUserName + CreateTime of an event); a repeat
 * is answered as handled. docs/design.md §3.3.
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../interfaces/errors';
import type { Services } from '../interfaces/types';
import { storeErrorFields } from '../store/guard';
import { checkTimestamp, WINDOW_SECONDS } from './auth';
import { xmlChildren } from './push-xml';

/** A claim outlives every timestamp the window still accepts (up to one window ahead). */
const CLAIM_MS = 2 * WINDOW_SECONDS * 1000;

/**
 * `message` (checked and decrypted) for the hook, once. Its claims are counters in the store, so a
 * failing hook gives them back and WeChat's retry is handed over again; a repeat of a push being
 * handled or handled already resolves without the hook (WeChat's retries are no errors). Throws
 * 401 stale_timestamp outside the window, 503 when the store cannot tell.
 */
export async function deliverPush(
  services: Services,
  receiver: string,
  signed: { timestamp: string; nonce: string },
  message: string,
  /** What handles it; default the message hook (services.onMessage). */
  handle?: (message: string) => Promise<void>,
): Promise<void> {
  const { store, log } = services;
  const now = services.clock();
  checkTimestamp(signed.timestamp, 'seconds', now, 'timestamp');
  const ids = [`at:${signed.timestamp}:${signed.nonce}`, messageId(message)].filter((id) => id !== undefined);
  const keys = ids.map((id) => `push:${receiver}:${createHash('sha256').update(id).digest('hex').slice(0, 32)}`);
  const counts = await Promise.all(keys.map((key) => store.increment(key, 1, now + CLAIM_MS, now))).catch(() => {
    throw new ApiError('store_unavailable', 'the credential store is unavailable');
  });
  if (counts.some((count) => count > 1)) {
    log.log('info', 'push_duplicate', { receiver });
    return;
  }
  try {
    if (handle) await handle(message);
    else if (services.onMessage) await services.onMessage(receiver, message);
    // Without a hook: one line saying a push arrived, without its content.
    else log.log('info', 'wechat_message', { appid: receiver, bytes: Buffer.byteLength(message) });
  } catch (err) {
    await Promise.all(keys.map((key) => store.increment(key, -1, now + CLAIM_MS, now))).catch((e: unknown) =>
      log.log('error', 'push_release_failed', { receiver, ...storeErrorFields(e) }),
    );
    throw err;
  }
}

/**
 * What WeChat's docs dedupe a push by: its MsgId, or InfoType + time + subject for a third-party platform's notice,
 * or FromUserName + CreateTime for an event; undefined for anything else. Read from the XML's direct children or the
 * JSON's top level.
 */
export function messageId(message: string): string | undefined {
  const field = fieldsOf(message);
  const msgId = field('MsgId') ?? field('MsgID');
  if (msgId !== undefined) return `msg:${msgId}`;
  // A third-party platform's notice (a ticket, an authorization change): its kind, time and subject. WeChat's
  // carry CreateTime, WeCom's TimeStamp.
  const info = field('InfoType');
  const at = field('CreateTime') ?? field('TimeStamp');
  if (info !== undefined && at !== undefined) {
    const subject = field('AuthorizerAppid') ?? field('AuthCode') ?? field('AuthCorpId') ?? field('SuiteTicket');
    return `info:${info}:${at}:${subject ?? ''}`;
  }
  const from = field('FromUserName');
  const created = field('CreateTime');
  if (field('MsgType') === 'event' && from !== undefined && created !== undefined) return `event:${from}:${created}`;
  return undefined;
}

/** A reader of a message's top-level plain fields (non-empty strings or numbers). */
function fieldsOf(message: string): (name: string) => string | undefined {
  const trimmed = message.trim();
  if (trimmed.startsWith('{')) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(trimmed); // it begins with '{': an object, if anything
    } catch {
      return () => undefined;
    }
    return (name) => {
      const v = Object.hasOwn(obj, name) ? obj[name] : undefined;
      return (typeof v === 'string' && v !== '') || typeof v === 'number' ? String(v) : undefined;
    };
  }
  const children = xmlChildren(trimmed);
  return (name) => {
    const values = children?.get(name);
    return values?.length === 1 && values[0] ? values[0] : undefined;
  };
}
