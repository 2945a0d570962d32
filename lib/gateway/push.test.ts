import { describe, expect, it } from 'vitest';
import type { Services } from '../interfaces/types';
import { silentLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import type { Store } from '../store/port';
import { deliverPush, messageId } from './push';
import { xmlChildren } from './push-xml';

describe('messageId: what a push is deduped by', () => {
  it("takes <xml>'s direct MsgId, never one inside a CDATA or a deeper element", () => {
    expect(
      messageId(
        '<xml><Content><![CDATA[<MsgId>1</MsgId>]]></Content><Deep><MsgId>2</MsgId></Deep><MsgId>3</MsgId></xml>',
      ),
    ).toBe('msg:3');
    expect(messageId('<xml><MsgID>4</MsgID><MsgType>event</MsgType></xml>')).toBe('msg:4'); // template-send events
  });

  it('takes FromUserName and CreateTime of an event without a MsgId; nothing of other messages', () => {
    const event =
      '<xml><FromUserName><![CDATA[o1]]></FromUserName><CreateTime>5</CreateTime><MsgType><![CDATA[event]]></MsgType></xml>';
    expect(messageId(event)).toBe('event:o1:5');
    expect(messageId(event.replace('event', 'text'))).toBeUndefined();
    expect(messageId(event.replace('<CreateTime>5</CreateTime>', ''))).toBeUndefined();
    expect(messageId('<xml><MsgId>1</MsgId><MsgId>2</MsgId></xml>')).toBeUndefined();
    expect(messageId('<xml><MsgId></MsgId></xml>')).toBeUndefined();
    expect(messageId('not xml')).toBeUndefined();
  });

  it("takes a WeCom third-party event's InfoType, TimeStamp and subject (the documented suite_ticket example)", () => {
    const ticket =
      '<xml>\n<SuiteId><![CDATA[ww4asffe99e54c0fxxxx]]></SuiteId>\n<InfoType> <![CDATA[suite_ticket]]></InfoType>\n<TimeStamp>1403610513</TimeStamp>\n<SuiteTicket><![CDATA[asdfasfdasdfasdf]]></SuiteTicket>\n</xml>';
    expect(messageId(ticket)).toBe('info:suite_ticket:1403610513:asdfasfdasdfasdf');
    const cancel =
      '<xml><SuiteId><![CDATA[s]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType><TimeStamp>1403610513</TimeStamp><AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId></xml>';
    expect(messageId(cancel)).toBe('info:cancel_auth:1403610513:wxf8b4f85f3a794e77');
    expect(messageId(cancel.replace('<TimeStamp>1403610513</TimeStamp>', ''))).toBeUndefined();
  });

  it("takes a WeChat platform notice's InfoType, CreateTime and subject (the documented examples)", () => {
    const ticket =
      '<xml><AppId>some_appid</AppId><CreateTime>1413192605</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>some_verify_ticket</ComponentVerifyTicket></xml>';
    expect(messageId(ticket)).toBe('info:component_verify_ticket:1413192605:');
    const authorized =
      '<xml><AppId>第三方平台appid</AppId><CreateTime>1413192760</CreateTime><InfoType>authorized</InfoType><AuthorizerAppid>公众号appid</AuthorizerAppid><AuthorizationCode>授权码</AuthorizationCode><AuthorizationCodeExpiredTime>过期时间</AuthorizationCodeExpiredTime><PreAuthCode>预授权码</PreAuthCode></xml>';
    expect(messageId(authorized)).toBe('info:authorized:1413192760:公众号appid');
  });

  it('an event names its sender: without a FromUserName it has no id', () => {
    expect(messageId('<xml><CreateTime>5</CreateTime><MsgType>event</MsgType></xml>')).toBeUndefined();
  });

  it('reads the JSON format at its top level', () => {
    expect(messageId('{"MsgId":7,"MsgType":"text"}')).toBe('msg:7');
    expect(messageId('{"FromUserName":"o1","CreateTime":5,"MsgType":"event"}')).toBe('event:o1:5');
    expect(messageId('{"MsgId":{"x":1}}')).toBeUndefined();
    expect(messageId('{nope')).toBeUndefined();
    // an empty MsgId is none: an event falls back to its sender and time; a non-event has no id
    expect(messageId('{"MsgId":"","FromUserName":"o1","CreateTime":5,"MsgType":"event"}')).toBe('event:o1:5');
    expect(messageId('{"FromUserName":"o1","CreateTime":5,"MsgType":"text"}')).toBeUndefined();
    expect(messageId('{"MsgId":true,"MsgType":"text"}')).toBeUndefined();
    // whitespace around the body, as a proxy may leave it
    expect(messageId('\n  {"MsgId":8}\n')).toBe('msg:8');
  });

  it("xmlChildren gives each direct child's value, null for one that is no plain value", () => {
    expect(xmlChildren('<xml><A> a </A><B><![CDATA[b]]></B><C/><D><E/></D><F>1<!-- -->2</F><A>x</A></xml>')).toEqual(
      new Map([
        ['A', ['a', 'x']],
        ['B', ['b']],
        ['C', ['']],
        ['D', [null]],
        ['F', [null]],
      ]),
    );
    expect(xmlChildren('<xml><G><H>1</H></G> text between children <I>2</I></xml>')).toEqual(
      new Map([
        ['G', [null]],
        ['I', ['2']],
      ]),
    );
    expect(xmlChildren('<xml><A></B></xml>')).toBeUndefined();
  });
});

describe('deliverPush', () => {
  const NOW = 1_800_000_000_000;
  const services = (store: Partial<Store>, onMessage?: Services['onMessage']) =>
    ({ store, clock: () => NOW, log: silentLogger, onMessage }) as unknown as Services;

  it('answers 503 when the store cannot tell whether the push was handed over, and hands nothing over', async () => {
    const got: string[] = [];
    const down = services({ increment: () => Promise.reject(new Error('down')) }, async (_r, m) => void got.push(m));
    await expect(
      deliverPush(down, 'wx1', { timestamp: String(NOW / 1000), nonce: 'n' }, '<xml/>'),
    ).rejects.toMatchObject({
      code: 'store_unavailable',
      httpStatus: 503,
      message: 'the credential store is unavailable',
    });
    expect(got).toEqual([]);
  });

  it("hands a push over once, logs a repeat without its content, and gives the claims back when the hook fails, so WeChat's retry is handed over", async () => {
    const lines: unknown[] = [];
    const log = { log: (level: string, event: string, fields?: unknown) => void lines.push({ level, event, fields }) };
    const store = createMemoryStore();
    const got: string[] = [];
    let failing = true;
    const svc = {
      store,
      clock: () => NOW,
      log,
      onMessage: async (_r: string, m: string) => {
        if (failing) throw new Error('hook down');
        got.push(m);
      },
    } as unknown as Services;
    const signed = { timestamp: String(NOW / 1000), nonce: 'nonce-1' };
    const push = '<xml><MsgId>42</MsgId><Content>secret words</Content></xml>';
    await expect(deliverPush(svc, 'wx1', signed, push)).rejects.toThrow('hook down');
    failing = false;
    await deliverPush(svc, 'wx1', signed, push);
    await deliverPush(svc, 'wx1', { ...signed, nonce: 'nonce-2' }, push); // the same MsgId again
    expect(got).toEqual([push]);
    expect(lines).toEqual([{ level: 'info', event: 'push_duplicate', fields: { receiver: 'wx1' } }]);
    await expect(
      deliverPush(svc, 'wx1', { timestamp: String(NOW / 1000 - 301), nonce: 'n3' }, '<xml/>'),
    ).rejects.toThrow(/^timestamp must be unix seconds within 300 s/);
  });

  it("a failing hook whose claims the store cannot give back is logged, and the hook's error still answered", async () => {
    const lines: { level: string; event: string; fields?: unknown }[] = [];
    const log = {
      log: (level: string, event: string, fields?: unknown) => void lines.push({ level, event, fields }),
    };
    const memory = createMemoryStore();
    const store = {
      increment: (key: string, by: number, expiresAt: number, now: number) =>
        by < 0
          ? Promise.reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))
          : memory.increment(key, by, expiresAt, now),
    };
    const svc = { store, clock: () => NOW, log, onMessage: async () => Promise.reject(new Error('hook down')) };
    await expect(
      deliverPush(svc as unknown as Services, 'wx1', { timestamp: String(NOW / 1000), nonce: 'n' }, '<xml/>'),
    ).rejects.toThrow('hook down');
    expect(lines).toEqual([
      { level: 'error', event: 'push_release_failed', fields: { receiver: 'wx1', error: 'Error', code: 'ECONNRESET' } },
    ]);
  });

  it('without a hook, a push is one line with its size and never its content', async () => {
    const lines: { event: string; fields?: unknown }[] = [];
    const log = { log: (_l: string, event: string, fields?: unknown) => void lines.push({ event, fields }) };
    const svc = { store: createMemoryStore(), clock: () => NOW, log } as unknown as Services;
    await deliverPush(svc, 'wx1', { timestamp: String(NOW / 1000), nonce: 'n' }, '<xml><Content>你好</Content></xml>');
    expect(lines).toEqual([{ event: 'wechat_message', fields: { appid: 'wx1', bytes: 36 } }]);
  });
});
