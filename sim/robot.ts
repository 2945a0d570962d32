/**
 * WeCom group robots (群机器人) in the simulator: POST cgi-bin/webhook/send?key=KEY with a text or
 * markdown message, at most 20 messages a minute per robot. Semantics: docs/protocol.md §4.8;
 * modelling choices: docs/design.md §8.
 */
import type { SimClock } from './clock';
import { wxError, wxOk } from './errors';
import type { Route, SimModule, SimRequest, SimResponse } from './types';

/** Messages a robot accepts per minute. */
const PER_MINUTE = 20;
const MINUTE_MS = 60_000;
/** Content limits in bytes of UTF-8, per message type. */
const MAX_BYTES: Readonly<Record<string, number>> = { text: 2048, markdown: 4096 };

const ERRMSG: Readonly<Record<number, string>> = {
  40008: 'invalid message type',
  40058: 'invalid parameter',
  43002: 'require POST method',
  44004: 'empty content',
  45002: 'content size out of limit',
  45009: 'api freq out of limit',
  93000: 'invalid webhook url',
};
const robotError = (errcode: number) => wxError(errcode, ERRMSG[errcode]);

/** A message a robot posted to its group. */
export interface RobotMessage {
  msgtype: 'text' | 'markdown';
  content: string;
  /** Sim clock, epoch ms. */
  at: number;
}

export class RobotSim implements SimModule {
  /** Per robot key: what it posted, and when (the last minute's count decides the rate limit). */
  private readonly robots = new Map<string, RobotMessage[]>();

  constructor(private readonly clock: SimClock) {}

  /** A robot added to a group: its webhook is cgi-bin/webhook/send?key=`key`. */
  addRobot(key: string): void {
    if (!this.robots.has(key)) this.robots.set(key, []);
  }

  /** What the robot posted, oldest first. */
  messages(key: string): RobotMessage[] {
    return [...(this.robots.get(key) ?? [])];
  }

  routes(): Route[] {
    return [
      {
        path: '/cgi-bin/webhook/send',
        endpoint: 'webhook_send',
        appidOf: (r) => r.query.get('key') ?? undefined,
        handle: (r) => this.send(r),
      },
    ];
  }

  /** The key (93000), the method, the rate limit (45009), then the message: its type, content and size. */
  private send(r: SimRequest): SimResponse {
    const posted = this.robots.get(r.query.get('key') ?? '');
    if (!posted) return robotError(93000);
    if (r.method !== 'POST') return robotError(43002);
    const now = this.clock.now();
    if (posted.filter((m) => m.at > now - MINUTE_MS).length >= PER_MINUTE) return robotError(45009);
    let body: unknown;
    try {
      body = JSON.parse(r.body);
    } catch {
      return robotError(40058);
    }
    const { msgtype } = (body ?? {}) as { msgtype?: unknown };
    if (msgtype !== 'text' && msgtype !== 'markdown') return robotError(40008);
    const content = (body as Record<string, { content?: unknown } | undefined>)[msgtype]?.content;
    if (typeof content !== 'string' || content === '') return robotError(44004);
    if (Buffer.byteLength(content) > MAX_BYTES[msgtype]!) return robotError(45002);
    posted.push({ msgtype, content, at: now });
    return wxOk({ errcode: 0, errmsg: 'ok' });
  }
}
