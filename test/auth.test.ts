import { afterEach, describe, expect, it } from 'vitest';
import { realmSignature } from '../lib/crypto/realm';
import { createServerlessHandler } from '../lib/platform/serverless';
import { loadEvent } from './support/events';
import { ADMIN, MP, MP2, REALM, signedHeaders, startStack, type Stack } from './support/stack';

let stack: Stack;
afterEach(() => stack?.close());

const envelopeBody = (interfaceName: string, para: unknown) =>
  JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } });

describe('signed envelope calls', () => {
  it('serve access_token and tickets in the Wafer shape with exp in unix seconds', async () => {
    stack = await startStack();
    const now = Math.floor(stack.sim.now() / 1000);
    const res = await stack.envelope('access_token', { appid: MP.appid });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ version: 1, componentName: 'MA', returnCode: 0, returnData: { appid: MP.appid } });
    const d = res.json.returnData;
    expect(stack.sim.tokenState(MP.appid, d.access_token)).toBe('valid');
    expect(d.exp).toBeGreaterThanOrEqual(now + 7190);
    expect(d.exp).toBeLessThanOrEqual(now + 7201);
    // the sim clock runs in real time: a second may tick between our `now` and the server's
    expect(d.exp - d.expires_in).toBeGreaterThanOrEqual(now);
    expect(d.exp - d.expires_in).toBeLessThanOrEqual(now + 1);

    const alias = await stack.envelope('qcloud.mimi.access_token', { appid: MP.appid });
    expect(alias.json.returnData.access_token).toBe(d.access_token);

    const ticket = await stack.envelope('ticket', { appid: MP.appid, type: 'wx_card' });
    expect(ticket.json.returnData).toMatchObject({ appid: MP.appid, type: 'wx_card' });
    expect(ticket.json.returnData.ticket).toMatch(/\S{20,}/);
    // appid may come beside para, as Wafer clients send it
    const beside = await stack.post(
      ...signedBody(envelopeBody('access_token', {}).replace('"para":{}', `"para":{},"appid":"${MP2.appid}"`)),
    );
    expect(beside.json.returnData.appid).toBe(MP2.appid);
  });

  it('refuses unsigned, wrongly signed, stale, replayed and out-of-scope calls with distinct returnCodes and no token', async () => {
    stack = await startStack({
      config: {
        realms: [
          { ...REALM, apps: [MP2.appid], interfaces: ['access_token'] },
          { ...ADMIN, admin: true },
        ],
      },
    });
    const body = envelopeBody('access_token', { appid: MP2.appid });
    const now = Math.floor(stack.sim.now() / 1000);
    const replayed = signedHeaders(REALM, '/', body, now, 'nonce-used-once');
    const cases: [string, Record<string, string>, string, number][] = [
      ['unsigned', {}, body, 7001],
      ['wrong secret', signedHeaders({ key: REALM.key, secret: 'not-the-secret-0000' }, '/', body, now), body, 7002],
      ['unknown realm', signedHeaders({ key: 'nobody', secret: REALM.secret }, '/', body, now), body, 7002],
      ['body changed after signing', signedHeaders(REALM, '/', body, now), body.replace(MP2.appid, MP.appid), 7002],
      ['timestamp too old', signedHeaders(REALM, '/', body, now - 310), body, 7003],
      ['timestamp too new', signedHeaders(REALM, '/', body, now + 310), body, 7003],
      ['first use of a nonce', replayed, body, 0],
      ['replayed nonce', replayed, body, 7004],
      [
        'app outside the realm',
        signedHeaders(REALM, '/', envelopeBody('access_token', { appid: MP.appid }), now),
        envelopeBody('access_token', { appid: MP.appid }),
        7005,
      ],
      [
        'interface outside the realm',
        signedHeaders(REALM, '/', envelopeBody('ticket', { appid: MP2.appid }), now),
        envelopeBody('ticket', { appid: MP2.appid }),
        7006,
      ],
      [
        'admin interface for a plain realm',
        signedHeaders(REALM, '/', envelopeBody('status', {}), now),
        envelopeBody('status', {}),
        7006,
      ],
    ];
    const seen = new Set<number>();
    for (const [what, headers, sent, code] of cases) {
      const res = await stack.post('/', sent, headers);
      expect([what, res.status, res.json.returnCode]).toEqual([what, 200, code]);
      if (code !== 0) {
        expect(res.json.returnData).toBe('');
        expect(JSON.stringify(res.json)).not.toMatch(/access_token"\s*:\s*"/);
        seen.add(code);
      }
    }
    expect(seen.size).toBe(6);
  });

  it('lets an admin realm read status, with per-credential fetch counts against budgets', async () => {
    stack = await startStack();
    await stack.envelope('access_token', { appid: MP2.appid });
    const res = await stack.envelope('status', {}, ADMIN);
    expect(res.json.returnCode).toBe(0);
    const row = res.json.returnData.credentials.find((c: { key: string }) => c.key === `mp:${MP2.appid}:token`);
    expect(row).toMatchObject({
      present: true,
      fresh: true,
      version: 1,
      today: { fetches: 1, refresh: { total: 1, byCaller: { biz: 1 } }, dailyBudget: 2000 },
    });
    expect(JSON.stringify(res.json)).not.toContain(
      (await stack.envelope('access_token', { appid: MP2.appid })).json.returnData.access_token,
    );
  });

  it('trustGateway skips realm checks', async () => {
    stack = await startStack({ config: { trustGateway: true } });
    const res = await stack.envelope('access_token', { appid: MP.appid }, null);
    expect(res.json.returnCode).toBe(0);
  });
});

function signedBody(body: string): [string, string, Record<string, string>] {
  return ['/', body, signedHeaders(REALM, '/', body, Math.floor(stack.sim.now() / 1000))];
}

