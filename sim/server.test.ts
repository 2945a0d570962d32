import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WechatSim } from './index';
import { classic, stable, ticket, type Json } from './testkit';

const APPID = 'wx1234567890abcdef';
const SECRET = 'secret-of-app-one-000000000000000';
const APPID2 = 'wxfedcba0987654321';
const SECRET2 = 'secret-of-app-two-000000000000000';
const body = { grant_type: 'client_credential', appid: APPID, secret: SECRET };
const tokenUrl = (appid = APPID, secret = SECRET) =>
  `/cgi-bin/token?grant_type=client_credential&appid=${appid}&secret=${secret}`;

let sim: WechatSim;
beforeEach(async () => {
  sim = await WechatSim.start();
  sim.addApp(APPID, SECRET);
  sim.addApp(APPID2, SECRET2);
});
afterEach(async () => {
  await sim.close();
});

describe('server basics', () => {
  it('listens on 127.0.0.1 with a random port', () => {
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('unknown paths: HTTP 404 with an empty body, not counted', async () => {
    for (const p of ['/', '/cgi-bin/nope', '/cgi-bin/token/extra', '/sns/nope']) {
      const res = await fetch(sim.url + p);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe('');
    }
    expect(sim.calls()).toBe(0);
  });

  it('the clock starts at opts.now, follows real time and advance()', async () => {
    const other = await WechatSim.start({ now: 1_700_000_000_000 });
    try {
      const t0 = other.now();
      expect(t0).toBeGreaterThanOrEqual(1_700_000_000_000);
      expect(t0).toBeLessThan(1_700_000_001_000);
      other.advance(3_600_000);
      expect(other.now() - t0).toBeGreaterThanOrEqual(3_600_000);
      expect(other.now() - t0).toBeLessThan(3_601_000);
      await new Promise((r) => setTimeout(r, 30));
      expect(other.now() - t0).toBeGreaterThanOrEqual(3_600_025);
      expect(() => other.advance(-1)).toThrow(RangeError);
    } finally {
      await other.close();
    }
  });

  it('close() ends keep-alive connections and pending delays promptly', async () => {
    const other = await WechatSim.start();
    other.addApp(APPID, SECRET);
    await (await fetch(other.url + tokenUrl())).json(); // leaves an idle keep-alive socket
    other.fault('token', { delayMs: 60_000 });
    const pending = fetch(other.url + tokenUrl()).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('failed');
    await expect(fetch(other.url + tokenUrl())).rejects.toThrow();
  });
});

describe('call counters', () => {
  it('count every request per endpoint and appid, including errors, and reset', async () => {
    await classic(sim, APPID, SECRET);
    await classic(sim, APPID, 'wrong');
    await classic(sim, APPID2, SECRET2);
    const s = (await stable(sim, body)).access_token as string;
    await stable(sim, '{not json');
    await ticket(sim, s);
    await ticket(sim, 'unknown-token');
    expect(sim.calls()).toBe(7);
    expect(sim.calls('token')).toBe(3);
    expect(sim.calls('token', APPID)).toBe(2);
    expect(sim.calls('token', APPID2)).toBe(1);
    expect(sim.calls('stable_token')).toBe(2);
    expect(sim.calls('stable_token', APPID)).toBe(1);
    expect(sim.calls('getticket')).toBe(2);
    expect(sim.calls('getticket', APPID)).toBe(1); // the unknown token's appid is unknown
    expect(sim.calls(undefined, APPID)).toBe(4);
    sim.resetCalls();
    expect(sim.calls()).toBe(0);
    await classic(sim, APPID, SECRET);
    expect(sim.calls('token', APPID)).toBe(1);
  });
});

describe('fault injection', () => {
  it('errcode: HTTP 200 JSON error with rid, counted, mints nothing, one per request FIFO', async () => {
    const t = (await stable(sim, body)).access_token as string;
    sim.fault('stable_token', { errcode: -1 }, 2);
    sim.fault('stable_token', { errcode: 45011, errmsg: 'api minute-quota reach limit mustslower retry next minute' });
    const res = await fetch(`${sim.url}/cgi-bin/stable_token`, {
      method: 'POST',
      body: JSON.stringify({ ...body, force_refresh: true }),
    });
    expect(res.status).toBe(200);
    const a = (await res.json()) as Json;
    expect(a.errcode).toBe(-1);
    expect(a.errmsg).toMatch(/^system error, rid: [0-9a-f-]+$/);
    expect((await stable(sim, body)).errcode).toBe(-1);
    const c = await stable(sim, body);
    expect(c.errcode).toBe(45011);
    expect(c.errmsg).toMatch(/^api minute-quota reach limit mustslower retry next minute, rid: /);
    // The faulted force refresh rotated nothing.
    expect(sim.tokenState(APPID, t)).toBe('valid');
    expect((await stable(sim, body)).access_token).toBe(t);
    expect(sim.calls('stable_token', APPID)).toBe(5);
  });

  it('faults apply before any logic: even a request that would fail gets the fault', async () => {
    sim.fault('token', { errcode: 40164, errmsg: 'invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist' });
    expect((await classic(sim, APPID, 'wrong')).errcode).toBe(40164);
    expect((await classic(sim, APPID, 'wrong')).errcode).toBe(40125);
  });

  it('faults are per endpoint', async () => {
    sim.fault('getticket', { errcode: -1 });
    expect((await classic(sim, APPID, SECRET)).errcode).toBeUndefined();
    const s = (await stable(sim, body)).access_token as string;
    expect((await ticket(sim, s)).errcode).toBe(-1);
    expect((await ticket(sim, s)).errcode).toBe(0);
  });

  it('http: that status with a non-JSON body', async () => {
    sim.fault('token', { http: 503 });
    sim.fault('token', { http: 500 });
    const res = await fetch(sim.url + tokenUrl());
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect((await fetch(sim.url + tokenUrl())).status).toBe(500);
    expect((await fetch(sim.url + tokenUrl())).status).toBe(200);
    expect(sim.calls('token', APPID)).toBe(3);
  });

  it('delayMs: answers normally after the delay; a client timeout aborts first', async () => {
    sim.fault('token', { delayMs: 300 });
    const started = Date.now();
    const r = (await (await fetch(sim.url + tokenUrl())).json()) as Json;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(sim.tokenState(APPID, r.access_token as string)).toBe('valid');

    sim.fault('token', { delayMs: 2_000 });
    await expect(fetch(sim.url + tokenUrl(), { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect(sim.calls('token')).toBe(2);
    expect((await classic(sim, APPID, SECRET)).errcode).toBeUndefined();
  });

  it('garbage: HTTP 200 with a body that is not JSON', async () => {
    sim.fault('stable_token', { garbage: true });
    const res = await fetch(`${sim.url}/cgi-bin/stable_token`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();
    expect(sim.calls('stable_token', APPID)).toBe(1);
  });

  it('drop: the socket is destroyed without an answer', async () => {
    sim.fault('token', { drop: true });
    await expect(fetch(sim.url + tokenUrl())).rejects.toThrow();
    expect(sim.calls('token', APPID)).toBe(1);
    expect((await classic(sim, APPID, SECRET)).errcode).toBeUndefined();
  });

  it('clearFaults drops the queue', async () => {
    sim.fault('token', { errcode: -1 }, 5);
    sim.clearFaults();
    expect((await classic(sim, APPID, SECRET)).errcode).toBeUndefined();
  });
});
