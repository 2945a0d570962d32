/**
 * WeCom third-party apps (suites) through the real HTTP server, WeCom being the simulator: the
 * suite_ticket and authorization pushes, the suite_access_token, the install link, authorized corps
 * served by the work.* interfaces, cancellation, and pushes that must change nothing. docs/design.md §20.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encryptFor, sha1Sorted } from '../sim/suite';
import { ADMIN, REALM, startStack, type Stack } from './support/stack';

const SUITE = {
  suiteId: 'ww0000000000000a11',
  secret: 'suite-secret-aaaaaaaaaaaaaaaaaaaaaa',
  token: 'suitecallbacktoken',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
};
const CORP = 'ww00000000000c0rp1';
const AGENTID = '1000046';
const MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

/** A deployment with one suite; `callback`: WeCom knows its URL (and pushes a first ticket). */
async function suiteStack(callback = true): Promise<Stack> {
  const s = await startStack({
    env: { WECRED_MASTER_KEY: MASTER_KEY },
    config: {
      suites: [SUITE],
      realms: [
        { ...REALM, apps: [SUITE.suiteId], interfaces: ['work.access_token', 'work.ticket', 'work.suite.install_url'] },
        { ...ADMIN, admin: true },
      ],
    },
  });
  open.push(s, s.sim);
  s.sim.addSuite(SUITE.suiteId, SUITE.secret, SUITE.token, SUITE.encodingAESKey);
  if (callback)
    expect(await s.sim.setSuiteCallback(SUITE.suiteId, pushUrl(s))).toEqual({ status: 200, body: 'success' });
  return s;
}

const pushUrl = (s: Stack) => `${s.url}/work/suite/${SUITE.suiteId}`;
const corpPara = { corpid: CORP, agentid: AGENTID };

async function ok(s: Stack, name: string, para: Record<string, unknown>, realm = REALM) {
  const { json } = await s.envelope(name, para, realm);
  expect(json).toMatchObject({ returnCode: 0 });
  return json.returnData as Record<string, any>;
}

/** A push built by hand: `xml` encrypted with `key` for `receiveId`, signed with `token` at `timestamp`. */
function craft(
  xml: string,
  opts: { token?: string; key?: string; receiveId?: string; timestamp?: number; nonce?: string } = {},
) {
  const encrypted = encryptFor(opts.key ?? SUITE.encodingAESKey, opts.receiveId ?? SUITE.suiteId, xml);
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = opts.nonce ?? String(Math.floor(Math.random() * 1e9));
  const signature = sha1Sorted([opts.token ?? SUITE.token, timestamp, nonce, encrypted]);
  return {
    query: `msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`,
    body: `<xml><ToUserName><![CDATA[${SUITE.suiteId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`,
  };
}

async function send(s: Stack, push: { query: string; body: string }) {
  const res = await fetch(`${pushUrl(s)}?${push.query}`, { method: 'POST', body: push.body });
  return { status: res.status, text: await res.text() };
}

const ticketXml = (ticket: string, at = Math.floor(Date.now() / 1000)) =>
  `<xml><SuiteId><![CDATA[${SUITE.suiteId}]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType><TimeStamp>${at}</TimeStamp><SuiteTicket><![CDATA[${ticket}]]></SuiteTicket></xml>`;