describe('signed calls below a deployment base path', () => {
  it('are signed over the route path, without the base path', async () => {
    stack = await startStack({ config: { basePath: '/release' } });
    const body = envelopeBody('access_token', { appid: MP.appid });
    const ts = Math.floor(stack.sim.now() / 1000);
    const ok = await stack.post('/release/', body, signedHeaders(REALM, '/', body, ts));
    expect(ok.json).toMatchObject({ returnCode: 0, returnData: { appid: MP.appid } });
    const withBase = await stack.post('/release/', body, signedHeaders(REALM, '/release/', body, ts));
    expect(withBase.json).toMatchObject({ returnCode: 7002, error: { code: 'bad_signature' } });
  });
});

describe('admin realms and trusted gateways', () => {
  it('an admin realm listing interfaces may call only those, admin ones included', async () => {
    const narrow = { key: 'ops-narrow', secret: 'ops-narrow-secret-0123456789' };
    stack = await startStack({
      config: {
        realms: [
          { ...ADMIN, admin: true, interfaces: ['access_token', 'status'] },
          { ...narrow, admin: true, interfaces: ['access_token'] },
        ],
      },
    });
    const code = async (name: string, realm: { key: string; secret: string }) =>
      (await stack.envelope(name, { appid: MP.appid }, realm)).json.returnCode;
    expect(await code('access_token', ADMIN)).toBe(0);
    expect(await code('status', ADMIN)).toBe(0);
    expect(await code('ticket', ADMIN)).toBe(7006);
    expect(await code('access_token', narrow)).toBe(0);
    expect(await code('status', narrow)).toBe(7006);
    expect(await code('work.register_agent', narrow)).toBe(7006);
  });

  it('a realm that lists no interfaces may call every public one, and still no admin one', async () => {
    const open = { key: 'open', secret: 'open-realm-secret-0123456789' };
    stack = await startStack({
      config: {
        realms: [
          { ...open, apps: [MP.appid] },
          { ...ADMIN, admin: true },
        ],
      },
    });
    expect((await stack.envelope('access_token', { appid: MP.appid }, open)).json.returnCode).toBe(0);
    expect((await stack.envelope('ticket', { appid: MP.appid }, open)).json.returnCode).toBe(0);
    for (const admin of ['status', 'quota.clear', 'work.register_agent']) {
      expect((await stack.envelope(admin, { appid: MP.appid }, open)).json, admin).toMatchObject({
        returnCode: 7006,
        error: { code: 'interface_not_allowed', message: `realm open may not call ${admin}` },
      });
    }
  });

  it('behind trustGateway, admin interfaces still need a signed admin realm, unless trustGatewayAdmin', async () => {
    stack = await startStack({ config: { trustGateway: true } });
    expect((await stack.envelope('access_token', { appid: MP.appid }, null)).json.returnCode).toBe(0);
    expect((await stack.envelope('status', {}, null)).json).toMatchObject({
      returnCode: 7001,
      error: { code: 'unsigned' },
    });
    expect((await stack.envelope('status', {}, REALM)).json.returnCode).toBe(7006);
    expect((await stack.envelope('status', {}, ADMIN)).json.returnCode).toBe(0);
    await stack.close();

    stack = await startStack({ config: { trustGateway: true, trustGatewayAdmin: true } });
    expect((await stack.envelope('status', {}, null)).json.returnCode).toBe(0);
  });
});

describe('the body hash of the realm signature', () => {
  /** An access_token envelope whose para carries bytes that are not UTF-8 (a 0xff inside a string). */
  const rawBody = () =>
    Buffer.concat([
      Buffer.from(`{"interface":{"interfaceName":"access_token","para":{"appid":"${MP.appid}","note":"`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}}'),
    ]);
  const signedOver = (hashed: string | Buffer) => {
    const ts = String(Math.floor(stack.sim.now() / 1000));
    const nonce = `n${Math.random().toString(36).slice(2, 12)}`;
    const signature = realmSignature(REALM.secret, { method: 'POST', path: '/', timestamp: ts, nonce, body: hashed });
    return {
      'x-wecred-realm': REALM.key,
      'x-wecred-timestamp': ts,
      'x-wecred-nonce': nonce,
      'x-wecred-signature': signature,
    };
  };
  const send = async (body: Buffer, headers: Record<string, string>) =>
    (
      await fetch(`${stack.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      })
    ).json() as Promise<any>;

  it('is over the bytes received, not their decoded text', async () => {
    stack = await startStack();
    const body = rawBody();
    expect((await send(body, signedOver(body))).returnCode).toBe(0);
    // The text the bytes decode to (U+FFFD for each bad byte) is another body.
    expect((await send(body, signedOver(body.toString('utf8')))).returnCode).toBe(7002);
  });

  it('is over the decoded bytes of a base64 event body (API gateway v2)', async () => {
    stack = await startStack();
    const handler = createServerlessHandler(async () => stack.app);
    const body = rawBody();
    const event = (headers: Record<string, string>) => ({
      ...loadEvent('aws-v2'),
      rawPath: '/',
      rawQueryString: '',
      queryStringParameters: undefined,
      headers: { 'content-type': 'application/json', ...headers },
      body: body.toString('base64'),
      isBase64Encoded: true,
    });
    const context = { callbackWaitsForEmptyEventLoop: true, functionName: 'wecred', awsRequestId: 'r-1' } as never;
    const answer = async (headers: Record<string, string>) =>
      JSON.parse(((await handler(event(headers), context)) as { body: string }).body).returnCode;
    expect(await answer(signedOver(body))).toBe(0);
    expect(await answer(signedOver(body.toString('utf8')))).toBe(7002);
  });
});
