/**
 * wecred-client as its users get it: built and packed with npm, installed from the tarball into
 * a scratch project, and used against a wecred over the simulators (WeChat, WeCom, Tencent Cloud
 * STS). Every interface of the server's table has a helper that round-trips with the shape the
 * client declares; failures are WecredErrors with the server's returnCode; the README's signing
 * vector is the server's. docs/design.md §2.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type * as Client from 'wecred-client';
import { VECTOR } from '../client/test/vector';
import { realmSignature } from '../lib/crypto/realm';
import { INTERFACES } from '../lib/interfaces';
import { WechatSim } from '../sim';
import { TencentCloudSim } from '../sim/tencentcloud';
import { expectShape, SHAPES } from './client-shapes';
import { COMPONENT } from './support/component-stack';
import { OAUTH_SECRET } from './support/oauth-stack';
import { ADMIN, MP, MP2, REALM, startStack, type Stack } from './support/stack';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const MINA = { appid: 'wx4444444444444444', secret: 'mina-secret-4444' };
const AGENT = { corpid: 'ww0123456789abcdef', agentid: '1000002', secret: 'wecom-agent-secret-01' };
const COS = { secretId: 'AKIDcospermanent000000000000000000000', secretKey: 'cos-permanent-secret-key-0123456789' };
const BUCKET = { bucket: 'uploads-1250000000', region: 'ap-guangzhou', prefix: 'avatars/' };

let scratch: string;
let pkg: typeof Client;
let sim: WechatSim;
let sts: TencentCloudSim;
let stack: Stack;
let admin: Client.WecredClient;

beforeAll(async () => {
  vi.stubEnv('http_proxy', ''); // the STS SDK would send loopback calls to a proxy
  vi.stubEnv('HTTP_PROXY', '');
  scratch = await mkdtemp(join(tmpdir(), 'wecred-client-'));
  const installed = installTarball(scratch);
  sim = await WechatSim.start();
  sts = await TencentCloudSim.start({ ...COS, now: () => sim.now(), signatureNow: Date.now });
  stack = await startStack({
    sim,
    env: { WECRED_MASTER_KEY: randomBytes(32).toString('base64') },
    config: {
      apps: [
        { ...MP, type: 'mp', default: true },
        { ...MP2, type: 'mp', tokenMode: 'classic' },
        { ...MINA, type: 'mina' },
      ],
      work: [AGENT],
      realms: [
        { ...REALM, apps: [MP.appid, MP2.appid], interfaces: ['access_token'] },
        { ...ADMIN, admin: true },
      ],
      components: [COMPONENT],
      oauth: {
        redirects: ['https://app\\.example\\.com/.*'],
        callbackBase: 'https://wecred.example.com',
        secret: OAUTH_SECRET,
      },
      upstream: { mp: sim.url, work: sim.url, open: sim.url, sts: sts.url, timeoutMs: 1000, budgetMs: 4000 },
      cos: { ...COS, region: BUCKET.region, scopes: [{ bucket: BUCKET.bucket, prefix: BUCKET.prefix }] },
    },
  });
  sim.addComponent(COMPONENT.appid, COMPONENT);
  await sim.componentPushUrl(COMPONENT.appid, `${stack.url}/wechat/component/${COMPONENT.appid}`);
  await sim.componentPushesSettled();
  pkg = await installed;
  admin = new pkg.WecredClient({ url: stack.url, realm: ADMIN.key, secret: ADMIN.secret });
}, 120_000);

/** `npm pack` in client/ (its prepack builds it), then `npm install` of the tarball into `dir`: the package as a user gets it. */
async function installTarball(dir: string): Promise<typeof Client> {
  const [packed] = JSON.parse(
    (await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: join(root, 'client') })).stdout,
  );
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, packed.filename)], { cwd: dir });
  return import(pathToFileURL(join(dir, 'node_modules/wecred-client/dist/index.js')).href);
}

