/**
 * jsdkd compatibility through the real HTTP server: `GET /jsapi/:appid/query` (and jsdkd's
 * `/jsapi/query/:key`) with jsdkd's md5 signature, the envelope interface `query`, and CORS. docs/design.md §3.3.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { jsapiSignature } from '../lib/crypto/jsapi';
import { jsdkdSignature } from '../lib/crypto/jsdkd';
import { ADMIN, MP, MP2, REALM, startStack, type Stack } from './support/stack';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A legacyMd5 realm limited to MP, and one limited to access tokens. */
const LEGACY = { key: 'legacy', secret: 'legacy-realm-secret-0123456789' };
const TOKENS_ONLY = { key: 'tokens', secret: 'tokens-realm-secret-0123456789' };
const REALMS = [
  { ...LEGACY, apps: [MP.appid], interfaces: ['access_token', 'ticket'], legacyMd5: true },
  { ...TOKENS_ONLY, interfaces: ['access_token'], legacyMd5: true },
  { ...REALM, apps: [MP.appid, MP2.appid], interfaces: ['access_token', 'ticket'] }, // HMAC only (legacyMd5 off)
  { ...ADMIN, admin: true },
];

let nonceSeq = 0;
/** jsdkd's query parameters for `realm`, ts in ms on the simulator's clock unless given. */
function signed(
  s: Stack,
  realm: { key: string; secret: string },
  opts: { ts?: number | string; nonce?: string } = {},
): Record<string, string> {
  const q = {
    realm: realm.key,
    nonce: opts.nonce ?? `n${Date.now().toString(36)}${nonceSeq++}`,
    ts: String(opts.ts ?? s.sim.now()),
  };
  return { ...q, sign: jsdkdSignature(realm.secret, q) };
}

