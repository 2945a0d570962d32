import { afterEach, describe, expect, it } from 'vitest';
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
