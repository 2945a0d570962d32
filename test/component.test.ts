/**
 * Third-party platforms through the real HTTP server and the simulator: verify-ticket pushes, the
 * component token, the authorization flow (the test plays the administrator's browser), the
 * authorizer's credentials in the existing interfaces, and cancellation. docs/design.md §19.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { verifyComponentResult } from '../lib/third-party/component-flow';
import { signedPush } from '../sim/component';
import { AUTHORIZER, clickThrough, COMPONENT, PARTNER, startComponentStack } from './support/component-stack';
import { OAUTH_SECRET } from './support/oauth-stack';
import { ADMIN, MP, REALM, type Stack } from './support/stack';

let stack: Stack;
afterEach(() => stack?.close());

const LANDING = 'https://app.example.com/landing?from=install';
const PAGE = 'https://app.example.com/page.html';

/** The install link's PC page walked through to the landing page; the signed result it carries. */
async function authorize(s: Stack, state?: string) {
  const links = await s.envelope(
    'component.authorize_url',
    { redirect_uri: LANDING, ...(state ? { state } : {}) },
    PARTNER,
  );
  expect(links.json.returnCode).toBe(0);
  const done = await clickThrough(links.json.returnData.pc_url);
  expect(done, done.body).toMatchObject({ status: 302 });
  const landing = new URL(done.location!);
  const checked = verifyComponentResult(landing.searchParams.get('wecred_component')!, OAUTH_SECRET, s.sim.now());
  return { landing, checked };
}

async function jsapiConfig(s: Stack, appid: string) {
  return s.envelope('jsapi.config', { appid, url: PAGE }, null);
}