describe('a suite authorized by a corp', () => {
  it('create_auth: the permanent code is fetched once and sealed; the corp is served by work.* with its agentid', async () => {
    const s = await suiteStack();
    const { answer } = await s.sim.installSuite(SUITE.suiteId, CORP, { agentid: AGENTID });
    expect(answer).toEqual({ status: 200, body: 'success' });
    expect(s.sim.calls('suite_token')).toBe(1);
    expect(s.sim.calls('suite_permanent_code')).toBe(1);

    const t = await ok(s, 'work.access_token', corpPara);
    expect(t).toMatchObject({ corpid: CORP, agentid: AGENTID });
    expect(t.expires_in).toBeGreaterThan(7190); // WeCom issued it at the install, a moment ago
    expect(s.sim.workTokenState(CORP, AGENTID, t.access_token)).toBe('valid');
    expect(s.sim.calls('suite_corp_token', CORP)).toBe(1);
    expect(s.sim.calls('suite_token')).toBe(1); // the suite token was reused

    const url = 'https://app.example.com/page?x=1';
    const { json } = await s.envelope('work.jsapi.config', { ...corpPara, url }, null);
    expect(json.returnCode).toBe(0);
    const { config: c, agentConfig: ac } = json.returnData;
    expect(c.appId).toBe(CORP);
    for (const [kind, p] of [
      ['jsapi', c],
      ['agent_config', ac],
    ] as const)
      expect(s.sim.verifyWorkSignature({ corpid: CORP, agentid: AGENTID, kind, url, ...p })).toBe(true);
    expect(s.sim.calls('suite_corp_token', CORP)).toBe(1);

    const code = s.sim.suitePermanentCode(SUITE.suiteId, CORP)!;
    const record = await s.store.getRecord(`suite:${SUITE.suiteId}:corp:${CORP}`, s.sim.now());
    expect(record).not.toBeNull();
    expect(record).not.toContain(code);
    expect(JSON.stringify(s.logs)).not.toContain(code);
    expect(s.logs.some((l) => l.event === 'suite_authorized' && l.corpid === CORP)).toBe(true);

    // status lists the suite's token and the corp's token and tickets
    const { json: st } = await s.envelope('status', {}, ADMIN);
    const keys = st.returnData.credentials.map((c: any) => c.key);
    for (const key of [
      `suite:${SUITE.suiteId}:token`,
      `work:${CORP}:suite:${SUITE.suiteId}:token`,
      `work:${CORP}:${AGENTID}:ticket`,
      `work:${CORP}:${AGENTID}:agent_ticket`,
    ])
      expect(keys).toContain(key);
    expect(JSON.stringify(st)).not.toContain(code);

    // change_auth is answered and changes nothing the corp is served with
    expect(await s.sim.changeSuiteAuth(SUITE.suiteId, CORP)).toEqual({ status: 200, body: 'success' });
    expect((await ok(s, 'work.access_token', corpPara)).access_token).toBe(t.access_token);
  });

  it('cancel_auth: the corp is refused with 7303 (as an authorizer of a component is), its token is dropped, WeCom is not asked again', async () => {
    const s = await suiteStack();
    await s.sim.installSuite(SUITE.suiteId, CORP, { agentid: AGENTID });
    await ok(s, 'work.access_token', corpPara);
    expect(await s.sim.cancelSuiteAuth(SUITE.suiteId, CORP)).toEqual({ status: 200, body: 'success' });
    const calls = s.sim.calls('suite_corp_token');
    for (const name of ['work.access_token', 'work.ticket']) {
      const { json } = await s.envelope(name, corpPara, REALM);
      expect(json).toMatchObject({ returnCode: 7303, error: { code: 'app_unauthorized' } });
      expect(json.error.message).toMatch(/cancelled its authorization/);
    }
    expect(s.sim.calls('suite_corp_token')).toBe(calls);
    const { json: st } = await s.envelope('status', {}, ADMIN);
    expect(st.returnData.credentials.map((c: any) => c.key)).not.toContain(`work:${CORP}:suite:${SUITE.suiteId}:token`);
    // installing again makes it usable again
    await s.sim.installSuite(SUITE.suiteId, CORP, { agentid: AGENTID });
    const t = await ok(s, 'work.access_token', corpPara);
    expect(s.sim.workTokenState(CORP, AGENTID, t.access_token)).toBe('valid');
  });

  it("a corp or agent the suite was not authorized for is unknown (1012); a realm may use a suite's corps by naming the suite", async () => {
    const s = await suiteStack();
    await s.sim.installSuite(SUITE.suiteId, CORP, { agentid: AGENTID });
    for (const para of [
      { corpid: CORP, agentid: '1000047' },
      { corpid: 'ww00000000000c0rp2', agentid: AGENTID },
    ]) {
      expect((await s.envelope('work.access_token', para, ADMIN)).json.returnCode).toBe(1012);
      // the biz realm names the suite only: another corp is not its to ask for
      expect((await s.envelope('work.access_token', para, REALM)).json.returnCode).toBe(7005);
    }
    expect(s.sim.calls('suite_corp_token')).toBe(0);
  });
});

