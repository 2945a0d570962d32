import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WechatSim } from '.';

let sim: WechatSim;
beforeEach(async () => {
  sim = await WechatSim.start();
  sim.addRobot('k1');
});
afterEach(() => sim.close());

const send = async (body: unknown, key = 'k1', method = 'POST') => {
  const res = await fetch(`${sim.url}/cgi-bin/webhook/send?key=${key}`, {
    method,
    ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return (await res.json()) as { errcode: number; errmsg: string };
};
const text = (content: string) => ({ msgtype: 'text', text: { content } });

describe('a WeCom group robot (docs/protocol.md §4.8)', () => {
  it('posts text and markdown messages to its group', async () => {
    expect(await send(text('hello'))).toEqual({ errcode: 0, errmsg: 'ok' });
    expect(await send({ msgtype: 'markdown', markdown: { content: '**bold**' } })).toEqual({
      errcode: 0,
      errmsg: 'ok',
    });
    expect(sim.robotMessages('k1').map((m) => [m.msgtype, m.content])).toEqual([
      ['text', 'hello'],
      ['markdown', '**bold**'],
    ]);
  });

  it('refuses an unknown key, a GET, a body that is not JSON, another type, empty or oversized content', async () => {
    expect((await send(text('x'), 'nope')).errcode).toBe(93000);
    expect((await send(undefined, 'k1', 'GET')).errcode).toBe(43002);
    expect((await send('{not json')).errcode).toBe(40058);
    expect((await send({ msgtype: 'news', news: {} })).errcode).toBe(40008);
    expect((await send(text(''))).errcode).toBe(44004);
    expect((await send(text('字'.repeat(683)))).errcode).toBe(45002); // 2049 bytes
    expect((await send(text('字'.repeat(682)))).errcode).toBe(0); // 2046 bytes
    expect((await send({ msgtype: 'markdown', markdown: { content: 'x'.repeat(4097) } })).errcode).toBe(45002);
    expect(sim.robotMessages('k1')).toHaveLength(1);
  });

  it('takes 20 messages a minute, then answers 45009 until a minute has passed since the oldest', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await send(text(`m${i}`))).errcode).toBe(0);
      sim.advance(1000);
    }
    expect(await send(text('one more'))).toMatchObject({
      errcode: 45009,
      errmsg: expect.stringMatching(/^api freq out of limit/),
    });
    sim.advance(40_000); // the first message is now a minute old
    expect((await send(text('again'))).errcode).toBe(0);
    expect((await send(text('and again'))).errcode).toBe(45009);
    expect(sim.robotMessages('k1')).toHaveLength(21);
    expect(sim.calls('webhook_send', 'k1')).toBe(23);
  });
});