async function get(s: Stack, path: string, query: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.url}${path}?${new URLSearchParams(query)}`, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}

describe("jsdkd's query: GET /jsapi/:appid/query", () => {
  it("verifies jsdkd's README example: its signature is accepted, its ts (seconds) refused as out of window", async () => {
    // jsdkd README: md5(realm=R123&nonce=caa3c9d793b&ts=1589203758.realm_secret) === 782ab722a4efaecade8d3bba953f9c5d
    // A jsdkd-format file (apps[].key): its realms keep short secrets and have legacyMd5 on by default.
    stack = await startStack({
      config: { apps: [{ key: MP.appid, secret: MP.secret }], realms: [{ key: 'R123', secret: 'realm_secret' }] },
    });
    expect(stack.config.realms[0]).toMatchObject({ key: 'R123', legacyMd5: true });
    const readme = { realm: 'R123', nonce: 'caa3c9d793b', ts: '1589203758', sign: '782ab722a4efaecade8d3bba953f9c5d' };
    for (const [path, q] of [
      [`/jsapi/${MP.appid}/query`, { key: 'token', ...readme }],
      ['/jsapi/query/token', { appid: MP.appid, ...readme }],
    ] as const) {
      const res = await get(stack, path, q);
      // stale_timestamp, not bad_signature: the md5 matched; the ts is in seconds, not ms
      expect([path, res.status, res.json.error.code]).toEqual([path, 401, 'stale_timestamp']);
      const wrong = await get(stack, path, { ...q, sign: '782ab722a4efaecade8d3bba953f9c5e' });
      expect([path, wrong.status, wrong.json.error.code]).toEqual([path, 401, 'bad_signature']);
    }
    expect(stack.sim.calls()).toBe(0);
  });

  it("answers the README's exact query when the clock stands at its ts read as milliseconds", async () => {
    // The README's ts 1589203758 read as ms is 1970-01-19T09:26:43.758Z: put the simulator's clock there.
    stack = await startStack({
      simOptions: { now: 1_589_203_758 + 60_000 },
      config: { apps: [{ key: MP.appid, secret: MP.secret }], realms: [{ key: 'R123', secret: 'realm_secret' }] },
    });
    const res = await get(stack, `/jsapi/${MP.appid}/query`, {
      key: 'token',
      realm: 'R123',
      nonce: 'caa3c9d793b',
      ts: '1589203758',
      sign: '782ab722a4efaecade8d3bba953f9c5d',
    });
    expect(res.status).toBe(200);
    expect(res.json.key).toBe('token');
    expect(stack.sim.tokenState(MP.appid, res.json.value)).toBe('valid');
  });

  it('answers {key, value} for token and ticket, values the simulator accepts, in both spellings, never cached', async () => {
    stack = await startStack({ config: { realms: REALMS } });
    const token = await get(stack, `/jsapi/${MP.appid}/query`, { key: 'token', ...signed(stack, LEGACY) });
    expect(token.status).toBe(200);
    expect(Object.keys(token.json).sort()).toEqual(['key', 'value']);
    expect(token.json.key).toBe('token');
    expect(stack.sim.tokenState(MP.appid, token.json.value)).toBe('valid');
    expect(token.headers.get('cache-control')).toBe('no-store');
    expect(token.headers.get('content-type')).toMatch(/^application\/json/);

    const ticket = await get(stack, `/jsapi/${MP.appid}/query`, { key: 'ticket', ...signed(stack, LEGACY) });
    expect(ticket.status).toBe(200);
    expect(ticket.json.key).toBe('ticket');
    const p = {
      nonceStr: 'Wm3WZYTPz0wzccnW',
      timestamp: Math.floor(stack.sim.now() / 1000),
      url: 'https://example.com/page',
    };
    expect(
      stack.sim.verifyJsapiSignature({
        appid: MP.appid,
        ...p,
        signature: jsapiSignature({ ticket: ticket.json.value, ...p }),
      }),
    ).toBe(true);

    // jsdkd's spelling: GET /jsapi/query/:key?appid=…
    const old = await get(stack, '/jsapi/query/token', { appid: MP.appid, ...signed(stack, LEGACY) });
    expect(old.json).toEqual({ key: 'token', value: token.json.value });
    const oldTicket = await get(stack, '/jsapi/query/ticket', { appid: MP.appid, ...signed(stack, LEGACY) });
    expect(oldTicket.json).toEqual({ key: 'ticket', value: ticket.json.value });
    // the same credentials the HMAC envelope hands out, fetched once
    expect((await stack.envelope('access_token', { appid: MP.appid })).json.returnData.access_token).toBe(
      token.json.value,
    );
    expect(stack.sim.calls('stable_token')).toBe(1);
    expect(stack.sim.calls('getticket')).toBe(1);
    expect(stack.logs.find((l) => l.route === 'jsdkd_query')).toMatchObject({ caller: 'legacy', status: 200 });
  });

  it('refuses a ts in seconds, outside ±5 min, and accepts one within', async () => {
    stack = await startStack({ config: { realms: REALMS } });
    const now = stack.sim.now();
    const path = `/jsapi/${MP.appid}/query`;
    for (const ts of [Math.floor(now / 1000), now - 301_000, now + 301_000]) {
      const res = await get(stack, path, { key: 'token', ...signed(stack, LEGACY, { ts }) });
      expect([ts, res.status, res.json.error.code]).toEqual([ts, 401, 'stale_timestamp']);
    }
    expect((await get(stack, path, { key: 'token', ...signed(stack, LEGACY, { ts: now - 290_000 }) })).status).toBe(
      200,
    );
    expect((await get(stack, path, { key: 'token', ...signed(stack, LEGACY, { ts: now + 290_000 }) })).status).toBe(
      200,
    );
  });

  it('refuses a replayed query (401 replayed_nonce), also with another key, but not the same nonce in another realm', async () => {
    stack = await startStack({ config: { realms: REALMS } });
    const path = `/jsapi/${MP.appid}/query`;
    const q = { key: 'token', ...signed(stack, LEGACY, { nonce: 'caa3c9d793b' }) };
    expect((await get(stack, path, q)).status).toBe(200);
    const replay = await get(stack, path, q);
    expect([replay.status, replay.json.error.code]).toEqual([401, 'replayed_nonce']);
    expect(replay.text).not.toMatch(/"value"/);
    const otherKey = await get(stack, path, { ...q, key: 'ticket' });
    expect([otherKey.status, otherKey.json.error.code]).toEqual([401, 'replayed_nonce']);
    const fresh = await get(stack, path, { key: 'token', ...signed(stack, LEGACY, { nonce: 'caa3c9d793b-2' }) });
    expect(fresh.status).toBe(200);
    const otherRealm = await get(stack, path, {
      key: 'token',
      ...signed(stack, TOKENS_ONLY, { nonce: 'caa3c9d793b' }),
    });
    expect(otherRealm.status).toBe(200);
  });

  it('refuses a realm without legacyMd5, wrong secrets and unknown realms with 401 bad_signature', async () => {
    stack = await startStack({ config: { realms: REALMS } });
    const path = `/jsapi/${MP.appid}/query`;
    const cases: [string, Record<string, string>][] = [
      ['realm without legacyMd5', signed(stack, REALM)],
      ['wrong secret', signed(stack, { key: LEGACY.key, secret: 'not-the-secret-0000' })],
      ['unknown realm', signed(stack, { key: 'nobody', secret: LEGACY.secret })],
      ['ts changed after signing', { ...signed(stack, LEGACY), ts: String(stack.sim.now() + 1) }],
      ['nonce changed after signing', { ...signed(stack, LEGACY), nonce: 'another' }],
    ];
    for (const [what, q] of cases) {
      const res = await get(stack, path, { key: 'token', ...q });
      expect([what, res.status, res.json.error.code]).toEqual([what, 401, 'bad_signature']);
    }
    // REALM does sign envelopes with HMAC
    expect((await stack.envelope('access_token', { appid: MP.appid })).json.returnCode).toBe(0);
    expect(stack.sim.calls()).toBe(1);
  });

  it("refuses a query signed for one realm's scope for an app or a key outside it (403)", async () => {
    stack = await startStack({ config: { realms: REALMS } });
    // LEGACY may use MP only
    const outside = await get(stack, `/jsapi/${MP2.appid}/query`, { key: 'token', ...signed(stack, LEGACY) });
    expect([outside.status, outside.json.error.code]).toEqual([403, 'app_not_allowed']);
    const outsideOld = await get(stack, '/jsapi/query/ticket', { appid: MP2.appid, ...signed(stack, LEGACY) });
    expect([outsideOld.status, outsideOld.json.error.code]).toEqual([403, 'app_not_allowed']);
    // TOKENS_ONLY may have tokens (of any app) but no tickets
    const ticket = await get(stack, `/jsapi/${MP2.appid}/query`, { key: 'ticket', ...signed(stack, TOKENS_ONLY) });
    expect([ticket.status, ticket.json.error.code]).toEqual([403, 'interface_not_allowed']);
    expect(stack.sim.calls()).toBe(0);
    const token = await get(stack, `/jsapi/${MP2.appid}/query`, { key: 'token', ...signed(stack, TOKENS_ONLY) });
    expect(token.status).toBe(200);
    expect(stack.sim.tokenState(MP2.appid, token.json.value)).toBe('valid');
  });

  it('answers missing or bad parameters with structured 4xx errors and calls nobody', async () => {
    stack = await startStack({ config: { realms: REALMS } });
    const path = `/jsapi/${MP.appid}/query`;
    const full = { key: 'token', ...signed(stack, LEGACY) };
    const without = (field: string) => Object.fromEntries(Object.entries(full).filter(([k]) => k !== field));
    const cases: [string, string, Record<string, string>, number, string][] = [
      ['no key', path, without('key'), 400, 'bad_para'],
      ['unknown key', path, { ...full, key: 'secret' }, 400, 'bad_para'],
      [
        'unknown key (jsdkd spelling)',
        '/jsapi/query/secret',
        { appid: MP.appid, ...signed(stack, LEGACY) },
        400,
        'bad_para',
      ],
      ['no realm', path, without('realm'), 401, 'unsigned'],
      ['no nonce', path, without('nonce'), 401, 'unsigned'],
      ['no ts', path, without('ts'), 401, 'unsigned'],
      ['no sign', path, without('sign'), 401, 'unsigned'],
      ['no parameters at all', path, {}, 400, 'bad_para'],
      [
        'unknown app',
        '/jsapi/wx0000000000000000/query',
        { key: 'token', ...signed(stack, { ...TOKENS_ONLY }) },
        404,
        'unknown_app',
      ],
    ];
    for (const [what, p, q, status, code] of cases) {
      const res = await get(stack, p, q);
      expect([what, res.status, res.json.error?.code, typeof res.json.error?.message]).toEqual([
        what,
        status,
        code,
        'string',
      ]);
    }
    const post = await stack.post(path, {});
    expect([post.status, post.json.error.code, post.headers.get('allow')]).toEqual([405, 'method_not_allowed', 'GET']);
    expect(stack.sim.calls()).toBe(0);
  });
});

describe('envelope interface query (HMAC realm)', () => {
  it("answers {key, value} within the realm scope and refuses outside it: the key's interface is the scope, as for GET", async () => {
    const HMAC_ALL = { key: 'all', secret: 'all-realm-secret-0123456789' };
    const HMAC_Q = { key: 'q', secret: 'q-realm-secret-0123456789ab' };
    const QUERY_ONLY = { key: 'query-only', secret: 'query-only-realm-secret-0123' };
    stack = await startStack({
      config: {
        realms: [
          ...REALMS,
          { ...HMAC_ALL },
          { ...HMAC_Q, apps: [MP.appid], interfaces: ['access_token'] },
          { ...QUERY_ONLY, interfaces: ['query'] },
        ],
      },
    });
    const token = await stack.envelope('query', { appid: MP.appid, key: 'token' }, HMAC_ALL);
    expect(token.json).toMatchObject({ returnCode: 0, returnData: { key: 'token' } });
    expect(stack.sim.tokenState(MP.appid, token.json.returnData.value)).toBe('valid');
    const ticket = await stack.envelope('query', { appid: MP2.appid, key: 'ticket' }, HMAC_ALL);
    expect(ticket.json).toMatchObject({ returnCode: 0, returnData: { key: 'ticket' } });
    expect(Object.keys(ticket.json.returnData).sort()).toEqual(['key', 'value']);
    // appid omitted: the default app (MP); HMAC_Q lists access_token, not query
    expect((await stack.envelope('query', { key: 'token' }, HMAC_Q)).json.returnData.value).toBe(
      token.json.returnData.value,
    );
    // REALM lists access_token and ticket: both keys, as its GET query would get
    for (const key of ['token', 'ticket']) {
      expect((await stack.envelope('query', { appid: MP2.appid, key }, REALM)).json).toMatchObject({
        returnCode: 0,
        returnData: { key },
      });
    }

    const cases: [string, unknown, { key: string; secret: string } | null, number][] = [
      ['unsigned', { appid: MP.appid, key: 'token' }, null, 7001],
      ['app outside the realm', { appid: MP2.appid, key: 'token' }, HMAC_Q, 7005],
      ['ticket outside the realm', { appid: MP.appid, key: 'ticket' }, HMAC_Q, 7006],
      ['token for a realm listing only query', { appid: MP.appid, key: 'token' }, QUERY_ONLY, 7006],
      ['ticket for a realm listing only query', { appid: MP.appid, key: 'ticket' }, QUERY_ONLY, 7006],
      ['no key', { appid: MP.appid }, HMAC_ALL, 1003],
      ['bad key', { appid: MP.appid, key: 'secret' }, HMAC_ALL, 1003],
      ['bad key, before the scope check', { appid: MP.appid, key: 'secret' }, QUERY_ONLY, 1003],
      ['unknown app', { appid: 'wx0000000000000000', key: 'token' }, HMAC_ALL, 1012],
    ];
    for (const [what, para, realm, code] of cases) {
      const res = await stack.envelope('query', para, realm);
      expect([what, res.status, res.json.returnCode, res.json.returnData]).toEqual([what, 200, code, '']);
    }
  });
});

describe('CORS through the server', () => {
  it('answers a preflight for an allowed origin with methods, the signing headers and max-age; a refused one with no allow header', async () => {
    stack = await startStack({ config: { realms: REALMS, cors: ['example\\.com'] } });
    const preflight = (origin: string, path = `/jsapi/${MP.appid}/query`) =>
      fetch(stack!.url + path, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, x-wecred-signature, x-wecred-realm',
        },
      });
    for (const origin of ['https://example.com', 'http://192.168.10.2:8080']) {
      for (const path of ['/', `/jsapi/${MP.appid}/config`, `/jsapi/${MP.appid}/query`]) {
        const res = await preflight(origin, path);
        expect(res.status).toBe(204);
        expect(res.headers.get('access-control-allow-origin')).toBe(origin);
        expect(res.headers.get('access-control-allow-methods')).toMatch(/\bPOST\b/);
        expect(res.headers.get('access-control-allow-methods')).toMatch(/\bGET\b/);
        const allowed = res.headers.get('access-control-allow-headers')!.split(/\s*,\s*/);
        for (const h of [
          'content-type',
          'x-wecred-realm',
          'x-wecred-timestamp',
          'x-wecred-nonce',
          'x-wecred-signature',
        ])
          expect(allowed).toContain(h);
        expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
        expect(res.headers.get('vary')).toBe('Origin');
      }
    }
    for (const origin of ['https://example.com.evil.net', 'https://notexample.com', 'http://10.evil.net']) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      for (const h of [
        'access-control-allow-origin',
        'access-control-allow-methods',
        'access-control-allow-headers',
        'access-control-max-age',
      ]) {
        expect([origin, h, res.headers.get(h)]).toEqual([origin, h, null]);
      }
      expect(res.headers.get('vary')).toBe('Origin');
    }
  });

  it('puts Vary: Origin on every answer, the allow header only for allowed origins', async () => {
    stack = await startStack({ config: { realms: REALMS, cors: ['example\\.com'] } });
    const path = `/jsapi/${MP.appid}/query`;
    const ok = await get(stack, path, { key: 'token', ...signed(stack, LEGACY) }, { origin: 'https://example.com' });
    expect([ok.status, ok.headers.get('access-control-allow-origin'), ok.headers.get('vary')]).toEqual([
      200,
      'https://example.com',
      'Origin',
    ]);
    const evil = await get(
      stack,
      path,
      { key: 'token', ...signed(stack, LEGACY) },
      { origin: 'https://example.com.evil.net' },
    );
    expect([evil.status, evil.headers.get('access-control-allow-origin'), evil.headers.get('vary')]).toEqual([
      200,
      null,
      'Origin',
    ]);
    const none = await get(stack, '/ping', {});
    expect([none.headers.get('access-control-allow-origin'), none.headers.get('vary')]).toEqual([null, 'Origin']);
    const err = await get(stack, path, {}, { origin: 'https://example.com' });
    expect([err.status, err.headers.get('access-control-allow-origin'), err.headers.get('vary')]).toEqual([
      400,
      'https://example.com',
      'Origin',
    ]);
  });
});
