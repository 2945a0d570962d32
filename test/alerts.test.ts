/**
 * Alerts through the real refresher (docs/design.md §17): a 40164 fault is one robot message in
 * one run, none more that hour, then one recovery message; instances sharing a store agree; the
 * robot's rate-limit answer pauses posting and the message goes out later; a daily quota past
 * 80 % is told; the JSON webhook gets the same; no message or log line holds a secret or the key.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { beijingDay } from '../lib/credentials/day';
import { createMemoryStore } from '../lib/store/memory';
import type { Store } from '../lib/store/port';
import { WechatSim } from '../sim';
import { ADMIN, MP, MP2, REALM, type Stack, startStack } from './support/stack';
import { switchable } from './support/switchable-store';

const KEY = 'robot-key-6f1c2a';
const SECRETS = [MP.secret, MP2.secret, REALM.secret, ADMIN.secret, KEY];

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function simWithRobot(): Promise<WechatSim> {
  const sim = await WechatSim.start();
  sim.addRobot(KEY);
  cleanup.push(() => sim.close());
  return sim;
}

async function stackWith(sim: WechatSim, alerts: Record<string, string>, store?: Store): Promise<Stack> {
  const s = await startStack({ sim, ...(store ? { store } : {}), config: { alerts } });
  cleanup.push(() => s.close());
  return s;
}

const robot = (sim: WechatSim) => ({ wecomWebhook: `${sim.url}/cgi-bin/webhook/send?key=${KEY}` });
const texts = (sim: WechatSim) => sim.robotMessages(KEY).map((m) => m.content);

function noSecretIn(...texts: string[]): void {
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe('alerts to a WeCom group robot', () => {
  it('a 40164 fault: one message in one refresher run, none more that hour, one when it recovers', async () => {
    const sim = await simWithRobot();
    const s = await stackWith(sim, robot(sim));
    sim.allowIps(MP.appid, ['203.0.113.10']);

    expect((await s.app.refresh()).failed).toEqual([
      { key: `mp:${MP.appid}:token`, reason: 'config_fault (errcode 40164)' },
    ]);
    expect(texts(sim)).toHaveLength(1);
    const [fault] = texts(sim);
    expect(fault).toContain(`mp:${MP.appid}:token (${MP.appid}): 配置错误 / configuration fault`);
    expect(fault).toContain(
      "errcode 40164: 调用接口的 IP 不在公众平台的 IP 白名单中 / this server's IP is not on the app's IP allow-list",
    );
    expect(fault).toContain('请将 127.0.0.1 加入 IP 白名单 / add 127.0.0.1 to the IP allow-list');

    // The same hour: WeChat is asked again once the pause after a configuration fault is over, and still refuses.
    for (let i = 0; i < 3; i++) {
      sim.advance(5 * 60_000);
      expect((await s.app.refresh()).failed).toHaveLength(1);
    }
    expect(sim.calls('stable_token', MP.appid)).toBeGreaterThanOrEqual(3);
    expect(texts(sim)).toHaveLength(1);

    sim.allowIps(MP.appid, undefined);
    sim.advance(60_000);
    expect((await s.app.refresh()).failed).toEqual([]);
    expect(texts(sim)).toHaveLength(2);
    expect(texts(sim)[1]).toBe(`wecred 告警 / alerts\n✅ mp:${MP.appid}:token (${MP.appid}): 已恢复 / recovered`);
    await s.app.refresh();
    expect(texts(sim)).toHaveLength(2);

    noSecretIn(...texts(sim), JSON.stringify(s.logs));
    expect(s.logs.filter((l) => l.event === 'alert_sent')).toHaveLength(2);
  });

  it('instances sharing the store send one message between them', async () => {
    const sim = await simWithRobot();
    const store = createMemoryStore();
    const a = await stackWith(sim, robot(sim), store);
    const b = await stackWith(sim, robot(sim), store);
    sim.allowIps(MP.appid, ['203.0.113.10']);
    await Promise.all([a.app.refresh(), b.app.refresh()]);
    await Promise.all([a.app.refresh(), b.app.refresh()]);
    expect(texts(sim)).toHaveLength(1);
  });

  it("respects the robot's rate-limit answer: no further post for a minute, then the message goes out", async () => {
    const sim = await simWithRobot();
    const s = await stackWith(sim, robot(sim));
    // Somebody else used up this robot's 20 messages of the minute.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${sim.url}/cgi-bin/webhook/send?key=${KEY}`, {
        method: 'POST',
        body: JSON.stringify({ msgtype: 'text', text: { content: `other ${i}` } }),
      });
      expect(await res.json()).toEqual({ errcode: 0, errmsg: 'ok' });
    }
    sim.allowIps(MP.appid, ['203.0.113.10']);

    await s.app.refresh();
    expect(sim.calls('webhook_send', KEY)).toBe(21);
    expect(texts(sim)).toHaveLength(20);
    expect(s.logs.find((l) => l.event === 'alert_not_sent')).toMatchObject({ sink: 'wecom', conditions: 1 });
    // paused: not asked again within the minute, by this instance or any other
    sim.advance(30_000);
    await s.app.refresh();
    expect(sim.calls('webhook_send', KEY)).toBe(21);

    sim.advance(31_000);
    await s.app.refresh();
    expect(sim.calls('webhook_send', KEY)).toBe(22);
    expect(texts(sim)).toHaveLength(21);
    expect(texts(sim)[20]).toContain('errcode 40164');
  });

  it('tells when a daily quota passes 80 %', async () => {
    const sim = await simWithRobot();
    const s = await stackWith(sim, robot(sim));
    const now = sim.now();
    await s.store.increment(`count:${beijingDay(now)}:mp:${MP2.appid}:token:refresh`, 1599, now + 86_400_000, now);
    await s.app.refresh();
    expect(texts(sim)).toEqual([
      [
        'wecred 告警 / alerts',
        `⚠️ daily:mp:${MP2.appid}:token: 额度已用过 80% / over 80 % of the budget used`,
        '   1600 of 2000 calls used today (80 %)',
      ].join('\n'),
    ]);
  });
});

describe('alerts on the forced-refresh budget', () => {
  it("tells when a stable token's forced refreshes (forced or replacing rejected values) pass 80 % of 20", async () => {
    const sim = await simWithRobot();
    const s = await stackWith(sim, robot(sim));
    const now = sim.now();
    const key = `mp:${MP.appid}:token`;
    await s.store.increment(`count:${beijingDay(now)}:${key}:force`, 10, now + 86_400_000, now);
    await s.store.increment(`count:${beijingDay(now)}:${key}:rejected`, 5, now + 86_400_000, now);
    await s.app.refresh();
    expect(texts(sim)).toEqual([]); // 15 of 20
    await s.store.increment(`count:${beijingDay(now)}:${key}:rejected`, 1, now + 86_400_000, now);
    await s.store.increment(`count:${beijingDay(now)}:${key}:refresh`, 1, now + 86_400_000, now);
    await s.app.refresh();
    expect(texts(sim)).toEqual([
      [
        'wecred 告警 / alerts',
        `⚠️ force:${key}: 额度已用过 80% / over 80 % of the budget used`,
        '   16 of 20 calls used today (80 %)',
      ].join('\n'),
    ]);
  });
});

describe('alerts to a JSON webhook', () => {
  it('gets each alert as JSON, and a failed post is tried again at the next run', async () => {
    const received: unknown[] = [];
    let answer = 503;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c;
      });
      req.on('end', () => {
        if (answer === 204) received.push(JSON.parse(body));
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const sim = await simWithRobot();
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts?token=hook-secret`;
    const s = await stackWith(sim, { webhook: hook });
    sim.allowIps(MP.appid, ['203.0.113.10']);

    await s.app.refresh(); // answered 503: not said
    expect(received).toEqual([]);
    answer = 204;
    sim.advance(2 * 60_000);
    await s.app.refresh();
    expect(received).toEqual([
      {
        source: 'wecred',
        alerts: [
          {
            condition: `refresh:mp:${MP.appid}:token`,
            status: 'firing',
            kind: 'config_fault',
            subject: `mp:${MP.appid}:token`,
            owner: MP.appid,
            errcode: 40164,
            ip: '127.0.0.1',
            detail: expect.stringContaining('127.0.0.1 is not on'),
          },
        ],
      },
    ]);
    expect(JSON.stringify(s.logs)).not.toContain('hook-secret');
  });
});

describe('alerts while the store is away', () => {
  it('a run that cannot read the state posts nothing, says why in one line, and the next run catches up', async () => {
    const sim = await simWithRobot();
    const { store, state } = switchable(createMemoryStore());
    const s = await stackWith(sim, robot(sim), store);
    sim.allowIps(MP.appid, ['203.0.113.1']); // a 40164 that would be told
    state.down = 'error';
    await s.app.refresh();
    expect(texts(sim)).toEqual([]);
    expect(s.logs.find((l) => l.event === 'alert_failed')).toMatchObject({ error: 'store_unavailable' });
    expect(s.logs.find((l) => l.event === 'refresh_run')).toMatchObject({ alerts: 0 });
    state.down = false;
    await s.app.refresh();
    expect(texts(sim)).toHaveLength(1);
  });
});
