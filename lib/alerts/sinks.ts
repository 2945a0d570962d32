/**
 * Where alerts go: a WeCom group robot (a text message, docs/protocol.md §4.8) or any URL taking
 * JSON. Both URLs hold the key that lets anyone post, so errors name the endpoint only (http.ts).
 */
import { ERRCODE_MEANINGS } from '../wechat/errcodes';
import { WechatError } from '../wechat/errors';
import { callJson, postJson } from '../wechat/http';
import type { AlertItem } from './conditions';

/** A robot's text message holds at most 2048 bytes of UTF-8. */
const ROBOT_TEXT_BYTES = 2048;

export interface AlertSink {
  name: 'wecom' | 'webhook';
  /** Post one message holding `items`; throws when it was not accepted. */
  send(items: readonly AlertItem[]): Promise<void>;
}

/** The robot answered that it takes no more messages for now (45009: 20 a minute per robot). */
export class RateLimited extends Error {
  constructor() {
    super('the WeCom robot is rate-limited');
    this.name = 'RateLimited';
  }
}

export function sinksFor(config: { wecomWebhook?: string; webhook?: string }, timeoutMs: number): AlertSink[] {
  const sinks: AlertSink[] = [];
  const robot = config.wecomWebhook;
  if (robot) {
    sinks.push({
      name: 'wecom',
      async send(items) {
        const json = { msgtype: 'text', text: { content: robotText(items) } };
        try {
          await callJson('cgi-bin/webhook/send', robot, { method: 'POST', json, timeoutMs });
        } catch (err) {
          throw err instanceof WechatError && err.errcode === 45009 ? new RateLimited() : err;
        }
      },
    });
  }
  const hook = config.webhook;
  if (hook) {
    sinks.push({
      name: 'webhook',
      send: (items) => postJson('webhook', hook, { source: 'wecred', alerts: items }, timeoutMs),
    });
  }
  return sinks;
}

/** The robot's text: a line per item, in Mandarin and English, cut to the robot's limit. */
export function robotText(items: readonly AlertItem[]): string {
  const lines = ['wecred 告警 / alerts'];
  for (const a of items) lines.push(...itemLines(a));
  return cutBytes(lines.join('\n'), ROBOT_TEXT_BYTES);
}

function itemLines(a: AlertItem): string[] {
  const who = a.owner ? `${a.subject} (${a.owner})` : a.subject;
  if (a.status === 'resolved') return [`✅ ${who}: 已恢复 / recovered`];
  const head =
    a.kind === 'budget'
      ? `⚠️ ${who}: 额度已用过 80% / over 80 % of the budget used`
      : a.kind === 'config_fault'
        ? `❗ ${who}: 配置错误 / configuration fault`
        : `❗ ${who}: 刷新失败，已无可用值 / refresh failed, nothing usable left`;
  const lines = [head];
  const meaning = a.errcode === undefined ? undefined : ERRCODE_MEANINGS[a.errcode];
  if (a.errcode !== undefined) lines.push(`   errcode ${a.errcode}${meaning ? `: ${meaning[1]} / ${meaning[0]}` : ''}`);
  if (a.ip) lines.push(`   请将 ${a.ip} 加入 IP 白名单 / add ${a.ip} to the IP allow-list`);
  lines.push(`   ${a.detail}`);
  return lines;
}

/** `text` cut to at most `max` bytes of UTF-8, on a character boundary, marked with an ellipsis when cut. */
function cutBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  let bytes = Buffer.byteLength('…');
  for (const ch of text) {
    bytes += Buffer.byteLength(ch);
    if (bytes > max) break;
    out += ch;
  }
  return `${out}…`;
}