describe('the suite_access_token and the install link', () => {
  it("work.suite.install_url: WeCom's install page with a pre-auth code shared while it lives", async () => {
    const s = await suiteStack();
    const para = { suite_id: SUITE.suiteId, redirect_uri: 'https://app.example.com/installed', state: 'abc123' };
    const a = await ok(s, 'work.suite.install_url', para);
    const url = new URL(a.url);
    expect(url.pathname).toBe('/3rdapp/install');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      suite_id: SUITE.suiteId,
      redirect_uri: para.redirect_uri,
      state: 'abc123',
    });
    expect(url.searchParams.get('pre_auth_code')).toMatch(/^[\w-]{20,}$/);
    expect(a.expires_in).toBeGreaterThan(1190);
    expect(a.expires_in).toBeLessThanOrEqual(1200);
    const b = await ok(s, 'work.suite.install_url', para);
    expect(new URL(b.url).searchParams.get('pre_auth_code')).toBe(url.searchParams.get('pre_auth_code'));
    expect(s.sim.calls('suite_pre_auth_code')).toBe(1);
    expect(s.sim.calls('suite_token')).toBe(1);
    // a corp admin follows the link: WeCom pushes create_auth and sends the browser back with the auth code
    url.searchParams.set('sim_corp', CORP);
    url.searchParams.set('sim_agentid', AGENTID);
    const consent = await fetch(url, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(para.redirect_uri);
    expect(back.searchParams.get('state')).toBe('abc123');
    expect(back.searchParams.get('auth_code')).toMatch(/^[\w-]{20,}$/);
    const t = await ok(s, 'work.access_token', corpPara, ADMIN);
    expect(s.sim.workTokenState(CORP, AGENTID, t.access_token)).toBe('valid');
    for (const bad of [{ redirect_uri: 'not a url' }, { state: 'has space' }, { suite_id: 'ww9999999999999999' }]) {
      const { json } = await s.envelope('work.suite.install_url', { ...para, ...bad }, REALM);
      expect([1003, 1012]).toContain(json.returnCode);
    }
  });

  it('no ticket pushed yet: 7304, and no call to WeCom', async () => {
    const s = await suiteStack(false);
    const { json } = await s.envelope(
      'work.suite.install_url',
      { suite_id: SUITE.suiteId, redirect_uri: 'https://app.example.com/' },
      REALM,
    );
    expect(json).toMatchObject({ returnCode: 7304, error: { code: 'no_pushed_ticket' } });
    expect(json.error.message).toMatch(/no suite_ticket of suite .* has arrived yet/);
    expect(s.sim.calls('suite_token')).toBe(0);
    // the first ticket ends the refusal at once
    await s.sim.setSuiteCallback(SUITE.suiteId, pushUrl(s));
    await ok(s, 'work.suite.install_url', { suite_id: SUITE.suiteId, redirect_uri: 'https://app.example.com/' });
    expect(s.sim.calls('suite_token')).toBe(1);
  });

  it('WeCom pushes a new ticket every 10 minutes of its clock', async () => {
    const s = await suiteStack();
    const first = await s.store.getRecord(`suite:${SUITE.suiteId}:ticket`, s.sim.now());
    s.sim.advance(10 * 60_000);
    await expect
      .poll(() => s.store.getRecord(`suite:${SUITE.suiteId}:ticket`, s.sim.now()), { timeout: 3000, interval: 50 })
      .not.toBe(first);
  });
});

