import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WechatSim, type SimOptions } from './index';
import { classic, getJson, stable, ticket, type Json } from './testkit';

const APPID = 'wx1234567890abcdef';
const SECRET = 'secret-of-app-one-000000000000000';
const APPID2 = 'wxfedcba0987654321';
const SECRET2 = 'secret-of-app-two-000000000000000';
const MIN = 60_000;
const HOUR = 60 * MIN;

let sim: WechatSim;
async function startSim(opts?: SimOptions): Promise<WechatSim> {
  await sim?.close();
  sim = await WechatSim.start(opts);
  sim.addApp(APPID, SECRET);
  sim.addApp(APPID2, SECRET2);
  return sim;
}
beforeEach(async () => {
  await startSim();
});
afterEach(async () => {
  await sim.close();
});

const tokenOf = (r: Json) => {
  expect(r.errcode).toBeUndefined();
  expect(typeof r.access_token).toBe('string');
  return r.access_token as string;
};
const stableBody = (extra: Json = {}) => ({ grant_type: 'client_credential', appid: APPID, secret: SECRET, ...extra });
const errOf = (r: Json) => {
  expect(typeof r.errmsg).toBe('string');
  expect(r.errmsg).toMatch(/, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
  return r.errcode;
};

describe('cgi-bin/token (classic)', () => {
  it('mints a realistic new token on every call, with expires_in 7200 and no errcode, JSON content type', async () => {
    const res = await fetch(`${sim.url}/cgi-bin/token?grant_type=client_credential&appid=${APPID}&secret=${SECRET}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; encoding=utf-8');
    const a = (await res.json()) as Json;
    expect(Object.keys(a).sort()).toEqual(['access_token', 'expires_in']);
    expect(a.expires_in).toBe(7200);
    expect(a.access_token).toMatch(/^[A-Za-z0-9_-]{130,140}$/);
    const b = tokenOf(await classic(sim, APPID, SECRET));
    expect(b).not.toBe(a.access_token);
  });

  it('rotation: the previous token keeps a 5-minute grace, older ones die at once', async () => {
    const t1 = tokenOf(await classic(sim, APPID, SECRET));
    sim.advance(10 * MIN);
    const t2 = tokenOf(await classic(sim, APPID, SECRET));
    expect(sim.tokenState(APPID, t1)).toBe('valid');
    expect(sim.tokenState(APPID, t2)).toBe('valid');
    expect((await ticket(sim, t1)).errcode).toBe(0);
    sim.advance(299_000);
    expect(sim.tokenState(APPID, t1)).toBe('valid');
    sim.advance(2_000);
    expect(sim.tokenState(APPID, t1)).toBe('invalid');
    expect(errOf(await ticket(sim, t1))).toBe(40001);
    expect(sim.tokenState(APPID, t2)).toBe('valid');

    // A third fetch: t2 gets the grace, and a t1-style elder is already dead; a fourth kills t2 at once.
    const t3 = tokenOf(await classic(sim, APPID, SECRET));
    expect(sim.tokenState(APPID, t2)).toBe('valid');
    const t4 = tokenOf(await classic(sim, APPID, SECRET));
    expect(sim.tokenState(APPID, t2)).toBe('invalid');
    expect(sim.tokenState(APPID, t3)).toBe('valid');
    expect(sim.tokenState(APPID, t4)).toBe('valid');
  });

  it('a token past its life gives 42001 (expired), not 40001', async () => {
    const t = tokenOf(await classic(sim, APPID, SECRET));
    sim.advance(7200_000 - 1_000);
    expect((await ticket(sim, t)).errcode).toBe(0);
    sim.advance(2_000);
    expect(sim.tokenState(APPID, t)).toBe('expired');
    expect(errOf(await ticket(sim, t))).toBe(42001);
  });

  it('a token superseded close to its end expires (42001) rather than being invalidated', async () => {
    const t1 = tokenOf(await classic(sim, APPID, SECRET));
    sim.advance(7200_000 - MIN);
    tokenOf(await classic(sim, APPID, SECRET));
    sim.advance(2 * MIN);
    expect(sim.tokenState(APPID, t1)).toBe('expired');
    expect((await ticket(sim, t1)).errcode).toBe(42001);
  });

  it('honours tokenLifetimeSeconds', async () => {
    await startSim({ tokenLifetimeSeconds: 600 });
    const r = await classic(sim, APPID, SECRET);
    expect(r.expires_in).toBe(600);
    sim.advance(601_000);
    expect(sim.tokenState(APPID, r.access_token as string)).toBe('expired');
  });

  it('daily quota: 45009 past tokenDailyQuota, per appid, reset on the next Beijing day', async () => {
    // 2024-05-01 23:58:00 in Beijing.
    await startSim({ now: Date.UTC(2024, 4, 1, 15, 58, 0), tokenDailyQuota: 3 });
    const good: string[] = [];
    for (let i = 0; i < 3; i++) good.push(tokenOf(await classic(sim, APPID, SECRET)));
    const over = await classic(sim, APPID, SECRET);
    expect(errOf(over)).toBe(45009);
    expect(over.errmsg).toMatch(/^reach max api daily quota limit/);
    tokenOf(await classic(sim, APPID2, SECRET2)); // other app unaffected
    expect(sim.calls('token', APPID)).toBe(4); // the refused call is counted as a call
    // A refused call mints nothing: the token before the last good one is still in its grace.
    expect(sim.tokenState(APPID, good[1]!)).toBe('valid');
    sim.advance(MIN); // 23:59 Beijing, same day
    expect((await classic(sim, APPID, SECRET)).errcode).toBe(45009);
    sim.advance(2 * MIN); // 00:01 Beijing, next day
    tokenOf(await classic(sim, APPID, SECRET));
  });

  it('a UTC midnight is not a quota day boundary', async () => {
    // 2024-05-01 23:59 UTC = 2024-05-02 07:59 Beijing.
    await startSim({ now: Date.UTC(2024, 4, 1, 23, 59, 0), tokenDailyQuota: 1 });
    tokenOf(await classic(sim, APPID, SECRET));
    sim.advance(2 * MIN);
    expect((await classic(sim, APPID, SECRET)).errcode).toBe(45009);
  });

  it('checks grant_type, appid, secret, known appid, matching secret in that order', async () => {
    const q = (params: Record<string, string>) => getJson(sim, `/cgi-bin/token?${new URLSearchParams(params)}`);
    expect(errOf(await q({ grant_type: 'password', secret: 'x' }))).toBe(40002);
    expect(errOf(await q({ appid: APPID, secret: SECRET }))).toBe(40002);
    expect(errOf(await q({ grant_type: 'client_credential', secret: 'x' }))).toBe(41002);
    expect(errOf(await q({ grant_type: 'client_credential', appid: 'wxunknown' }))).toBe(41004);
    expect(errOf(await q({ grant_type: 'client_credential', appid: 'wxunknown', secret: '' }))).toBe(41004);
    expect(errOf(await q({ grant_type: 'client_credential', appid: 'wxunknown', secret: 'x' }))).toBe(40013);
    expect(errOf(await q({ grant_type: 'client_credential', appid: APPID, secret: 'wrong' }))).toBe(40125);
    expect(errOf(await q({ grant_type: 'client_credential', appid: APPID, secret: SECRET2 }))).toBe(40125);
    const msgs = await q({ grant_type: 'client_credential', appid: 'wxunknown', secret: 'x' });
    expect(msgs.errmsg).toMatch(/^invalid appid, rid: /);
  });

  it('addApp with a known appid replaces its secret', async () => {
    sim.addApp(APPID, 'new-secret');
    expect((await classic(sim, APPID, SECRET)).errcode).toBe(40125);
    tokenOf(await classic(sim, APPID, 'new-secret'));
  });
});

describe('cgi-bin/stable_token', () => {
  it('normal mode returns the same token with a decreasing remaining expires_in', async () => {
    const a = await stable(sim, stableBody());
    const t = tokenOf(a);
    expect(a.expires_in).toBe(7200);
    sim.advance(1000_000);
    const b = await stable(sim, stableBody({ force_refresh: false }));
    expect(b.access_token).toBe(t);
    expect(b.expires_in).toBe(6200);
    sim.advance(5000_000);
    const c = await stable(sim, stableBody());
    expect(c.access_token).toBe(t);
    expect(c.expires_in).toBe(1200);
  });

  it('rotates in the last 300 s; the old token lives out its life; every answer has expires_in >= 300', async () => {
    const t = tokenOf(await stable(sim, stableBody()));
    sim.advance(7200_000 - 301_000);
    const before = await stable(sim, stableBody());
    expect(before.access_token).toBe(t);
    expect(before.expires_in).toBe(301);
    sim.advance(2_000);
    const after = await stable(sim, stableBody());
    const t2 = tokenOf(after);
    expect(t2).not.toBe(t);
    expect(after.expires_in).toBe(7200);
    expect(sim.tokenState(APPID, t)).toBe('valid');
    expect((await stable(sim, stableBody())).access_token).toBe(t2);
    sim.advance(300_000);
    expect(sim.tokenState(APPID, t)).toBe('expired');
    expect(sim.tokenState(APPID, t2)).toBe('valid');
  });

  it('force_refresh rotates at once (old token invalid), then only 30 s apart', async () => {
    const t1 = tokenOf(await stable(sim, stableBody()));
    sim.advance(MIN);
    const f1 = await stable(sim, stableBody({ force_refresh: true }));
    const t2 = tokenOf(f1);
    expect(t2).not.toBe(t1);
    expect(f1.expires_in).toBe(7200);
    expect(sim.tokenState(APPID, t1)).toBe('invalid');
    expect((await ticket(sim, t1)).errcode).toBe(40001);

    sim.advance(29_000);
    const within = await stable(sim, stableBody({ force_refresh: true }));
    expect(within.access_token).toBe(t2);
    expect(within.expires_in).toBe(7200 - 29);
    expect(sim.tokenState(APPID, t2)).toBe('valid');

    sim.advance(1_000);
    const t3 = tokenOf(await stable(sim, stableBody({ force_refresh: true })));
    expect(t3).not.toBe(t2);
    expect(sim.tokenState(APPID, t2)).toBe('invalid');
  });

  it('a first force refresh with no token yet mints one', async () => {
    const r = await stable(sim, stableBody({ force_refresh: true }));
    expect(r.expires_in).toBe(7200);
    expect(sim.tokenState(APPID, tokenOf(r))).toBe('valid');
  });

  it('force refresh also kills a token still in its normal-rotation overlap', async () => {
    const t1 = tokenOf(await stable(sim, stableBody()));
    sim.advance(7200_000 - 200_000);
    const t2 = tokenOf(await stable(sim, stableBody()));
    expect(sim.tokenState(APPID, t1)).toBe('valid');
    tokenOf(await stable(sim, stableBody({ force_refresh: true })));
    expect(sim.tokenState(APPID, t1)).toBe('invalid');
    expect(sim.tokenState(APPID, t2)).toBe('invalid');
  });

  it('force refresh is capped per Beijing day (45009), skipped forces do not count, normal mode keeps working', async () => {
    // 2024-05-01 12:00 Beijing.
    await startSim({ now: Date.UTC(2024, 4, 1, 4, 0, 0), stableForceDailyQuota: 20 });
    let token = '';
    for (let i = 0; i < 20; i++) {
      token = tokenOf(await stable(sim, stableBody({ force_refresh: true })));
      // A force within 30 s neither rotates nor counts.
      expect((await stable(sim, stableBody({ force_refresh: true }))).access_token).toBe(token);
      sim.advance(30_000);
    }
    const over = await stable(sim, stableBody({ force_refresh: true }));
    expect(errOf(over)).toBe(45009);
    expect(sim.tokenState(APPID, token)).toBe('valid');
    expect((await stable(sim, stableBody())).access_token).toBe(token);
    // The other app has its own budget.
    tokenOf(
      await stable(sim, { grant_type: 'client_credential', appid: APPID2, secret: SECRET2, force_refresh: true }),
    );
    // Next Beijing day: budget back.
    sim.advance(12 * HOUR);
    const again = tokenOf(await stable(sim, stableBody({ force_refresh: true })));
    expect(again).not.toBe(token);
  });

  it('classic and stable tokens never invalidate each other', async () => {
    const s = tokenOf(await stable(sim, stableBody()));
    const c1 = tokenOf(await classic(sim, APPID, SECRET));
    for (let i = 0; i < 3; i++) await classic(sim, APPID, SECRET);
    expect(sim.tokenState(APPID, s)).toBe('valid');
    expect(sim.tokenState(APPID, c1)).toBe('invalid');
    const c = tokenOf(await classic(sim, APPID, SECRET));
    sim.advance(MIN);
    tokenOf(await stable(sim, stableBody({ force_refresh: true })));
    expect(sim.tokenState(APPID, c)).toBe('valid');
    expect(sim.tokenState(APPID, s)).toBe('invalid');
  });

  it('invalidateToken ends a token early: 40001 from then on, and normal mode issues a new one', async () => {
    const s = tokenOf(await stable(sim, stableBody()));
    const c = tokenOf(await classic(sim, APPID, SECRET));
    sim.invalidateToken(s);
    expect(sim.tokenState(APPID, s)).toBe('invalid');
    expect(sim.tokenState(APPID, c)).toBe('valid');
    expect((await ticket(sim, s)).errcode).toBe(40001);
    const next = tokenOf(await stable(sim, stableBody()));
    expect(next).not.toBe(s);
    sim.invalidateToken(c);
    expect((await ticket(sim, c)).errcode).toBe(40001);
    sim.invalidateToken('not-a-token');
  });

  it('stable_token does not spend the classic token quota', async () => {
    await startSim({ tokenDailyQuota: 1 });
    for (let i = 0; i < 3; i++) tokenOf(await stable(sim, stableBody()));
    tokenOf(await classic(sim, APPID, SECRET));
  });

  it('43002 for a non-POST, 47001 for a body that is not a JSON object, then the credential checks in order', async () => {
    expect(
      errOf(await getJson(sim, `/cgi-bin/stable_token?grant_type=client_credential&appid=${APPID}&secret=${SECRET}`)),
    ).toBe(43002);
    expect(errOf(await stable(sim, '{not json'))).toBe(47001);
    expect(errOf(await stable(sim, ''))).toBe(47001);
    expect(errOf(await stable(sim, '[1,2]'))).toBe(47001);
    expect(errOf(await stable(sim, `grant_type=client_credential&appid=${APPID}&secret=${SECRET}`))).toBe(47001);
    expect(errOf(await stable(sim, {}))).toBe(40002);
    expect(errOf(await stable(sim, { grant_type: 'client_credential' }))).toBe(41002);
    expect(errOf(await stable(sim, { grant_type: 'client_credential', appid: 'wxnope' }))).toBe(41004);
    expect(errOf(await stable(sim, { grant_type: 'client_credential', appid: 'wxnope', secret: 'x' }))).toBe(40013);
    expect(errOf(await stable(sim, { grant_type: 'client_credential', appid: APPID, secret: 'x' }))).toBe(40125);
    const m = await stable(sim, '{not json');
    expect(m.errmsg).toMatch(/^data format error, rid: /);
  });
});

describe('cgi-bin/ticket/getticket', () => {
  it('returns a ticket with errcode 0, and the same ticket with the remaining expires_in while valid', async () => {
    const t = tokenOf(await stable(sim, stableBody()));
    const a = await ticket(sim, t);
    expect(a).toMatchObject({ errcode: 0, errmsg: 'ok', expires_in: 7200 });
    expect(a.ticket).toMatch(/^[A-Za-z0-9_-]{80,90}$/);
    sim.advance(1000_000);
    const b = await ticket(sim, t);
    expect(b.ticket).toBe(a.ticket);
    expect(b.expires_in).toBe(6200);
    // Another valid token of the same app gets the same ticket.
    const c = tokenOf(await classic(sim, APPID, SECRET));
    expect((await ticket(sim, c)).ticket).toBe(a.ticket);
    // After the ticket's life a new one is minted.
    sim.advance(6200_000);
    const t2 = tokenOf(await stable(sim, stableBody()));
    const d = await ticket(sim, t2);
    expect(d.ticket).not.toBe(a.ticket);
    expect(d.expires_in).toBe(7200);
  });

  it("reissuedTicketExpiresIn 'full': the same ticket is re-issued saying 7200, yet dies at its first expiry", async () => {
    await startSim({ reissuedTicketExpiresIn: 'full' });
    const t = tokenOf(await stable(sim, stableBody()));
    const a = await ticket(sim, t);
    sim.advance(7000_000);
    const b = await ticket(sim, tokenOf(await stable(sim, stableBody())));
    expect(b).toMatchObject({ ticket: a.ticket, expires_in: 7200 });
    sim.advance(201_000);
    expect(
      sim.verifyJsapiSignature({ appid: APPID, url: 'https://e.com/', nonceStr: 'n', timestamp: 1, signature: 'x' }),
    ).toBe(false);
    const c = await ticket(sim, tokenOf(await stable(sim, stableBody())));
    expect(c.ticket).not.toBe(a.ticket);
  });

  it('tickets are per app and per type', async () => {
    const t1 = tokenOf(await stable(sim, stableBody()));
    const t2 = tokenOf(await classic(sim, APPID2, SECRET2));
    const j1 = (await ticket(sim, t1, 'jsapi')).ticket;
    const w1 = (await ticket(sim, t1, 'wx_card')).ticket;
    const j2 = (await ticket(sim, t2, 'jsapi')).ticket;
    expect(new Set([j1, w1, j2]).size).toBe(3);
    expect((await ticket(sim, t1, 'wx_card')).ticket).toBe(w1);
  });

  it('41001 without a token, 40001 unknown or superseded, 42001 expired, 40097 bad type', async () => {
    expect(errOf(await getJson(sim, '/cgi-bin/ticket/getticket?type=jsapi'))).toBe(41001);
    expect(errOf(await getJson(sim, '/cgi-bin/ticket/getticket?access_token=&type=jsapi'))).toBe(41001);
    const unknown = await ticket(sim, 'x'.repeat(136));
    expect(errOf(unknown)).toBe(40001);
    expect(unknown.errmsg).toMatch(/^invalid credential, access_token is invalid or not latest/);
    const t = tokenOf(await classic(sim, APPID, SECRET));
    expect(errOf(await ticket(sim, t, 'card'))).toBe(40097);
    expect(errOf(await getJson(sim, `/cgi-bin/ticket/getticket?access_token=${t}`))).toBe(40097);
    await classic(sim, APPID, SECRET);
    sim.advance(300_000);
    expect(errOf(await ticket(sim, t))).toBe(40001);
    // The token check comes before the type check.
    expect(errOf(await ticket(sim, t, 'card'))).toBe(40001);
    const s = tokenOf(await stable(sim, stableBody()));
    sim.advance(7200_000);
    expect(errOf(await ticket(sim, s))).toBe(42001);
  });

  it('tokenState is per app', async () => {
    const t = tokenOf(await classic(sim, APPID, SECRET));
    expect(sim.tokenState(APPID, t)).toBe('valid');
    expect(sim.tokenState(APPID2, t)).toBe('invalid');
    expect(sim.tokenState(APPID, 'nope')).toBe('invalid');
  });
});

describe('cgi-bin/get_api_domain_ip', () => {
  it("answers WeChat's IPs for a live token, 40001 for a revoked one, 42001 for an expired one, for MP and WeCom tokens alike", async () => {
    const sim = await WechatSim.start();
    try {
      sim.addApp('wx00000000000000a1', 'secret-a1');
      sim.addWorkApp('ww00000000000000c1', '1000002', 'work-secret-c1');
      const get = async (path: string) => (await fetch(`${sim.url}${path}`)).json() as Promise<Record<string, unknown>>;
      const mp = (await get('/cgi-bin/token?grant_type=client_credential&appid=wx00000000000000a1&secret=secret-a1'))
        .access_token as string;
      const work = (await get('/cgi-bin/gettoken?corpid=ww00000000000000c1&corpsecret=work-secret-c1'))
        .access_token as string;
      const probe = (t: string) => get(`/cgi-bin/get_api_domain_ip?access_token=${encodeURIComponent(t)}`);
      expect((await probe(mp)).ip_list).toBeInstanceOf(Array);
      expect(await probe(work)).toMatchObject({ errcode: 0 });
      expect(await probe('no-such-token')).toMatchObject({ errcode: 40001 });
      sim.invalidateToken(mp);
      expect(await probe(mp)).toMatchObject({ errcode: 40001 });
      sim.advance(7200_000);
      expect(await probe(work)).toMatchObject({ errcode: 42001 });
      expect(sim.calls('api_domain_ip')).toBe(5);
    } finally {
      await sim.close();
    }
  });
});

describe('cgi-bin/clear_quota/v2 (clearQuotaByAppSecret)', () => {
  const clear = async (body: Json | string, method = 'POST') =>
    (await fetch(`${sim.url}/cgi-bin/clear_quota/v2`, {
      method,
      ...(method === 'POST' ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    }).then((r) => r.json())) as Json;

  it("restarts the day's token counter; 10 clears a Beijing month, then 48006; the next month has 10 again", async () => {
    await startSim({ tokenDailyQuota: 1 });
    tokenOf(await classic(sim, APPID, SECRET));
    expect(errOf(await classic(sim, APPID, SECRET))).toBe(45009);
    expect(await clear({ appid: APPID, appsecret: SECRET })).toEqual({ errcode: 0, errmsg: 'ok' });
    tokenOf(await classic(sim, APPID, SECRET));
    for (let i = 2; i <= 10; i++) expect((await clear({ appid: APPID, appsecret: SECRET })).errcode).toBe(0);
    const limit = await clear({ appid: APPID, appsecret: SECRET });
    expect(errOf(limit)).toBe(48006);
    expect(limit.errmsg).toMatch(/^forbid to clear quota because of reaching the limit/);
    expect((await clear({ appid: APPID2, appsecret: SECRET2 })).errcode).toBe(0);
    sim.advance(32 * 24 * HOUR);
    expect((await clear({ appid: APPID, appsecret: SECRET })).errcode).toBe(0);
  });

  it('the documented refusals: GET, missing appid or appsecret, an unknown appid, a wrong secret', async () => {
    expect(errOf(await clear({}, 'GET'))).toBe(43002);
    expect(errOf(await clear({ appsecret: SECRET }))).toBe(41002);
    expect(errOf(await clear({ appid: APPID }))).toBe(41004);
    expect(errOf(await clear({ appid: 'wx0000000000000000', appsecret: SECRET }))).toBe(40013);
    expect(errOf(await clear({ appid: APPID, appsecret: SECRET2 }))).toBe(40125);
    expect(sim.calls('clear_quota')).toBe(5);
  });
});