afterAll(async () => {
  await stack?.close();
  await sts?.close();
  await sim?.close();
  vi.unstubAllEnvs();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const page = 'https://app.example.com/page?x=1#section';
const login = (c: Client.WecredClient) => {
  const code = sim.minaLogin(MINA.appid);
  const { encryptedData, iv } = sim.minaUserData(MINA.appid);
  return c.session.login({ appid: MINA.appid, code, encrypt_data: encryptedData, iv });
};

/** One call of each canonical interface through its helper, checked against the client's declared shape. */
const ROUND_TRIPS: Record<string, (c: Client.WecredClient) => Promise<void>> = {
  access_token: async (c) => {
    const d = await c.accessToken(MP.appid);
    expectShape(d, SHAPES.accessToken);
    expect(sim.tokenState(MP.appid, d.access_token)).toBe('valid');
  },
  ticket: async (c) => expectShape(await c.ticket({ appid: MP.appid, type: 'wx_card' }), SHAPES.ticket),
  'jsapi.config': async (c) => {
    const d = await c.jsapiConfig({ appid: MP.appid, url: page, debug: true });
    expectShape(d, SHAPES.jsapiConfig, true);
    expect(d.debug).toBe(true);
    expect(sim.verifyJsapiSignature({ ...d, appid: MP.appid, url: page.split('#')[0]! })).toBe(true);
  },
  'work.suite.install_url': async (c) => {
    // this deployment has no suite: the helper reaches the interface, which says so
    await expect(
      c.work.suiteInstallUrl({ suite_id: 'ww0000000000000a11', redirect_uri: 'https://app.example.com/' }),
    ).rejects.toMatchObject({ returnCode: 1012 });
  },
  'quota.clear': async (c) => {
    const d = await c.quotaClear({ appid: MP.appid });
    expect(d).toMatchObject({ appid: MP.appid, used: 1, limit: 10, unblocked: [] });
    expect(typeof d.lastClearAt).toBe('number');
  },
  status: async (c) => {
    const d = await c.status();
    expectShape(d, SHAPES.status);
    expect(d.credentials.length).toBeGreaterThan(0);
    for (const cred of d.credentials) {
      expectShape(cred, SHAPES.credential);
      expectShape(cred.today, SHAPES.today);
    }
  },
  query: async (c) => expectShape(await c.query({ appid: MP.appid, key: 'ticket' }), SHAPES.query),
  'qrcode.create': async (c) => {
    const d = await c.qrcodeCreate({ scene: 'welcome', expire_seconds: 600 });
    expectShape(d, SHAPES.qrcode);
    expect(sim.qrcode(d.ticket)).toMatchObject({ appid: MP.appid, scene: 'welcome' });
  },
  'oauth.authorize_url': async (c) =>
    expectShape(
      await c.oauth.authorizeUrl({ redirect_uri: 'https://app.example.com/back', scope: 'snsapi_userinfo' }),
      SHAPES.authorizeUrl,
    ),
  'oauth.exchange': async (c) => {
    const d = await c.oauth.exchange({ appid: MP.appid, code: sim.oauthCode(MP.appid, 'snsapi_userinfo') });
    expectShape(d, SHAPES.exchange);
    expectShape(d.user, SHAPES.oauthUser);
  },
  'session.login': async (c) => expectShape(await login(c), SHAPES.login),
  'session.check': async (c) => {
    const s = await login(c);
    expectShape(await c.session.check({ id: s.id, skey: s.skey }), SHAPES.check);
  },
  'session.decrypt': async (c) => {
    const s = await login(c);
    const { encryptedData, iv } = sim.minaUserData(MINA.appid);
    const d = await c.session.decrypt({ id: s.id, skey: s.skey, encrypt_data: encryptedData, iv });
    expect(d.watermark).toMatchObject({ appid: MINA.appid });
  },
  'cos.credentials': async (c) => expectShape(await c.cos.credentials(BUCKET), SHAPES.cosCredentials),
  'cos.sign': async (c) => {
    const para = { method: 'PUT', bucket: BUCKET.bucket, region: BUCKET.region, key: 'avatars/a.png' } as const;
    expectShape(await c.cos.sign(para), SHAPES.cosSign);
    expectShape(await c.cos.signOnce(para), SHAPES.cosSign);
  },
  'work.access_token': async (c) => expectShape(await c.work.accessToken(AGENT), SHAPES.workAccessToken),
  'work.ticket': async (c) => expectShape(await c.work.ticket(AGENT), SHAPES.workTicket),
  'work.agent_ticket': async (c) => expectShape(await c.work.agentTicket(AGENT), SHAPES.workAgentTicket),
  'work.jsapi.config': async (c) => {
    const d = await c.work.jsapiConfig({ ...AGENT, url: page });
    expectShape(d, SHAPES.workJsapiConfig);
    expectShape(d.config, SHAPES.workConfig);
    expectShape(d.agentConfig, SHAPES.workAgentConfig);
  },
  'component.authorize_url': async (c) => {
    const d = await c.component.authorizeUrl({ redirect_uri: 'https://app.example.com/installed', auth_type: 1 });
    expectShape(d, SHAPES.componentAuthorizeUrl);
    expect(d.component_appid).toBe(COMPONENT.appid);
  },
  'component.authorizers': async (c) => {
    const d = await c.component.authorizers();
    expectShape(d, SHAPES.componentAuthorizers);
    expect(d.components).toEqual([{ component_appid: COMPONENT.appid, verify_ticket_at: expect.any(Number) }]);
  },
  'work.register_agent': async (c) =>
    expectShape(
      await c.work.registerAgent({ corpid: AGENT.corpid, agentid: 1000009, agentsecret: 'another-agent-secret' }),
      SHAPES.registerAgent,
    ),
};
/** Helpers for the Wafer fork's names whose behaviour differs from their canonical interface. */
const FORK_HELPERS: Record<string, (c: Client.WecredClient) => Promise<void>> = {
  'qcloud.cam.userinfo': async (c) => {
    const s = await c.session.login({ appid: MINA.appid, code: sim.minaLogin(MINA.appid) });
    const { encryptedData, iv } = sim.minaUserData(MINA.appid);
    expectShape(await c.session.userInfo({ id: s.id, skey: s.skey, encrypt_data: encryptedData, iv }), SHAPES.userInfo);
  },
};

describe("the client's interface table is the server's", () => {
  it('names every interfaceName and alias the server answers, and no other', async () => {
    const { INTERFACE_NAMES } = await import('wecred-client');
    const server = INTERFACES.flatMap((d) => [d.name, ...(d.aliases ?? [])]);
    expect([...INTERFACE_NAMES].sort()).toEqual(server.sort());
  });

  it('has a helper, tested below, for every canonical interface', () => {
    const canonical = INTERFACES.filter((d) => !d.aliasOf).map((d) => d.name);
    expect(Object.keys(ROUND_TRIPS).sort()).toEqual(canonical.sort());
  });
});

describe('wecred-client from its tarball, in a scratch project', () => {
  it('resolves by name from plain node, and its types check under NodeNext', async () => {
    await writeFile(
      join(scratch, 'use.mjs'),
      `import { WecredClient } from 'wecred-client';
       const c = new WecredClient({ url: process.env.WECRED_URL, realm: process.env.WECRED_REALM, secret: process.env.WECRED_REALM_SECRET });
       console.log(JSON.stringify(await c.accessToken(process.argv[2])));`,
    );
    const env = { ...process.env, WECRED_URL: stack.url, WECRED_REALM: REALM.key, WECRED_REALM_SECRET: REALM.secret };
    const { stdout } = await run(process.execPath, ['use.mjs', MP.appid], { cwd: scratch, env });
    expect(sim.tokenState(MP.appid, JSON.parse(stdout).access_token)).toBe('valid');

    await writeFile(
      join(scratch, 'check.ts'),
      `import { WecredClient, WecredError, type AccessTokenData } from 'wecred-client';
       const c = new WecredClient({ url: 'http://127.0.0.1:1', realm: 'r', secret: 's' });
       export const t: Promise<AccessTokenData> = c.accessToken('wx1');
       export const n: Promise<number> = c.work.accessToken({ corpid: 'ww1', agentid: 1 }).then((d) => d.exp);
       // @ts-expect-error: qrcode.create takes a scene
       c.qrcodeCreate({});
       export const e = (x: unknown) => x instanceof WecredError && x.returnCode;`,
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const flags = [
      '--noEmit',
      '--skipLibCheck',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--types',
      'node',
    ];
    await run(process.execPath, [tsc, ...flags, '--typeRoots', join(root, 'node_modules/@types'), 'check.ts'], {
      cwd: scratch,
    });
  });

  it.each(Object.keys(ROUND_TRIPS))('%s round-trips through its helper', (name) => ROUND_TRIPS[name]!(admin));
  it.each(Object.keys(FORK_HELPERS))('%s round-trips through its helper', (name) => FORK_HELPERS[name]!(admin));

  it('a wrong secret is a WecredError with returnCode 7002', async () => {
    const c = new pkg.WecredClient({ url: stack.url, realm: REALM.key, secret: 'not-the-secret-0123456789' });
    const err = await c.accessToken(MP.appid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(pkg.WecredError);
    expect(err).toMatchObject({ returnCode: 7002, code: 'bad_signature', status: 200, interfaceName: 'access_token' });
    expect(String((err as Error).message)).not.toContain('not-the-secret');
  });

  it('an interface outside the realm is 7006, an app outside it 7005', async () => {
    const c = new pkg.WecredClient({ url: stack.url, realm: REALM.key, secret: REALM.secret });
    await expect(c.ticket({ appid: MP.appid })).rejects.toMatchObject({
      returnCode: 7006,
      code: 'interface_not_allowed',
    });
    await expect(c.accessToken(MINA.appid)).rejects.toMatchObject({ returnCode: 7005, code: 'app_not_allowed' });
  });

  it("WeChat's errcode travels with the returnCode", async () => {
    sim.fault('qrcode_create', { errcode: 40053, errmsg: 'invalid action info' });
    await expect(admin.qrcodeCreate({ scene: 5 })).rejects.toMatchObject({ returnCode: 7301, errcode: 40053 });
  });

  it('a timeout is a WecredError of its own code, -1', async () => {
    sim.fault('token', { delayMs: 1500 });
    const c = new pkg.WecredClient({ url: stack.url, realm: ADMIN.key, secret: ADMIN.secret, timeoutMs: 200 });
    const started = Date.now();
    await expect(c.accessToken(MP2.appid)).rejects.toMatchObject({ returnCode: -1, code: 'timeout', status: 0 });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('no server is a WecredError -2, an answer that is not an envelope -3', async () => {
    const gone = new pkg.WecredClient({ url: 'http://127.0.0.1:1', realm: REALM.key, secret: REALM.secret });
    await expect(gone.accessToken()).rejects.toMatchObject({ returnCode: -2, code: 'network' });
    const wrong = new pkg.WecredClient({ url: `${sim.url}/cgi-bin`, realm: REALM.key, secret: REALM.secret });
    await expect(wrong.accessToken()).rejects.toMatchObject({ returnCode: -3, code: 'bad_answer' });
  });

  it('withAccessToken reports a token WeChat rejected as stale once and retries once', async () => {
    const used: string[] = [];
    const getticket = async (token: string) => {
      used.push(token);
      const r = (await (
        await fetch(`${sim.url}/cgi-bin/ticket/getticket?type=jsapi&access_token=${token}`)
      ).json()) as {
        errcode: number;
        errmsg: string;
      };
      if (r.errcode !== 0) throw Object.assign(new Error(r.errmsg), { errcode: r.errcode });
      return r;
    };
    const first = (await admin.accessToken(MP.appid)).access_token;
    sim.invalidateToken(first);
    const forced = sim.calls('stable_token', MP.appid);
    await expect(admin.withAccessToken(MP.appid, getticket)).resolves.toMatchObject({ errcode: 0 });
    expect(used).toHaveLength(2);
    expect(used[0]).toBe(first);
    expect(sim.tokenState(MP.appid, used[1]!)).toBe('valid');
    expect(sim.calls('stable_token', MP.appid)).toBe(forced + 1);

    // WeCom: an agent's token WeCom ended early (40014) is replaced the same way
    const workToken = (await admin.work.accessToken(AGENT)).access_token;
    sim.invalidateWorkToken(workToken);
    const gettoken = sim.calls('work_gettoken');
    const corpTicket = async (token: string) => {
      const r = (await (await fetch(`${sim.url}/cgi-bin/get_jsapi_ticket?access_token=${token}`)).json()) as any;
      if (r.errcode !== 0) throw Object.assign(new Error(r.errmsg), { errcode: r.errcode });
      return token;
    };
    const used2 = await admin.work.withAccessToken(AGENT, corpTicket);
    expect(used2).not.toBe(workToken);
    expect(sim.calls('work_gettoken')).toBe(gettoken + 1);

    // a failure that is not a rejected token is not retried
    const once = vi.fn(async () => {
      throw Object.assign(new Error('busy'), { errcode: -1 });
    });
    await expect(admin.withAccessToken(MP.appid, once)).rejects.toThrow('busy');
    expect(once).toHaveBeenCalledTimes(1);
  });
});

describe('the signing vector', () => {
  it("is the server's own signature, and the README shows it", async () => {
    expect(realmSignature(VECTOR.secret, VECTOR)).toBe(VECTOR.signature);
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    for (const part of [
      VECTOR.secret,
      VECTOR.timestamp,
      VECTOR.nonce,
      VECTOR.body,
      VECTOR.bodySha256,
      VECTOR.signature,
    ])
      expect(readme.includes(part), `README shows ${part}`).toBe(true);
  });
});
