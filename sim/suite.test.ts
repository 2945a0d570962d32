/** The simulator's WeCom suites: the service endpoints' documented behaviour, and the pushes as a receiver sees them. */
import { createDecipheriv } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WechatSim } from './index';
import { sha1Sorted } from './suite';

const SUITE = 'ww0000000000000s01';
const SECRET = 'sim-suite-secret';
const TOKEN = 'simsuitetoken';
const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const CORP = 'ww00000000000000c1';

interface Received {
  query: URLSearchParams;
  body: string;
}

let sim: WechatSim;
let receiver: Server;
let received: Received[];

beforeEach(async () => {
  sim = await WechatSim.start();
  sim.addSuite(SUITE, SECRET, TOKEN, KEY);
  received = [];
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ query: new URL(req.url ?? '/', 'http://x').searchParams, body });
      res.end('success');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
});
afterEach(async () => {
  await sim.close();
  await new Promise((r) => receiver.close(r));
});

const receiverUrl = () => `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;

/** The plaintext of a received push, checking its signature as a receiver must (independently of sim/suite.ts). */
function openPush(p: Received): string {
  const encrypted = /<Encrypt><!\[CDATA\[(.*?)\]\]><\/Encrypt>/.exec(p.body)![1]!;
  const q = p.query;
  expect(sha1Sorted([TOKEN, q.get('timestamp')!, q.get('nonce')!, encrypted])).toBe(q.get('msg_signature'));
  const key = Buffer.from(`${KEY}=`, 'base64');
  const d = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([d.update(Buffer.from(encrypted, 'base64')), d.final()]);
  const unpadded = plain.subarray(0, plain.length - plain[plain.length - 1]!);
  const len = unpadded.readUInt32BE(16);
  expect(unpadded.subarray(20 + len).toString()).toBe(SUITE);
  return unpadded.subarray(20, 20 + len).toString();
}

const field = (xml: string, name: string) =>
  new RegExp(`<${name}>(?:<!\\[CDATA\\[)?(.*?)(?:\\]\\]>)?</${name}>`).exec(xml)?.[1];

async function post(path: string, body: unknown): Promise<Record<string, any>> {
  const res = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return (await res.json()) as Record<string, any>;
}

async function suiteToken(): Promise<string> {
  await sim.setSuiteCallback(SUITE, receiverUrl());
  const ticket = field(openPush(received.at(-1)!), 'SuiteTicket');
  const r = await post('/cgi-bin/service/get_suite_token', {
    suite_id: SUITE,
    suite_secret: SECRET,
    suite_ticket: ticket,
  });
  return r.suite_access_token as string;
}

describe('suite_ticket pushes and get_suite_token', () => {
  it('a ticket is pushed at once and every 10 minutes, encrypted for the suite; a ticket is valid 30 minutes', async () => {
    await sim.setSuiteCallback(SUITE, receiverUrl());
    const first = openPush(received[0]!);
    expect(field(first, 'InfoType')).toBe('suite_ticket');
    expect(field(first, 'SuiteId')).toBe(SUITE);
    const ticket = field(first, 'SuiteTicket')!;
    const r = await post('/cgi-bin/service/get_suite_token', {
      suite_id: SUITE,
      suite_secret: SECRET,
      suite_ticket: ticket,
    });
    expect(r).toMatchObject({ expires_in: 7200 });
    expect(typeof r.suite_access_token).toBe('string');
    sim.advance(10 * 60_000);
    await expect.poll(() => received.length, { timeout: 2000, interval: 20 }).toBe(2);
    sim.advance(21 * 60_000);
    await expect.poll(() => received.length, { timeout: 2000, interval: 20 }).toBe(3);
    const late = await post('/cgi-bin/service/get_suite_token', {
      suite_id: SUITE,
      suite_secret: SECRET,
      suite_ticket: ticket,
    });
    expect(late.errcode).toBe(40085);
  });

  it('the documented refusals: unknown suite 40083, wrong secret 40001, unknown ticket 40085', async () => {
    await sim.setSuiteCallback(SUITE, receiverUrl());
    const ticket = field(openPush(received[0]!), 'SuiteTicket');
    const body = { suite_id: SUITE, suite_secret: SECRET, suite_ticket: ticket };
    expect((await post('/cgi-bin/service/get_suite_token', { ...body, suite_id: 'ww9999999999999999' })).errcode).toBe(
      40083,
    );
    expect((await post('/cgi-bin/service/get_suite_token', { ...body, suite_secret: 'x' })).errcode).toBe(40001);
    expect((await post('/cgi-bin/service/get_suite_token', { ...body, suite_ticket: 'x' })).errcode).toBe(40085);
  });
});

describe('authorization', () => {
  it('create_auth carries an auth code good once, for 10 minutes; get_corp_token with the permanent code', async () => {
    const token = await suiteToken();
    const { authCode } = await sim.installSuite(SUITE, CORP, { agentid: '1000002', state: 'xyz' });
    const event = openPush(received.at(-1)!);
    expect(field(event, 'InfoType')).toBe('create_auth');
    expect(field(event, 'AuthCode')).toBe(authCode);
    const q = `?suite_access_token=${encodeURIComponent(token)}`;
    const auth = await post(`/cgi-bin/service/get_permanent_code${q}`, { auth_code: authCode });
    expect(auth).toMatchObject({
      errcode: 0,
      auth_corp_info: { corpid: CORP },
      auth_info: { agent: [{ agentid: 1000002 }] },
    });
    expect((await post(`/cgi-bin/service/get_permanent_code${q}`, { auth_code: authCode })).errcode).toBe(40029);
    const { authCode: late } = await sim.installSuite(SUITE, CORP, { agentid: '1000002' });
    sim.advance(10 * 60_000 + 1);
    expect((await post(`/cgi-bin/service/get_permanent_code${q}`, { auth_code: late })).errcode).toBe(40029);

    const permanent = sim.suitePermanentCode(SUITE, CORP);
    const corp = await post(`/cgi-bin/service/get_corp_token${q}`, { auth_corpid: CORP, permanent_code: permanent });
    expect(corp).toMatchObject({ errcode: 0 });
    // the token get_permanent_code issued 10 minutes ago, still alive
    expect(corp.expires_in).toBeLessThanOrEqual(6600);
    expect(corp.expires_in).toBeGreaterThan(6500);
    expect(sim.workTokenState(CORP, '1000002', corp.access_token)).toBe('valid');
    expect((await post('/cgi-bin/service/get_corp_token?suite_access_token=bad', {})).errcode).toBe(40082);

    await sim.cancelSuiteAuth(SUITE, CORP);
    expect(field(openPush(received.at(-1)!), 'InfoType')).toBe('cancel_auth');
    expect(sim.workTokenState(CORP, '1000002', corp.access_token)).toBe('invalid');
    expect(
      (await post(`/cgi-bin/service/get_corp_token${q}`, { auth_corpid: CORP, permanent_code: permanent })).errcode,
    ).toBe(40084);
  });

  it('a suite_access_token expires after 7200 s (42009); get_pre_auth_code lasts 1200 s', async () => {
    const token = await suiteToken();
    const pre = await fetch(
      `${sim.url}/cgi-bin/service/get_pre_auth_code?suite_access_token=${encodeURIComponent(token)}`,
    );
    expect(await pre.json()).toMatchObject({ errcode: 0, expires_in: 1200 });
    sim.advance(7200_000);
    const late = await fetch(
      `${sim.url}/cgi-bin/service/get_pre_auth_code?suite_access_token=${encodeURIComponent(token)}`,
    );
    expect(((await late.json()) as any).errcode).toBe(42009);
  });
});