describe('pushes to the suite URL', () => {
  it('GET: the URL check answers the decrypted echostr; a wrong signature is refused', async () => {
    const s = await suiteStack(false);
    const push = craft('1616140317555161061');
    const echostr = /<Encrypt><!\[CDATA\[(.*)\]\]><\/Encrypt>/.exec(push.body)![1]!;
    const q = `${push.query}&echostr=${encodeURIComponent(echostr)}`;
    const good = await fetch(`${pushUrl(s)}?${q}`);
    expect([good.status, await good.text()]).toEqual([200, '1616140317555161061']);
    const bad = await fetch(`${pushUrl(s)}?${q.replace(/msg_signature=[0-9a-f]/, 'msg_signature=x')}`);
    expect(bad.status).toBe(401);
    expect((await fetch(`${s.url}/work/suite/ww9999999999999999?${q}`)).status).toBe(404);
  });

  it('forged, undecryptable, misaddressed, stale or replayed pushes are refused or ignored, and change nothing', async () => {
    const s = await suiteStack();
    const ticketKey = `suite:${SUITE.suiteId}:ticket`;
    const before = await s.store.getRecord(ticketKey, s.sim.now());
    const forged = ticketXml('FORGED-TICKET');
    const otherKey = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg';
    expect((await send(s, craft(forged, { token: 'not-the-token' }))).status).toBe(401);
    expect(await send(s, craft(forged, { key: otherKey }))).toMatchObject({ status: 400 });
    expect((await send(s, craft(forged, { receiveId: 'ww0000000000000b22' }))).status).toBe(400);
    expect((await send(s, craft(forged, { timestamp: Math.floor(Date.now() / 1000) - 400 }))).status).toBe(401);
    const garbage = craft(forged);
    expect((await send(s, { ...garbage, body: '<xml><Encrypt>@@@</Encrypt></xml>' })).status).toBe(401);
    expect((await send(s, { query: garbage.query, body: 'not xml' })).status).toBe(400);
    expect((await send(s, { query: '', body: garbage.body })).status).toBe(401); // unsigned
    expect((await send(s, { ...garbage, body: `${garbage.body}${' '.repeat(70_000)}` })).status).toBe(413);
    expect(await s.store.getRecord(ticketKey, s.sim.now())).toBe(before);

    // A cancel_auth captured on the way, replayed after the corp installed again: answered, ignored.
    await s.sim.installSuite(SUITE.suiteId, CORP, { agentid: AGENTID });
    const cancelXml = `<xml><SuiteId><![CDATA[${SUITE.suiteId}]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType><TimeStamp>${Math.floor(Date.now() / 1000)}</TimeStamp><AuthCorpId><![CDATA[${CORP}]]></AuthCorpId></xml>`;
    const cancel = craft(cancelXml);
    expect(await send(s, cancel)).toEqual({ status: 200, text: 'success' });
    expect((await s.envelope('work.access_token', corpPara, REALM)).json.returnCode).toBe(7303);
    await s.sim.installSuite(SUITE.suiteId, CORP, { agentid: AGENTID });
    expect(await send(s, cancel)).toEqual({ status: 200, text: 'success' });
    const t = await ok(s, 'work.access_token', corpPara);
    expect(s.sim.workTokenState(CORP, AGENTID, t.access_token)).toBe('valid');
    // the same event under a new nonce is the same event (InfoType, TimeStamp, AuthCorpId): still ignored
    expect(await send(s, craft(cancelXml))).toEqual({ status: 200, text: 'success' });
    expect((await s.envelope('work.access_token', corpPara, REALM)).json.returnCode).toBe(0);
  });
});

describe('without WECRED_MASTER_KEY', () => {
  it('create_auth is refused (502, so WeCom pushes it again) before the auth code is spent', async () => {
    const s = await startStack({ config: { suites: [SUITE] } });
    open.push(s, s.sim);
    s.sim.addSuite(SUITE.suiteId, SUITE.secret, SUITE.token, SUITE.encodingAESKey);
    await s.sim.setSuiteCallback(SUITE.suiteId, pushUrl(s));
    const { answer } = await s.sim.installSuite(SUITE.suiteId, CORP, { agentid: AGENTID });
    expect(answer.status).toBe(502);
    expect(answer.body).toMatch(/WECRED_MASTER_KEY/);
    expect(s.sim.calls('suite_permanent_code')).toBe(0);
  });
});