describe('the 授权事件接收 URL', () => {
  it('keeps the verify ticket WeChat pushes every 10 minutes, and fetches the component token with it once', async () => {
    stack = await startComponentStack({ wire: false });
    // No ticket yet: a clear refusal, and nothing asked of WeChat.
    stack.sim.addComponent(COMPONENT.appid, COMPONENT);
    const early = await stack.envelope('component.authorize_url', { redirect_uri: LANDING }, PARTNER);
    expect(early.json.returnCode).toBe(7304);
    expect(early.json.returnMessage).toContain('component_verify_ticket');
    expect(stack.sim.calls('component_token')).toBe(0);

    await stack.sim.componentPushUrl(COMPONENT.appid, `${stack.url}/wechat/component/${COMPONENT.appid}`);
    await stack.sim.componentPushesSettled();
    const first = stack.sim.latestVerifyTicket(COMPONENT.appid);
    expect(first).toBeDefined();
    const ok = await stack.envelope('component.authorize_url', { redirect_uri: LANDING }, PARTNER);
    expect(ok.json.returnCode).toBe(0);
    expect(ok.json.returnData.pc_url).toContain('/cgi-bin/componentloginpage?component_appid=');
    expect(ok.json.returnData.mobile_url).toMatch(
      /\/wxaopen\/safe\/bindcomponent\?action=bindcomponent&no_scan=1&.*#wechat_redirect$/,
    );
    expect(stack.sim.calls('component_token')).toBe(1);
    expect(stack.sim.calls('component_preauthcode')).toBe(1);

    // Ten minutes on WeChat's clock: another ticket arrives by itself; the token is reused.
    stack.sim.advance(10 * 60_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stack.sim.componentPushesSettled();
    expect(stack.sim.latestVerifyTicket(COMPONENT.appid)).not.toBe(first);
    await stack.envelope('component.authorize_url', { redirect_uri: LANDING }, PARTNER);
    expect(stack.sim.calls('component_token')).toBe(1);
  });

  it('refuses forged, replayed, stale and undecryptable pushes, and they change nothing', async () => {
    stack = await startComponentStack();
    await stack.sim.componentPushesSettled();
    const url = `${stack.url}/wechat/component/${COMPONENT.appid}`;
    const status = async () => (await stack.envelope('component.authorizers', {}, ADMIN)).json.returnData;
    const before = await status();
    const now = Math.floor(stack.sim.now() / 1000);
    const notice = (created: number, ticket: string) =>
      `<xml><AppId>${COMPONENT.appid}</AppId><CreateTime>${created}</CreateTime><InfoType>component_verify_ticket</InfoType><ComponentVerifyTicket>${ticket}</ComponentVerifyTicket></xml>`;
    const send = (p: { query: string; body: string }) =>
      fetch(`${url}?${p.query}`, { method: 'POST', body: p.body }).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      }));

    // Forged: signed with another token; encrypted with another key; altered after signing.
    const forged = signedPush(
      { token: 'not-the-token', aesKey: COMPONENT.encodingAESKey },
      COMPONENT.appid,
      notice(now + 5, 'forged'),
      now,
    );
    expect((await send(forged)).status).toBe(401);
    const otherKey = signedPush(
      { token: COMPONENT.token, aesKey: 'Z'.repeat(43) },
      COMPONENT.appid,
      notice(now + 5, 'forged'),
      now,
    );
    expect((await send(otherKey)).status).toBe(400);
    const good = signedPush(
      { token: COMPONENT.token, aesKey: COMPONENT.encodingAESKey },
      COMPONENT.appid,
      notice(now + 5, 'one'),
      now,
    );
    // its first character changed (to one it is not: the ciphertext is random)
    const altered = {
      ...good,
      body: good.body.replace(
        /<Encrypt><!\[CDATA\[(.)/,
        (_m, c: string) => `<Encrypt><![CDATA[${c === 'A' ? 'B' : 'A'}`,
      ),
    };
    expect((await send(altered)).status).toBe(401);
    // For another component (its appid inside): refused on decryption.
    const foreign = signedPush(
      { token: COMPONENT.token, aesKey: COMPONENT.encodingAESKey },
      'wxffffffffffffffff',
      notice(now + 5, 'x'),
      now,
    );
    expect((await send(foreign)).status).toBe(400);
    // Stale: outside ±300 s.
    const stale = signedPush(
      { token: COMPONENT.token, aesKey: COMPONENT.encodingAESKey },
      COMPONENT.appid,
      notice(now - 400, 'old'),
      now - 400,
    );
    expect((await send(stale)).status).toBe(401);
    // Unsigned, or signed in part.
    expect((await fetch(url, { method: 'POST', body: good.body })).status).toBe(401);
    for (const drop of ['msg_signature', 'timestamp', 'nonce']) {
      const params = new URLSearchParams(good.query);
      params.set(drop, '');
      const r = await fetch(`${url}?${params}`, { method: 'POST', body: good.body });
      expect(r.status, drop).toBe(401);
      expect(((await r.json()) as any).error).toMatchObject({
        code: 'unsigned',
        message: 'the msg_signature, timestamp and nonce query parameters are required',
      });
    }
    // For a component this deployment does not have.
    const unknown = await fetch(`${stack.url}/wechat/component/wxeeeeeeeeeeeeeeee?${good.query}`, {
      method: 'POST',
      body: good.body,
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.message).toBe(
      'wxeeeeeeeeeeeeeeee is not a configured component (config.components)',
    );
    expect(await status()).toEqual(before);

    // A good one is kept; its replay is answered as handled and changes nothing.
    expect(await send(good)).toEqual({ status: 200, body: 'success' });
    expect((await fetch(`${url}?${good.query}`, { method: 'POST', body: good.body })).headers.get('content-type')).toBe(
      'text/plain; charset=utf-8',
    );
    const kept = await status();
    expect(kept.components[0].verify_ticket_at).toBe(now + 5);
    expect(await send(good)).toEqual({ status: 200, body: 'success' });
    expect(stack.logs.filter((l) => l.event === 'push_duplicate')).toHaveLength(2); // both replays
    // An older ticket pushed later loses to the newer one (the latest CreateTime wins).
    const older = signedPush(
      { token: COMPONENT.token, aesKey: COMPONENT.encodingAESKey },
      COMPONENT.appid,
      notice(now + 1, 'older'),
      now,
    );
    expect(await send(older)).toEqual({ status: 200, body: 'success' });
    expect((await status()).components[0].verify_ticket_at).toBe(now + 5);
    // A notice naming another component inside a good envelope, and one of a kind not handled: answered, logged, nothing changed.
    const push = (xml: string, nonce: string) =>
      signedPush({ token: COMPONENT.token, aesKey: COMPONENT.encodingAESKey }, COMPONENT.appid, xml, now, nonce);
    const misnamed = notice(now + 9, 'misnamed').replace(COMPONENT.appid, 'wxffffffffffffffff');
    expect(await send(push(misnamed, 'misnamed'))).toEqual({ status: 200, body: 'success' });
    const other = `<xml><AppId>${COMPONENT.appid}</AppId><CreateTime>${now + 9}</CreateTime><InfoType>notify_third_fasteregister</InfoType></xml>`;
    expect(await send(push(other, 'other'))).toEqual({ status: 200, body: 'success' });
    expect((await status()).components[0].verify_ticket_at).toBe(now + 5);
    expect(stack.logs.filter((l) => l.event === 'component_notice_unreadable')).toEqual([
      expect.objectContaining({ component: COMPONENT.appid }),
    ]);
    expect(stack.logs.filter((l) => l.event === 'component_notice')).toEqual([
      expect.objectContaining({ component: COMPONENT.appid, info: 'notify_third_fasteregister' }),
    ]);
    // Nothing secret in the logs.
    expect(JSON.stringify(stack.logs)).not.toContain(stack.sim.latestVerifyTicket(COMPONENT.appid)!);
  });
});

describe('the authorization flow', () => {
  it('ends on the allow-listed landing page, and the authorizer then works like a configured app', async () => {
    stack = await startComponentStack();
    await stack.sim.componentPushesSettled();
    const { landing, checked } = await authorize(stack, 'abc123');
    expect(landing.origin + landing.pathname).toBe('https://app.example.com/landing');
    expect(landing.searchParams.get('state')).toBe('abc123');
    expect(checked).toMatchObject({
      ok: true,
      result: { component_appid: COMPONENT.appid, authorizer_appid: AUTHORIZER, state: 'abc123' },
    });
    expect(stack.sim.calls('component_query_auth')).toBe(1);

    // jsapi.config, ticket, access_token and query for the authorizer, as for a configured app.
    const config = await jsapiConfig(stack, AUTHORIZER);
    expect(config.json.returnCode).toBe(0);
    const d = config.json.returnData;
    expect(d.appId).toBe(AUTHORIZER);
    expect(stack.sim.verifyJsapiSignature({ appid: AUTHORIZER, url: PAGE, ...d })).toBe(true);
    expect(stack.sim.calls('component_authorizer_token')).toBe(1);
    const token = await stack.envelope('access_token', { appid: AUTHORIZER }, PARTNER);
    expect(token.json.returnCode).toBe(0);
    expect(stack.sim.tokenState(AUTHORIZER, token.json.returnData.access_token)).toBe('valid');
    const route = await stack.post(`/jsapi/${AUTHORIZER}/config`, { url: PAGE });
    expect(route.status).toBe(200);
    const qr = await stack.envelope('qrcode.create', { appid: AUTHORIZER, scene: 7 }, PARTNER);
    expect(qr.json.returnCode).toBe(0);

    // Realm scopes: a realm listing neither the appid nor its component may not use it.
    const denied = await stack.envelope('access_token', { appid: AUTHORIZER }, REALM);
    expect(denied.json.returnCode).toBe(7005);

    // The admin list shows it with its state; never a refresh token.
    const listed = await stack.envelope('component.authorizers', {}, ADMIN);
    expect(listed.json.returnData.authorizers).toMatchObject([
      { authorizer_appid: AUTHORIZER, component_appid: COMPONENT.appid, state: 'authorized', token: { fresh: true } },
    ]);
    const secrets = stack.sim.validRefreshTokens(COMPONENT.appid, AUTHORIZER);
    for (const s of secrets) {
      expect(JSON.stringify(listed.json)).not.toContain(s);
      expect(JSON.stringify(stack.logs)).not.toContain(s);
    }
    // Sealed at rest.
    const record = await stack.store.getRecord(`authorizer:${AUTHORIZER}`, stack.sim.now());
    for (const s of secrets) expect(record).not.toContain(s);
  });

  it('refuses a landing page outside oauth.redirects, a used or altered link, and a refusal on the consent page', async () => {
    stack = await startComponentStack();
    await stack.sim.componentPushesSettled();
    const bad = await stack.envelope('component.authorize_url', { redirect_uri: 'https://evil.example.net/' }, PARTNER);
    expect(bad.json.returnCode).toBe(1003);
    expect(
      (await stack.envelope('component.authorize_url', { redirect_uri: LANDING, auth_type: 9 }, PARTNER)).json
        .returnCode,
    ).toBe(1003);
    // A realm without the interface.
    expect((await stack.envelope('component.authorize_url', { redirect_uri: LANDING }, REALM)).json.returnCode).toBe(
      7006,
    );

    const links = (await stack.envelope('component.authorize_url', { redirect_uri: LANDING }, PARTNER)).json.returnData;
    const denied = await clickThrough(links.pc_url, 'deny');
    expect(denied.location).toBeNull();
    // The page is single use: its pre_auth_code is spent.
    const again = await clickThrough(links.pc_url);
    expect(again.body).toContain('pre_auth_code');

    const fresh = (await stack.envelope('component.authorize_url', { redirect_uri: LANDING }, PARTNER)).json.returnData;
    const redirect = new URL(new URL(fresh.pc_url).searchParams.get('redirect_uri')!);
    const altered = `${redirect.origin}${redirect.pathname}?link=${redirect.searchParams.get('link')!.slice(0, -2)}xx&auth_code=x`;
    expect((await fetch(altered, { redirect: 'manual' })).status).toBe(400);
    const done = await clickThrough(fresh.pc_url);
    expect(done.status).toBe(302);

    // Strangers' input has limits, and each refusal is a structured error.
    expect(
      (await stack.envelope('component.authorize_url', { redirect_uri: LANDING, auth_type: true }, PARTNER)).json
        .returnCode,
    ).toBe(1003);
    const callback = `${stack.url}/component/${COMPONENT.appid}/callback`;
    const noLink = await fetch(`${callback}?auth_code=x`, { redirect: 'manual' });
    expect(noLink.status).toBe(400);
    expect(await noLink.json()).toMatchObject({ error: { code: 'bad_para' } });
    const longCode = `${redirect.origin}${redirect.pathname}?link=${redirect.searchParams.get('link')}&auth_code=${'x'.repeat(600)}`;
    expect((await fetch(longCode, { redirect: 'manual' })).status).toBe(400);
    expect((await fetch(`${stack.url}/component/wxffffffffffffffff/callback`, { redirect: 'manual' })).status).toBe(
      404,
    );
    expect(
      (await fetch(`${stack.url}/wechat/component/wxffffffffffffffff`, { method: 'POST', body: '<xml/>' })).status,
    ).toBe(404);
  });
});

describe('a second authorization (updateauthorized)', () => {
  it('completes once more, keeps the appid usable and its credentials fresh', async () => {
    stack = await startComponentStack();
    await stack.sim.componentPushesSettled();
    await authorize(stack);
    const first = await stack.envelope('access_token', { appid: AUTHORIZER }, PARTNER);
    const again = await authorize(stack, 'again');
    expect(again.checked).toMatchObject({ ok: true, result: { authorizer_appid: AUTHORIZER, state: 'again' } });
    expect(stack.logs.filter((l) => l.event === 'component_authorized')).toHaveLength(2);
    // Its token was dropped with the new authorization: fetched anew, and WeChat takes it.
    const token = await stack.envelope('access_token', { appid: AUTHORIZER }, PARTNER);
    expect(token.json.returnData.access_token).not.toBe(first.json.returnData.access_token);
    expect(stack.sim.tokenState(AUTHORIZER, token.json.returnData.access_token)).toBe('valid');
  });

  it('is completed by the push alone when the browser never comes back to the callback', async () => {
    stack = await startComponentStack();
    await stack.sim.componentPushesSettled();
    await authorize(stack);
    const first = await stack.envelope('access_token', { appid: AUTHORIZER }, PARTNER);
    const links = await stack.envelope('component.authorize_url', { redirect_uri: LANDING }, PARTNER);
    expect((await clickThrough(links.json.returnData.pc_url, 'allow', true)).status).toBe(302);
    await stack.sim.componentPushesSettled();
    expect(stack.logs.filter((l) => l.event === 'component_authorized')).toHaveLength(2);
    const token = await stack.envelope('access_token', { appid: AUTHORIZER }, PARTNER);
    expect(token.json.returnData.access_token).not.toBe(first.json.returnData.access_token);
  });
});

describe('cancellation', () => {
  it('makes the appid unusable with a clear returnCode, until it authorizes again', async () => {
    stack = await startComponentStack();
    await stack.sim.componentPushesSettled();
    await authorize(stack);
    expect((await jsapiConfig(stack, AUTHORIZER)).json.returnCode).toBe(0);

    const pushed = await stack.sim.componentUnauthorize(COMPONENT.appid, AUTHORIZER);
    expect(pushed).toEqual({ status: 200, body: 'success' });
    for (const call of [
      () => jsapiConfig(stack, AUTHORIZER),
      () => stack.envelope('access_token', { appid: AUTHORIZER }, PARTNER),
      () => stack.envelope('ticket', { appid: AUTHORIZER }, PARTNER),
    ]) {
      const res = await call();
      expect(res.json.returnCode).toBe(7303);
      expect(res.json.returnMessage).toContain('cancelled its authorization');
    }
    const route = await stack.post(`/jsapi/${AUTHORIZER}/config`, { url: PAGE });
    expect(route.status).toBe(403);
    const listed = await stack.envelope('component.authorizers', {}, ADMIN);
    expect(listed.json.returnData.authorizers[0]).toMatchObject({ state: 'unauthorized', token: null });

    // Authorizing again brings it back, with new credentials.
    await authorize(stack);
    const back = await jsapiConfig(stack, AUTHORIZER);
    expect(back.json.returnCode).toBe(0);
    expect(stack.sim.verifyJsapiSignature({ appid: AUTHORIZER, url: PAGE, ...back.json.returnData })).toBe(true);
  });

  it('an authorization cancelled while our push URL was down is learnt from WeChat (61003) on the next refresh', async () => {
    stack = await startComponentStack();
    await stack.sim.componentPushesSettled();
    await authorize(stack);
    await stack.sim.componentPushUrl(COMPONENT.appid, 'http://127.0.0.1:9/down');
    await stack.sim.componentUnauthorize(COMPONENT.appid, AUTHORIZER);
    const res = await stack.envelope('access_token', { appid: AUTHORIZER }, PARTNER);
    expect(res.json.returnCode).toBe(7303);
    expect((await stack.envelope('component.authorizers', {}, ADMIN)).json.returnData.authorizers[0].state).toBe(
      'unauthorized',
    );
  });

  it('leaves configured apps alone', async () => {
    stack = await startComponentStack();
    const res = await stack.envelope('access_token', { appid: MP.appid }, REALM);
    expect(res.json.returnCode).toBe(0);
    expect((await stack.envelope('access_token', { appid: 'wxb0b0b0b0b0b0b0b0' }, PARTNER)).json.returnCode).toBe(1012);
  });
});
