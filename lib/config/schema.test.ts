/**
 * parseConfig pinned message by message: each error a user may see, one line naming the field.
 * Over 400 lines because every rule of the schema has its wording here. See docs/design.md §3.5.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { parseConfig, secretFields } from './schema';
import { AGENTID_RULE, CORPID_RULE } from './wecom-ids';
import type { Config } from './types';

const APPID = 'wx1234567890abcdef';
const APPID2 = 'wxabcdef1234567890';
const APP_SECRET = 'APP-SECRET-VALUE-0123456789abcdef';
const REALM_SECRET = 'REALM-SECRET-VALUE-0123456789';
const WORK_SECRET = 'WORK-SECRET-VALUE-0123456789';
const ROBOT_URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROBOT-KEY-0123';
const SECRETS = [APP_SECRET, REALM_SECRET, WORK_SECRET, 'short', 'ENV-SECRET-VALUE', 'ENV-WORK', 'ROBOT-KEY'];

const app = (extra: Record<string, unknown> = {}) => ({ appid: APPID, secret: APP_SECRET, ...extra });
const realm = (extra: Record<string, unknown> = {}) => ({ key: 'biz', secret: REALM_SECRET, ...extra });
const work = (extra: Record<string, unknown> = {}) => ({
  corpid: 'ww0123456789abcdef',
  agentid: '1000002',
  secret: WORK_SECRET,
  ...extra,
});

/** parseConfig must throw exactly `message` (one line, no secret in it). */
function expectError(raw: unknown, message: string, env: NodeJS.ProcessEnv = {}): void {
  let error: unknown;
  try {
    parseConfig(raw, env);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const text = (error as Error).message;
  expect(text).toBe(message);
  expect(text).not.toContain('\n');
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe('parseConfig defaults', () => {
  it('fills in every field of an empty config', () => {
    expect(parseConfig({}, {})).toEqual<Config>({
      apps: [],
      work: [],
      components: [],
      suites: [],
      realms: [],
      cors: [],
      oauth: { redirects: [] },
      store: 'file:./.wecred',
      storeOutage: { nonces: 'memory' },
      upstream: {
        mp: 'https://api.weixin.qq.com',
        work: 'https://qyapi.weixin.qq.com',
        sts: { protocol: 'https:', host: 'sts.tencentcloudapi.com' },
        timeoutMs: 5000,
        budgetMs: 10000,
      },
      credentials: { refreshAheadSeconds: 300, localCacheSeconds: 30, leaseSeconds: 3, forceCooldownSeconds: 60 },
      sessions: { maxAgeSeconds: 2592000, idleSeconds: 2592000, singleSession: false },
      metrics: { log: false },
      alerts: {},
      trustGateway: false,
      trustGatewayAdmin: false,
      basePath: '',
      verifyFiles: [],
      maxBodyBytes: 65536,
      http: {
        headersTimeoutSeconds: 10,
        requestTimeoutSeconds: 30,
        keepAliveTimeoutSeconds: 5,
        maxConnections: 1000,
        maxBodyBytesInFlight: 8388608,
      },
      clients: { loginsPerMinute: 120 },
      demo: false,
    });
  });

  it('fills in app, work and realm defaults', () => {
    const c = parseConfig({ apps: [app()], work: [work({ agentid: 1000002 })], realms: [realm()] }, {});
    expect(c.apps).toEqual([{ appid: APPID, secret: APP_SECRET, type: 'mp', tokenMode: 'stable', default: false }]);
    expect(c.apps[0]).not.toHaveProperty('token');
    expect(c.work).toEqual([{ corpid: 'ww0123456789abcdef', kind: 'agent', agentid: '1000002', secret: WORK_SECRET }]);
    expect(c.realms).toEqual([
      { key: 'biz', secret: REALM_SECRET, apps: [], interfaces: [], admin: false, legacyMd5: false, forceAllowance: 5 },
    ]);
  });

  it('keeps every explicit value', () => {
    const raw = {
      apps: [
        app({ type: 'mina', tokenMode: 'classic', token: 'server-token', default: true }),
        { appid: APPID2, secret: APP_SECRET, type: 'mp', default: true },
      ],
      work: [work({ corpid: 'wx0123456789abcdef' })],
      realms: [realm({ apps: [APPID], interfaces: ['access_token'], admin: true, legacyMd5: true })],
      cors: ['^https://([a-z0-9-]+\\.)*example\\.com$', '*'],
      oauth: { redirects: ['^https://app\\.example\\.com/'] },
      store: 'mysql://user:pw@db/wecred',
      storeOutage: { nonces: 'refuse' },
      upstream: { mp: 'http://127.0.0.1:9000/', work: 'http://127.0.0.1:9001/sim//', timeoutMs: 2000, budgetMs: 4000 },
      credentials: { refreshAheadSeconds: 600, localCacheSeconds: 0, leaseSeconds: 5, forceCooldownSeconds: 0 },
      sessions: { maxAgeSeconds: 86400, idleSeconds: 3600, singleSession: true },
      metrics: { bearer: 'metrics-bearer-0123456789', log: true },
      alerts: { wecomWebhook: ROBOT_URL, webhook: 'http://127.0.0.1:9002/alerts' },
      trustGateway: true,
      trustGatewayAdmin: true,
      basePath: 'release/',
      verifyFiles: ['WW_verify_0123456789abcdef.txt'],
      maxBodyBytes: 1024,
      http: {
        headersTimeoutSeconds: 2,
        requestTimeoutSeconds: 3,
        keepAliveTimeoutSeconds: 70,
        maxConnections: 50,
        maxBodyBytesInFlight: 4096,
      },
      clients: { loginsPerMinute: 0, addressHeader: 'X-Real-IP' },
    };
    expect(parseConfig(raw, {})).toEqual<Config>({
      apps: [
        { appid: APPID, secret: APP_SECRET, type: 'mina', tokenMode: 'classic', token: 'server-token', default: true },
        { appid: APPID2, secret: APP_SECRET, type: 'mp', tokenMode: 'stable', default: true },
      ],
      work: [{ corpid: 'wx0123456789abcdef', kind: 'agent', agentid: '1000002', secret: WORK_SECRET }],
      components: [],
      suites: [],
      realms: [
        {
          key: 'biz',
          secret: REALM_SECRET,
          apps: [APPID],
          interfaces: ['access_token'],
          admin: true,
          legacyMd5: true,
          forceAllowance: null,
        },
      ],
      cors: ['^https://([a-z0-9-]+\\.)*example\\.com$', '*'],
      oauth: { redirects: ['^https://app\\.example\\.com/'] },
      store: 'mysql://user:pw@db/wecred',
      storeOutage: { nonces: 'refuse' },
      upstream: {
        mp: 'http://127.0.0.1:9000',
        work: 'http://127.0.0.1:9001/sim',
        sts: { protocol: 'https:', host: 'sts.tencentcloudapi.com' },
        timeoutMs: 2000,
        budgetMs: 4000,
      },
      credentials: { refreshAheadSeconds: 600, localCacheSeconds: 0, leaseSeconds: 5, forceCooldownSeconds: 0 },
      sessions: { maxAgeSeconds: 86400, idleSeconds: 3600, singleSession: true },
      metrics: { bearer: 'metrics-bearer-0123456789', log: true },
      alerts: { wecomWebhook: ROBOT_URL, webhook: 'http://127.0.0.1:9002/alerts' },
      trustGateway: true,
      trustGatewayAdmin: true,
      basePath: '/release',
      verifyFiles: ['WW_verify_0123456789abcdef.txt'],
      maxBodyBytes: 1024,
      http: {
        headersTimeoutSeconds: 2,
        requestTimeoutSeconds: 3,
        keepAliveTimeoutSeconds: 70,
        maxConnections: 50,
        maxBodyBytesInFlight: 4096,
      },
      clients: { loginsPerMinute: 0, addressHeader: 'x-real-ip' },
      demo: false,
    });
  });

  it('normalises basePath', () => {
    const bp = (basePath: string) => parseConfig({ basePath }, {}).basePath;
    expect(bp('')).toBe('');
    expect(bp('/')).toBe('');
    expect(bp('/release')).toBe('/release');
    expect(bp('release')).toBe('/release');
    expect(bp('/a/b/')).toBe('/a/b');
  });

  it('raises the default budget with a large timeout', () => {
    expect(parseConfig({ upstream: { timeoutMs: 30000 } }, {}).upstream.budgetMs).toBe(30000);
  });

  it('accepts every store kind', () => {
    for (const store of [
      'memory:',
      'file:/var/lib/wecred',
      'mysql://u:p@h/db',
      'dynamodb://wecred?region=ap-guangzhou',
      'redis://localhost:6379',
    ]) {
      expect(parseConfig({ store }, {}).store).toBe(store);
    }
  });
});

describe('parseConfig errors', () => {
  it('rejects a non-object config', () => {
    expectError([], 'config: must be a JSON object');
    expectError(null, 'config: must be a JSON object');
  });

  it('rejects unknown keys, naming them', () => {
    expectError({ realm: [] }, 'config: realm: unknown key (did you mean "realms"?)');
    expectError(
      { realm: [], foo: 1, bar: 2 },
      'config: realm: unknown key (did you mean "realms"?) (also unknown: foo, bar)',
    );
    expectError({ demo: true }, 'config: demo: unknown key');
    expectError(
      { apps: [app({ secert: APP_SECRET })] },
      'config: apps[0].secert: unknown key (did you mean "secret"?)',
    );
    expectError({ realms: [realm({ admn: true })] }, 'config: realms[0].admn: unknown key (did you mean "admin"?)');
    expectError({ work: [work({ name: 'x' })] }, 'config: work[0].name: unknown key');
    expectError({ upstream: { timeout: 1 } }, 'config: upstream.timeout: unknown key (did you mean "timeoutMs"?)');
    expectError(
      { credentials: { leaseSecond: 1 } },
      'config: credentials.leaseSecond: unknown key (did you mean "leaseSeconds"?)',
    );
    expectError({ oauth: { redirect: [] } }, 'config: oauth.redirect: unknown key (did you mean "redirects"?)');
  });

  it('checks sections are the right shape', () => {
    expectError({ apps: {} }, 'config: apps: must be an array');
    expectError({ apps: ['x'] }, 'config: apps[0]: must be an object');
    expectError({ realms: 'biz' }, 'config: realms: must be an array');
    expectError({ upstream: [] }, 'config: upstream: must be an object');
    expectError({ credentials: 5 }, 'config: credentials: must be an object');
    expectError({ oauth: null }, 'config: oauth: must be an object');
  });

  it('checks apps', () => {
    expectError({ apps: [{ secret: APP_SECRET }] }, 'config: apps[0].appid: must be a non-empty string');
    expectError(
      { apps: [app({ appid: 'wx123' })] },
      'config: apps[0].appid: must be "wx" followed by 16 letters or digits',
    );
    expectError(
      { apps: [app({ appid: 'gh1234567890abcdef' })] },
      'config: apps[0].appid: must be "wx" followed by 16 letters or digits',
    );
    expectError(
      { apps: [app(), app({ appid: APPID2, secret: '' })] },
      'config: apps[1].secret: must be a non-empty string',
    );
    expectError({ apps: [app({ secret: 42 })] }, 'config: apps[0].secret: must be a non-empty string');
    expectError({ apps: [app({ secret: ' \n' })] }, 'config: apps[0].secret: is empty after trimming whitespace');
    expectError(
      { apps: [app({ secret: 'env:BLANK_SECRET' })] },
      'config: apps[0].secret: is empty after trimming whitespace (the value of env:BLANK_SECRET)',
      { BLANK_SECRET: '  ' },
    );
    expectError({ apps: [app({ type: 'game' })] }, 'config: apps[0].type: must be "mp", "mina" or "web"');
    expectError({ apps: [app({ tokenMode: 'fast' })] }, 'config: apps[0].tokenMode: must be "stable" or "classic"');
    expectError({ apps: [app({ token: '' })] }, 'config: apps[0].token: must be a non-empty string');
    expectError({ apps: [app({ default: 'yes' })] }, 'config: apps[0].default: must be true or false');
    expectError(
      { apps: [app({ key: APPID })] },
      "config: apps[0]: has both appid and key (jsdkd's name for appid): keep one",
    );
  });

  it('rejects duplicate appids and two defaults of one type', () => {
    expectError({ apps: [app(), app({ type: 'mina' })] }, `config: apps[1].appid: duplicate of apps[0]`);
    expectError(
      {
        apps: [
          app({ type: 'mina', default: true }),
          app({ appid: APPID2, default: true }),
          app({ appid: 'wx00000000000000cc', type: 'mina', default: true }),
        ],
      },
      'config: apps[2].default: apps[0] is already the default mina app',
    );
  });

  it('checks work apps', () => {
    expectError({ work: [work({ corpid: 'ww01:1000002' })] }, `config: work[0].corpid: ${CORPID_RULE}`);
    expectError({ work: [work({ corpid: 'w'.repeat(33) })] }, `config: work[0].corpid: ${CORPID_RULE}`);
    expectError({ work: [work({ corpid: undefined })] }, 'config: work[0].corpid: must be a non-empty string');
    for (const agentid of ['abc', -1, 0, '01000002', 1.5, '12345678901'])
      expectError({ work: [work({ agentid })] }, `config: work[0].agentid: ${AGENTID_RULE}`);
    expectError({ work: [work({ secret: undefined })] }, 'config: work[0].secret: must be a non-empty string');
    expectError(
      { work: [work(), work({ agentid: 1000002 })] },
      'config: work[1]: duplicate corpid and agentid of work[0]',
    );
    expect(parseConfig({ work: [work(), work({ agentid: 1000003 })] }, {}).work).toHaveLength(2);
  });

  it('checks suites', () => {
    const suite = {
      suiteId: 'ww0000000000000a11',
      secret: WORK_SECRET,
      token: 'suite-token',
      encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    };
    expect(parseConfig({ suites: [suite] }, {}).suites).toEqual([suite]);
    expectError({ suites: [{ ...suite, token: undefined }] }, 'config: suites[0].token: must be a non-empty string');
    expectError(
      { suites: [{ ...suite, encodingAESKey: 'short' }] },
      'config: suites[0].encodingAESKey: must be 43 letters or digits',
    );
    expectError(
      { suites: [{ ...suite, suiteId: 'ww:1' }] },
      'config: suites[0].suiteId: must be 1 to 32 letters or digits (WeCom suite ids look like "ww" + 16 hex digits)',
    );
    expectError({ suites: [suite, suite] }, 'config: suites[1].suiteId: duplicate of suites[0]');
    expect(parseConfig({ suites: [suite], realms: [realm({ apps: [suite.suiteId] })] }, {}).realms[0]!.apps).toEqual([
      suite.suiteId,
    ]);
  });

  it('takes contacts and customer-contact secrets without an agentid, kept under their kind', () => {
    const contacts = { corpid: 'ww0123456789abcdef', kind: 'contacts', secret: WORK_SECRET };
    const c = parseConfig({ work: [work(), contacts, { ...contacts, kind: 'externalcontact' }] }, {});
    expect(c.work.map((w) => [w.kind, w.agentid])).toEqual([
      ['agent', '1000002'],
      ['contacts', 'contacts'],
      ['externalcontact', 'externalcontact'],
    ]);
    expectError(
      { work: [{ ...contacts, agentid: 1000002 }] },
      'config: work[0].agentid: must be left out: a contacts secret belongs to no agent',
    );
    expectError(
      { work: [work({ agentid: undefined })] },
      'config: work[0].agentid: is required for an agent (kind "agent", the default)',
    );
    expectError(
      { work: [work({ kind: 'app' })] },
      'config: work[0].kind: must be "agent", "contacts" or "externalcontact"',
    );
    expectError({ work: [contacts, contacts] }, 'config: work[1]: duplicate corpid and kind of work[0]');
  });

  it('checks realms', () => {
    expectError({ realms: [realm({ key: '' })] }, 'config: realms[0].key: must be a non-empty string');
    expectError(
      { realms: [realm({ key: 'has space' })] },
      'config: realms[0].key: must be 1 to 64 letters, digits, "_", "." or "-"',
    );
    expectError(
      { realms: [realm({ key: 'k'.repeat(65) })] },
      'config: realms[0].key: must be 1 to 64 letters, digits, "_", "." or "-"',
    );
    expectError({ realms: [realm({ secret: 'short' })] }, 'config: realms[0].secret: must be at least 16 characters');
    expectError({ realms: [realm({ apps: 'wx' })] }, 'config: realms[0].apps: must be an array');
    expectError(
      { realms: [realm({ interfaces: ['ok', ''] })] },
      'config: realms[0].interfaces[1]: must be a non-empty string',
    );
    expectError({ realms: [realm({ admin: 1 })] }, 'config: realms[0].admin: must be true or false');
    expectError({ realms: [realm({ legacyMd5: 'true' })] }, 'config: realms[0].legacyMd5: must be true or false');
    expectError({ realms: [realm(), realm()] }, 'config: realms[1].key: duplicate of realms[0]');
  });

  it('checks regex lists', () => {
    expectError({ cors: 'example\\.com' }, 'config: cors: must be an array');
    expectError({ cors: ['ok', '(unclosed'] }, 'config: cors[1]: not a valid regular expression (Unterminated group)');
    expectError({ cors: [''] }, 'config: cors[0]: must be a non-empty string');
    expectError(
      { oauth: { redirects: ['*'] } },
      'config: oauth.redirects[0]: not a valid regular expression (Nothing to repeat)',
    );
  });

  it('checks store, upstream and the numbers', () => {
    expectError(
      { store: 'postgres://x' },
      'config: store: must start with memory:, file:, mysql://, dynamodb:// or redis://',
    );
    expectError({ store: 'file:' }, 'config: store: needs a location after "file:"');
    expectError({ store: 5 }, 'config: store: must be a non-empty string');
    expectError({ upstream: { mp: 'ftp://x' } }, 'config: upstream.mp: must be an http(s) URL');
    expectError({ upstream: { work: 'not a url' } }, 'config: upstream.work: must be an http(s) URL');
    expectError(
      { upstream: { mp: 'https://x/?a=1' } },
      'config: upstream.mp: must be an http(s) URL without query or fragment',
    );
    expectError(
      { upstream: { timeoutMs: 50 } },
      'config: upstream.timeoutMs: must be an integer between 100 and 60000',
    );
    expectError(
      { upstream: { timeoutMs: 6000, budgetMs: 5000 } },
      'config: upstream.budgetMs: must be an integer between 6000 and 120000 (at least upstream.timeoutMs)',
    );
    expectError(
      { upstream: { budgetMs: 120001 } },
      'config: upstream.budgetMs: must be an integer between 5000 and 120000 (at least upstream.timeoutMs)',
    );
    expectError(
      { credentials: { refreshAheadSeconds: 29 } },
      'config: credentials.refreshAheadSeconds: must be an integer between 30 and 3600',
    );
    expectError(
      { credentials: { localCacheSeconds: 121 } },
      'config: credentials.localCacheSeconds: must be an integer between 0 and 120',
    );
    expectError(
      { credentials: { leaseSeconds: 0 } },
      'config: credentials.leaseSeconds: must be an integer between 1 and 60',
    );
    expectError(
      { credentials: { leaseSeconds: 1.5 } },
      'config: credentials.leaseSeconds: must be an integer between 1 and 60',
    );
    expectError(
      { credentials: { forceCooldownSeconds: '60' } },
      'config: credentials.forceCooldownSeconds: must be an integer between 0 and 3600',
    );
    expectError(
      { sessions: { maxAgeSeconds: 59 } },
      'config: sessions.maxAgeSeconds: must be an integer between 60 and 31622400',
    );
    expectError(
      { sessions: { idleSeconds: '3600' } },
      'config: sessions.idleSeconds: must be an integer between 60 and 31622400',
    );
    expectError({ sessions: { singleSession: 'yes' } }, 'config: sessions.singleSession: must be true or false');
    expectError(
      { sessions: { idleSecond: 60 } },
      'config: sessions.idleSecond: unknown key (did you mean "idleSeconds"?)',
    );
    expectError({ maxBodyBytes: 1023 }, 'config: maxBodyBytes: must be an integer between 1024 and 10485760');
    expectError(
      { http: { headersTimeoutSeconds: 31 } },
      'config: http.headersTimeoutSeconds: must be at most http.requestTimeoutSeconds (the headers are part of the request)',
    );
    expectError(
      { maxBodyBytes: 65536, http: { maxBodyBytesInFlight: 65535 } },
      'config: http.maxBodyBytesInFlight: must be an integer between 65536 and 1073741824 (at least maxBodyBytes)',
    );
    expectError(
      { http: { requestTimeoutSeconds: 0 } },
      'config: http.requestTimeoutSeconds: must be an integer between 1 and 600',
    );
    expectError(
      { http: { maxconnections: 5 } },
      'config: http.maxconnections: unknown key (did you mean "maxConnections"?)',
    );
    expectError(
      { clients: { loginsPerMinute: -1 } },
      'config: clients.loginsPerMinute: must be an integer between 0 and 1000000',
    );
    expectError({ clients: { addressHeader: 'x real ip' } }, 'config: clients.addressHeader: must be a header name');
    expectError({ trustGateway: 'true' }, 'config: trustGateway: must be true or false');
    expectError({ basePath: '/a b' }, 'config: basePath: must be a path such as "/release"');
    expectError({ basePath: 1 }, 'config: basePath: must be a path such as "/release"');
  });
});

describe('environment overrides', () => {
  it('override the file', () => {
    const c = parseConfig(
      { store: 'memory:', upstream: { mp: 'https://a.example' }, basePath: '/file', trustGateway: false },
      {
        WECRED_STORE: 'redis://cache:6379',
        WECHAT_API_BASE: 'http://127.0.0.1:8080/',
        WECOM_API_BASE: 'http://127.0.0.1:8081',
        WECRED_BASE_PATH: '/stage/',
        WECRED_TRUST_GATEWAY: 'true',
      },
    );
    expect(c.store).toBe('redis://cache:6379');
    expect(c.upstream.mp).toBe('http://127.0.0.1:8080');
    expect(c.upstream.work).toBe('http://127.0.0.1:8081');
    expect(c.basePath).toBe('/stage');
    expect(c.trustGateway).toBe(true);
  });

  it('parse WECRED_TRUST_GATEWAY flags and ignore empty values', () => {
    const trust = (v: string, file = false) =>
      parseConfig({ trustGateway: file }, { WECRED_TRUST_GATEWAY: v }).trustGateway;
    expect(trust('1')).toBe(true);
    expect(trust('TRUE')).toBe(true);
    expect(trust('0', true)).toBe(false);
    expect(trust('false', true)).toBe(false);
    expect(trust('', true)).toBe(true);
    expect(parseConfig({ store: 'memory:' }, { WECRED_STORE: '' }).store).toBe('memory:');
  });

  it('are validated, naming the variable', () => {
    expectError({}, 'config: WECRED_STORE: must start with memory:, file:, mysql://, dynamodb:// or redis://', {
      WECRED_STORE: 'sqlite:x',
    });
    expectError({}, 'config: WECHAT_API_BASE: must be an http(s) URL', { WECHAT_API_BASE: 'api.weixin.qq.com' });
    expectError({}, 'config: WECOM_API_BASE: must be an http(s) URL', { WECOM_API_BASE: 'file:///x' });
    expectError({}, 'config: WECRED_BASE_PATH: must be a path such as "/release"', { WECRED_BASE_PATH: '/a?b' });
    expectError({}, 'config: WECRED_TRUST_GATEWAY: must be true, false, 1 or 0', { WECRED_TRUST_GATEWAY: 'yes' });
  });
});

describe('secret references', () => {
  const env = { WX_SECRET: 'ENV-SECRET-VALUE', REALM_SECRET: 'ENV-REALM-SECRET-0123456789', WORK_SECRET: 'ENV-WORK' };

  it('resolve env:NAME in every secret field', () => {
    const c = parseConfig(
      {
        apps: [app({ secret: 'env:WX_SECRET', token: 'env:WX_SECRET' })],
        work: [work({ secret: 'env:WORK_SECRET' })],
        realms: [realm({ secret: 'env:REALM_SECRET' })],
      },
      env,
    );
    expect(c.apps[0]?.secret).toBe('ENV-SECRET-VALUE');
    expect(c.apps[0]?.token).toBe('ENV-SECRET-VALUE');
    expect(c.work[0]?.secret).toBe('ENV-WORK');
    expect(c.realms[0]?.secret).toBe('ENV-REALM-SECRET-0123456789');
  });

  it('name the field and variable when the variable is missing', () => {
    expectError(
      { apps: [app(), app({ appid: APPID2, secret: 'env:MISSING' })] },
      'config: apps[1].secret: environment variable MISSING (from env:MISSING) is not set or empty',
      env,
    );
    expectError(
      { work: [work({ secret: 'env:NOPE' })] },
      'config: work[0].secret: environment variable NOPE (from env:NOPE) is not set or empty',
      env,
    );
  });

  it('check the resolved realm secret length without showing it', () => {
    expectError(
      { realms: [realm({ secret: 'env:WORK_SECRET' })] },
      'config: realms[0].secret: must be at least 16 characters (the value of env:WORK_SECRET)',
      env,
    );
  });
});

describe('jsdkd config files', () => {
  it("accepts jsdkd's documented example as is", () => {
    const raw = JSON.parse(
      '{"cors":["example\\\\.com"],"cache":{"memo":{}},"realms":[{"key":"dummy_realm_key","secret":"dummy_realm_secret"}],"apps":[{"key":"dummy_app_key","secret":"dummy_app_secret"}]}',
    );
    const c = parseConfig(raw, {});
    expect(c.cors).toEqual(['example\\.com']);
    expect(c.store).toBe('memory:');
    expect(c.apps).toEqual([
      { appid: 'dummy_app_key', secret: 'dummy_app_secret', type: 'mp', tokenMode: 'stable', default: false },
    ]);
    expect(c.realms).toEqual([
      {
        key: 'dummy_realm_key',
        secret: 'dummy_realm_secret',
        apps: [],
        interfaces: [],
        admin: false,
        legacyMd5: true,
        forceAllowance: 5,
      },
    ]);
  });

  it('accepts the README example', () => {
    const c = parseConfig({ apps: [{ key: 'wx1234567890abcdef', secret: 's' }] }, {});
    expect(c.apps).toEqual([
      { appid: 'wx1234567890abcdef', secret: 's', type: 'mp', tokenMode: 'stable', default: false },
    ]);
  });

  it('accepts short realm secrets only in jsdkd-shaped files', () => {
    expect(
      parseConfig({ apps: [{ key: 'a', secret: 's' }], realms: [{ key: 'r', secret: 'x' }] }, {}).realms[0]?.secret,
    ).toBe('x');
    expectError(
      { apps: [app()], realms: [{ key: 'r', secret: 'short' }] },
      'config: realms[0].secret: must be at least 16 characters',
    );
    expectError(
      { apps: [{ key: 'a', secret: 's' }], realms: [{ key: 'r', secret: '' }] },
      'config: realms[0].secret: must be a non-empty string',
    );
    expectError({ apps: [{ key: '', secret: 's' }] }, 'config: apps[0].key: must be a non-empty string');
    expectError(
      {
        apps: [
          { key: 'a', secret: 's' },
          { key: 'a', secret: 't' },
        ],
      },
      'config: apps[1].key: duplicate of apps[0]',
    );
  });

  it('maps cache to a store unless store is given', () => {
    const store = (cache: unknown, extra: Record<string, unknown> = {}) => parseConfig({ cache, ...extra }, {}).store;
    expect(store({ memo: {} })).toBe('memory:');
    expect(store({ file: '/var/jsdkd/cache.json' })).toBe('file:/var/jsdkd/.wecred');
    expect(store({ file: 'cache.json' })).toBe('file:./.wecred');
    expect(store({ redis: 'redis://localhost:6379/0' })).toBe('redis://localhost:6379/0');
    expect(store({ memo: {} }, { store: 'mysql://h/db' })).toBe('mysql://h/db');
    expect(parseConfig({ cache: { memo: {} } }, { WECRED_STORE: 'file:/data' }).store).toBe('file:/data');
  });

  it('rejects a malformed cache', () => {
    expectError({ cache: { memo: {}, file: 'x' } }, 'config: cache: must have exactly one of file, memo, redis');
    expectError({ cache: {} }, 'config: cache: must have exactly one of file, memo, redis');
    expectError({ cache: { fil: 'x' } }, 'config: cache.fil: unknown key (did you mean "file"?)');
    expectError({ cache: { redis: 'localhost' } }, 'config: cache.redis: must be a redis:// URL');
    expectError({ cache: { file: '' } }, 'config: cache.file: must be a non-empty string');
  });
});

describe('apps[].encodingAESKey (安全模式)', () => {
  const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

  it('is optional, and kept beside the token', () => {
    expect(parseConfig({ apps: [app({ token: 'server-token' })] }, {}).apps[0]).not.toHaveProperty('encodingAESKey');
    expect(parseConfig({ apps: [app({ token: 'server-token', encodingAESKey: KEY })] }, {}).apps[0]).toMatchObject({
      token: 'server-token',
      encodingAESKey: KEY,
    });
  });

  it('must be 43 letters or digits, and needs the token', () => {
    expectError(
      { apps: [app({ token: 't', encodingAESKey: '' })] },
      'config: apps[0].encodingAESKey: must be a non-empty string',
    );
    expectError(
      { apps: [app({ token: 't', encodingAESKey: 42 })] },
      'config: apps[0].encodingAESKey: must be a non-empty string',
    );
    expectError(
      { apps: [app({ token: 't', encodingAESKey: KEY.slice(1) })] },
      'config: apps[0].encodingAESKey: must be 43 letters or digits',
    );
    expectError(
      { apps: [app({ token: 't', encodingAESKey: `${KEY.slice(1)}=` })] },
      'config: apps[0].encodingAESKey: must be 43 letters or digits',
    );
    expectError(
      { apps: [app({ encodingAESKey: KEY })] },
      'config: apps[0].encodingAESKey: needs apps[0].token (encrypted messages are signed with it)',
    );
    expectError(
      { apps: [app({ token: 't', encodingAesKey: KEY })] },
      'config: apps[0].encodingAesKey: unknown key (did you mean "encodingAESKey"?)',
    );
  });

  it('is a secret: a reference resolves, and its value is never shown', () => {
    const c = parseConfig(
      { apps: [app({ token: 'env:WX_TOKEN', encodingAESKey: 'env:WX_AES' })] },
      { WX_TOKEN: 'server-token', WX_AES: KEY },
    );
    expect(c.apps[0]?.encodingAESKey).toBe(KEY);
    expect(
      parseConfig({ apps: [app({ token: 't', encodingAESKey: 'ssm:wx-aes' })] }, {}, new Map([['ssm:wx-aes', KEY]]))
        .apps[0]?.encodingAESKey,
    ).toBe(KEY);
    expectError(
      { apps: [app({ token: 't', encodingAESKey: 'env:WX_AES' })] },
      'config: apps[0].encodingAESKey: must be 43 letters or digits (the value of env:WX_AES)',
      { WX_AES: 'ENV-SECRET-VALUE' },
    );
    expectError(
      { apps: [app({ token: 't', encodingAESKey: 'env:NOPE' })] },
      'config: apps[0].encodingAESKey: environment variable NOPE (from env:NOPE) is not set or empty',
    );
  });

  it('is among the fields loadConfig resolves before parsing', () => {
    const fields = secretFields({ apps: [app({ token: 'ssm:t', encodingAESKey: 'ssm:k' })] }, {});
    expect(fields).toContainEqual({ field: 'apps[0].token', value: 'ssm:t' });
    expect(fields).toContainEqual({ field: 'apps[0].encodingAESKey', value: 'ssm:k' });
  });
});

describe('metrics and alerts', () => {
  it('take secrets, references included, and never show them in an error', () => {
    const c = parseConfig(
      { metrics: { bearer: 'env:BEARER' }, alerts: { wecomWebhook: 'env:ROBOT' } },
      { BEARER: 'BEARER-FROM-ENV-0123456789', ROBOT: ROBOT_URL },
    );
    expect(c.metrics).toEqual({ bearer: 'BEARER-FROM-ENV-0123456789', log: false });
    expect(c.alerts).toEqual({ wecomWebhook: ROBOT_URL });
    expectError({ metrics: { bearer: 'short' } }, 'config: metrics.bearer: must be at least 16 characters');
    expectError({ metrics: { log: 'yes' } }, 'config: metrics.log: must be true or false');
    expectError({ alerts: { webhook: 'ROBOT-KEY-0123' } }, 'config: alerts.webhook: must be an http(s) URL');
    expectError(
      { alerts: { wecomWebhook: 'env:ROBOT' } },
      'config: alerts.wecomWebhook: must be an http(s) URL (the value of env:ROBOT)',
      { ROBOT: 'ftp://ROBOT-KEY-0123' },
    );
    expectError({ alerts: { wecom: ROBOT_URL } }, 'config: alerts.wecom: unknown key');
    expect(secretFields({ metrics: { bearer: 'ssm:b' }, alerts: { webhook: 'ssm:w' } }, {})).toEqual([
      { field: 'metrics.bearer', value: 'ssm:b' },
      { field: 'alerts.webhook', value: 'ssm:w' },
    ]);
  });
});

describe('OAuth web login settings', () => {
  const OAUTH_SECRET = 'OAUTH-SECRET-VALUE-0123456789abcdef';

  it('are optional; callbackBase, secret and website apps are kept', () => {
    expect(parseConfig({}, {}).oauth).toEqual({ redirects: [] });
    const c = parseConfig(
      {
        apps: [app({ type: 'web', default: true })],
        oauth: {
          redirects: ['https://app\\.example\\.com/.*'],
          callbackBase: 'https://cred.example.com/release/',
          secret: OAUTH_SECRET,
        },
      },
      {},
    );
    expect(c.oauth).toEqual({
      redirects: ['https://app\\.example\\.com/.*'],
      callbackBase: 'https://cred.example.com/release',
      secret: OAUTH_SECRET,
    });
    expect(c.apps[0]?.type).toBe('web');
  });

  it('check callbackBase and the secret (at least 32 characters, needed with callbackBase), never showing it', () => {
    expectError(
      { oauth: { callbackBase: 'cred.example.com', secret: OAUTH_SECRET } },
      'config: oauth.callbackBase: must be an http(s) URL',
    );
    expectError(
      { oauth: { callbackBase: 'https://cred.example.com/?a', secret: OAUTH_SECRET } },
      'config: oauth.callbackBase: must be an http(s) URL without query or fragment',
    );
    expectError(
      { oauth: { callbackBase: 'https://cred.example.com' } },
      'config: oauth.secret: is required with oauth.callbackBase (it signs the login results)',
    );
    expectError({ oauth: { secret: 'short' } }, 'config: oauth.secret: must be at least 32 characters');
    expectError(
      { oauth: { secret: 'env:SHORT' } },
      'config: oauth.secret: must be at least 32 characters (the value of env:SHORT)',
      { SHORT: 'ENV-SECRET-VALUE' },
    );
    expectError({ oauth: { secrets: OAUTH_SECRET } }, 'config: oauth.secrets: unknown key (did you mean "secret"?)');
  });

  it('refuse a redirect pattern that allows any host (the look-alikes of a named host are refused at each redirect)', () => {
    for (const loose of ['.*', 'https?://.*', 'https://[^/]+/', 'https://.*\\.?/.*']) {
      expectError(
        { oauth: { redirects: ['https://app\\.example\\.com/.*', loose] } },
        'config: oauth.redirects[1]: allows any host: name the host, e.g. "https://app\\.example\\.com/.*"',
      );
    }
    expect(
      parseConfig({ oauth: { redirects: ['https://[a-z]+\\.example\\.com/.*'] } }, {}).oauth.redirects,
    ).toHaveLength(1);
  });

  it('take the secret from a reference, and list it for loadConfig', () => {
    expect(parseConfig({ oauth: { secret: 'env:OAUTH' } }, { OAUTH: OAUTH_SECRET }).oauth.secret).toBe(OAUTH_SECRET);
    expect(
      parseConfig({ oauth: { secret: 'ssm:wecred-oauth' } }, {}, new Map([['ssm:wecred-oauth', OAUTH_SECRET]])).oauth
        .secret,
    ).toBe(OAUTH_SECRET);
    expect(secretFields({ oauth: { secret: 'ssm:wecred-oauth' } }, {})).toContainEqual({
      field: 'oauth.secret',
      value: 'ssm:wecred-oauth',
    });
  });

  it('point at open.weixin.qq.com unless upstream.open or WECHAT_OPEN_BASE says otherwise', () => {
    expect(parseConfig({}, {}).upstream.open).toBeUndefined();
    expect(parseConfig({ upstream: { open: 'http://127.0.0.1:9000/' } }, {}).upstream.open).toBe(
      'http://127.0.0.1:9000',
    );
    expect(
      parseConfig({ upstream: { open: 'http://127.0.0.1:9000' } }, { WECHAT_OPEN_BASE: 'http://127.0.0.1:9100' })
        .upstream.open,
    ).toBe('http://127.0.0.1:9100');
    expectError({ upstream: { open: 'open.weixin.qq.com' } }, 'config: upstream.open: must be an http(s) URL');
    expectError({}, 'config: WECHAT_OPEN_BASE: must be an http(s) URL', { WECHAT_OPEN_BASE: 'nope' });
  });
});

describe('storeOutage', () => {
  it('nonces: memory (the default) or refuse', () => {
    expect(parseConfig({}, {}).storeOutage).toEqual({ nonces: 'memory' });
    expectError({ storeOutage: { nonces: 'local' } }, 'config: storeOutage.nonces: must be "memory" or "refuse"');
    expectError(
      { storeOutage: { nonce: 'memory' } },
      'config: storeOutage.nonce: unknown key (did you mean "nonces"?)',
    );
  });
});

describe('rules across fields', () => {
  it('a lease is kept alive by its holder: its duration does not depend on the upstream timeout', () => {
    expect(parseConfig({ upstream: { timeoutMs: 30000 } }, {}).credentials.leaseSeconds).toBe(3);
    expect(parseConfig({ upstream: { timeoutMs: 4000 }, credentials: { leaseSeconds: 5 } }, {}).credentials).toEqual({
      refreshAheadSeconds: 300,
      localCacheSeconds: 30,
      leaseSeconds: 5,
      forceCooldownSeconds: 60,
    });
    expectError(
      { credentials: { leaseSeconds: 61 } },
      'config: credentials.leaseSeconds: must be an integer between 1 and 60',
    );
  });

  it("a realm's daily allowance of forced refreshes defaults to 5, none for an admin realm", () => {
    const [plain, admin, set] = parseConfig(
      {
        realms: [realm({ key: 'a' }), realm({ key: 'b', admin: true }), realm({ key: 'c', forceAllowance: 0 })],
      },
      {},
    ).realms;
    expect([plain!.forceAllowance, admin!.forceAllowance, set!.forceAllowance]).toEqual([5, null, 0]);
    expectError(
      { realms: [realm({ forceAllowance: -1 })] },
      'config: realms[0].forceAllowance: must be an integer between 0 and 10000',
    );
  });

  it('realm interfaces must be known; an alias becomes its canonical name', () => {
    expectError(
      { realms: [realm({ interfaces: ['access_token', 'acces_token'] })] },
      'config: realms[0].interfaces[1]: unknown interface acces_token',
    );
    expectError(
      { realms: [realm(), realm({ key: 'b', interfaces: ['session.login', 'nope'] })] },
      'config: realms[1].interfaces[1]: unknown interface nope',
    );
    const interfaces = [
      'qcloud.mimi.access_token',
      'qcloud.cos.auth.nonreusable',
      'qcloud.cam.userinfo',
      'work.ticket',
    ];
    expect(parseConfig({ realms: [realm({ interfaces })] }, {}).realms[0]?.interfaces).toEqual([
      'access_token',
      'cos.sign',
      'session.decrypt',
      'work.ticket',
    ]);
  });

  it("a realm's apps must each be a configured app, WeCom corp or COS bucket", () => {
    expectError(
      { apps: [app()], realms: [realm({ apps: [APPID, APPID2] })] },
      `config: realms[0].apps[1]: ${APPID2} is not a configured app, component, WeCom corp, suite or COS bucket`,
    );
    expectError(
      { realms: [realm({ apps: ['uploads-1250000000'] })] },
      'config: realms[0].apps[0]: uploads-1250000000 is not a configured app, component, WeCom corp, suite or COS bucket',
    );
    // A corp is configured by one of its agents; one with none is a typo too.
    expectError(
      { work: [work()], realms: [realm({ apps: ['ww0123456789abcdef', 'wwffffffffffffffff'] })] },
      'config: realms[0].apps[1]: wwffffffffffffffff is not a configured app, component, WeCom corp, suite or COS bucket',
    );
    const cos = {
      secretId: 'id',
      secretKey: 'key',
      region: 'ap-beijing',
      scopes: [{ bucket: 'uploads-1250000000', prefix: '' }],
    };
    // An older corp's wx… corpid counts when configured.
    const corps = ['ww0123456789abcdef', 'wx0123456789abcdef'];
    const c = parseConfig(
      {
        apps: [app()],
        work: [work(), work({ corpid: 'wx0123456789abcdef' })],
        cos,
        realms: [realm({ apps: [APPID, 'uploads-1250000000', ...corps] })],
      },
      {},
    );
    expect(c.realms[0]?.apps).toEqual([APPID, 'uploads-1250000000', ...corps]);
    // jsdkd files name their apps by key, of any shape.
    expect(
      parseConfig(
        { apps: [{ key: 'dummy_app_key', secret: 's' }], realms: [{ key: 'r', secret: 'x', apps: ['dummy_app_key'] }] },
        {},
      ).realms[0]?.apps,
    ).toEqual(['dummy_app_key']);
  });
});

describe('cos', () => {
  const BUCKET = 'uploads-1250000000';
  const scope = (extra: Record<string, unknown> = {}) => ({ bucket: BUCKET, prefix: 'a/', ...extra });
  const cos = (extra: Record<string, unknown> = {}) => ({
    secretId: 'COS-SECRET-ID',
    secretKey: 'COS-SECRET-KEY',
    region: 'ap-beijing',
    scopes: [scope()],
    ...extra,
  });

  it('keeps explicit values and fills in the rest', () => {
    const c = parseConfig(
      {
        cos: cos({
          roleArn: 'qcs::cam::uin/12345678:roleName/cos-uploader',
          durationSeconds: 43200,
          scopes: [scope(), scope({ region: 'ap-shanghai', prefix: '', actions: ['name/cos:GetObject'] })],
        }),
      },
      {},
    );
    expect(c.cos).toEqual({
      secretId: 'COS-SECRET-ID',
      secretKey: 'COS-SECRET-KEY',
      region: 'ap-beijing',
      roleArn: 'qcs::cam::uin/12345678:roleName/cos-uploader',
      durationSeconds: 43200,
      scopes: [
        { bucket: BUCKET, region: 'ap-beijing', prefix: 'a/', actions: expect.arrayContaining(['name/cos:PutObject']) },
        { bucket: BUCKET, region: 'ap-shanghai', prefix: '', actions: ['name/cos:GetObject'] },
      ],
    });
  });

  it('names the field and the problem of each mistake', () => {
    expectError({ cos: [] }, 'config: cos: must be an object');
    expectError({ cos: cos({ secretKeys: 'x' }) }, 'config: cos.secretKeys: unknown key (did you mean "secretKey"?)');
    expectError(
      { cos: cos({ region: 'Beijing' }) },
      'config: cos.region: must be a Tencent Cloud region such as ap-beijing',
    );
    expectError({ cos: cos({ region: undefined }) }, 'config: cos.region: must be a non-empty string');
    expectError({ cos: cos({ secretId: '' }) }, 'config: cos.secretId: must be a non-empty string');
    expectError(
      { cos: cos({ secretKey: 'env:NOPE' }) },
      'config: cos.secretKey: environment variable NOPE (from env:NOPE) is not set or empty',
    );
    expectError(
      { cos: cos({ durationSeconds: 7201 }) },
      'config: cos.durationSeconds: must be an integer between 300 and 7200',
    );
    expectError(
      { cos: cos({ durationSeconds: 43201, roleArn: 'qcs::cam::uin/1:role/2' }) },
      'config: cos.durationSeconds: must be an integer between 300 and 43200',
    );
    expectError(
      { cos: cos({ durationSeconds: 300 }) },
      'config: cos.durationSeconds: must be longer than credentials.refreshAheadSeconds (300), or every request would fetch new keys',
    );
    expectError(
      { cos: cos({ roleArn: 'role' }) },
      'config: cos.roleArn: must be a role ARN such as qcs::cam::uin/12345678:roleName/cos-uploader',
    );
    expectError({ cos: cos({ scopes: [] }) }, 'config: cos.scopes: must list at least one {bucket, prefix}');
    expectError({ cos: cos({ scopes: undefined }) }, 'config: cos.scopes: must list at least one {bucket, prefix}');
    expectError({ cos: cos({ scopes: {} }) }, 'config: cos.scopes: must be an array');
    expectError({ cos: cos({ scopes: ['x'] }) }, 'config: cos.scopes[0]: must be an object');
    expectError(
      { cos: cos({ scopes: [scope(), scope({ bucket: 'uploads' })] }) },
      'config: cos.scopes[1].bucket: must be the full bucket name, <name>-<APPID> (e.g. examplebucket-1250000000)',
    );
    expectError(
      { cos: cos({ scopes: [scope({ region: 'Shanghai' })] }) },
      'config: cos.scopes[0].region: must be a COS region such as ap-beijing',
    );
    for (const prefix of ['/a', 'a*', 5, undefined, 'x'.repeat(257)]) {
      expectError(
        { cos: cos({ scopes: [scope({ prefix })] }) },
        'config: cos.scopes[0].prefix: must be a key prefix ("" for the whole bucket) of at most 256 characters, without "*" or a leading "/"',
      );
    }
    expectError(
      { cos: cos({ scopes: [scope({ actions: [] })] }) },
      'config: cos.scopes[0].actions: must list at least one action',
    );
    expectError(
      { cos: cos({ scopes: [scope({ actions: ['name/cos:GetObject', 'cos:PutObject'] })] }) },
      'config: cos.scopes[0].actions[1]: must be a COS action such as "name/cos:PutObject"',
    );
    expectError(
      { cos: cos({ scopes: [scope({ actions: [''] })] }) },
      'config: cos.scopes[0].actions[0]: must be a non-empty string',
    );
  });
});

describe('other messages', () => {
  it('name the field and the problem', () => {
    expectError(
      { upstream: { sts: 'https://sts.example.com/path' } },
      'config: upstream.sts: must be host[:port] or http(s)://host[:port]',
    );
    expectError({ upstream: { showqrcode: 'x' } }, 'config: upstream.showqrcode: must be an http(s) URL');
    expectError(
      { upstream: { budgetMs: null } },
      'config: upstream.budgetMs: must be an integer between 5000 and 120000 (at least upstream.timeoutMs)',
    );
    expectError({ cache: { memo: 1 } }, 'config: cache.memo: must be an object');
    expectError({ cache: 'memo' }, 'config: cache: must be an object');
    expectError({ work: [work({ agentid: null })] }, `config: work[0].agentid: ${AGENTID_RULE}`);
    expectError({ realms: [realm({ apps: ['ok', 5] })] }, 'config: realms[0].apps[1]: must be a non-empty string');
    expectError({ sessions: [] }, 'config: sessions: must be an object');
    expectError(
      { apps: [app({ type: 'mina', secret: 'env:1X' })] },
      'config: apps[0].secret: env: reference must name a variable (env:NAME)',
    );
    expectError({ store: 'env:DB' }, 'config: store: needs a location after "mysql://" (the value of env:DB)', {
      DB: 'mysql://',
    });
  });

  it('list every secret field, and the secret environment variables, for loadConfig', () => {
    const raw = {
      apps: [app({ token: 'T', encodingAESKey: 'ssm:k' }), 'not an app'],
      work: [work({ secret: 'ssm:w' })],
      realms: [realm({ secret: 'secretsmanager:r#k' })],
      oauth: { secret: 'ssm:o' },
      cos: { secretId: 'ssm:i', secretKey: 'ssm:k', region: 'nowhere', scopes: [] },
      store: 'ssm:store',
    };
    expect(secretFields(raw, { WECRED_MASTER_KEY: 'ssm:master', WECRED_STORE: '', OTHER: 'ssm:x' })).toEqual([
      { field: 'apps[0].secret', value: APP_SECRET },
      { field: 'apps[0].token', value: 'T' },
      { field: 'apps[0].encodingAESKey', value: 'ssm:k' },
      { field: 'work[0].secret', value: 'ssm:w' },
      { field: 'realms[0].secret', value: 'secretsmanager:r#k' },
      { field: 'oauth.secret', value: 'ssm:o' },
      { field: 'store', value: 'ssm:store' },
      { field: 'cos.secretId', value: 'ssm:i' },
      { field: 'cos.secretKey', value: 'ssm:k' },
      { field: 'WECRED_MASTER_KEY', value: 'ssm:master' },
    ]);
  });
});
