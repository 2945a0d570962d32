/**
 * The deployable zips (`npm run package`) as SCF and Lambda run them: each unzipped into an
 * empty directory with no node_modules above it, then required by a bare node process and fed
 * the recorded platform events, against the simulator. docs/design.md §4, §9.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageBundles, SCF_INDEX_BUDGET_BYTES, type Bundles } from '../scripts/package';
import { WechatSim } from '../sim';
import { runBundle } from './support/bundle-process';
import { type Unzipped, unzip } from './support/zip';
import { loadEvent, type SampleName } from './support/events';
import { MP, REALM, signedHeaders } from './support/stack';
import { SHARED_STORES } from './support/stores';

let bundles: Bundles;
let sim: WechatSim;
let env: Record<string, string>;

let scf: Unzipped;
let aws: Unzipped;

/** Directories from `dir` up to the root that hold a node_modules (the bundle must need none). */
function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(d);
    if (dirname(d) === d) return found;
  }
}

/** A recorded event, aimed at our app. */
const sample = (name: SampleName) => JSON.parse(JSON.stringify(loadEvent(name)).replaceAll('wx123', MP.appid));

const verifies = (result: any, sentBody: string) => {
  const body = JSON.parse(result.body);
  const url = JSON.parse(sentBody).url.split('#')[0];
  return sim.verifyJsapiSignature({
    appid: MP.appid,
    url,
    nonceStr: body.nonceStr,
    timestamp: body.timestamp,
    signature: body.signature,
  });
};

/** Third-party code requires builtins unprefixed (ours always writes `node:`): none may run while the bundle loads. */
const evaluatedDependencies = (required: string[]) => required.filter((id) => !id.startsWith('node:'));

beforeAll(async () => {
  bundles = await packageBundles();
  scf = await unzip(bundles.scf.zip);
  aws = await unzip(bundles.aws.zip);
  sim = await WechatSim.start();
  sim.addApp(MP.appid, MP.secret);
  env = {
    WECRED_CONFIG_JSON: JSON.stringify({
      apps: [{ ...MP, type: 'mp' }],
      realms: [{ ...REALM, apps: [MP.appid], interfaces: ['access_token', 'ticket'] }],
      store: 'memory:',
      upstream: { mp: sim.url },
    }),
    // Each bundle process is one instance: its memory store is what the operator means.
    WECRED_ALLOW_LOCAL_STORE: '1',
  };
}, 180_000);

afterAll(async () => {
  await sim?.close();
  for (const u of [scf, aws]) if (u) await rm(u.dir, { recursive: true, force: true });
});

describe('dist/wecred-scf.zip', () => {
  it('holds index.js within its size budget and an executable scf_bootstrap, and needs no node_modules', async () => {
    expect(scf.modes).toEqual({ 'index.js': 0o644, scf_bootstrap: 0o755 });
    expect(bundles.scf.files['index.js']).toBeLessThanOrEqual(SCF_INDEX_BUDGET_BYTES);
    expect(nodeModulesAbove(scf.dir)).toEqual([]);
    expect(await readFile(join(scf.dir, 'index.js'), 'utf8')).not.toContain('require("@aws-sdk');
  });

  it('main_handler answers Function-URL and API-gateway events and runs the refresher on timer events', async () => {
    const url = sample('scf-url');
    const apigw = sample('scf-apigw');
    const ping = { ...sample('scf-url'), httpMethod: 'GET', path: '/ping', body: '' };
    const envelope = JSON.stringify({
      version: 1,
      componentName: 'MA',
      interface: { interfaceName: 'access_token', para: { appid: MP.appid } },
    });
    const signed = {
      ...sample('scf-apigw'),
      path: '/',
      body: envelope,
      headers: { ...apigw.headers, ...signedHeaders(REALM, '/', envelope) },
    };
    const before = { token: sim.calls('stable_token'), ticket: sim.calls('getticket') };

    const run = await runBundle(
      scf.dir,
      'index.js',
      'main_handler',
      [sample('scf-timer'), ping, url, apigw, signed],
      env,
    );
    const [timer, pong, viaUrl, viaApigw, token] = run.results;

    expect(run.exports.sort()).toEqual(['main_handler', 'serve']);
    expect(evaluatedDependencies(run.requiredAtLoad)).toEqual([]);
    // A cold instance's first timer run fetched the token; the requests after it reused it.
    expect(timer).toMatchObject({ ok: true, refreshed: 1, failed: [] });
    expect(sim.calls('stable_token') - before.token).toBe(1);
    expect(sim.calls('getticket') - before.ticket).toBe(1);
    expect(pong.statusCode).toBe(200);
    expect(typeof JSON.parse(pong.body).pong).toBe('number');
    expect(viaUrl).toMatchObject({ statusCode: 200, isBase64Encoded: false });
    expect(verifies(viaUrl, url.body)).toBe(true);
    expect(viaApigw.statusCode).toBe(200);
    expect(verifies(viaApigw, apigw.body)).toBe(true);
    const envelopeReply = JSON.parse(token.body);
    expect(envelopeReply.returnCode).toBe(0);
    expect(sim.tokenState(MP.appid, envelopeReply.returnData.access_token)).toBe('valid');
    expect(run.stdout).not.toContain(MP.secret);
    expect(run.stdout).not.toContain(envelopeReply.returnData.access_token);
  });

  it.for(['mysql', 'redis'])('the %s driver inside index.js opens a real store', async (name, ctx) => {
    const store = await SHARED_STORES.find((s) => s.name === name)!.open();
    if (!store) return ctx.skip();
    try {
      const url = sample('scf-url');
      const run = await runBundle(scf.dir, 'index.js', 'main_handler', [sample('scf-timer'), url], {
        ...env,
        ...store.env,
        WECRED_STORE: store.url,
      });
      expect(run.results[0]).toMatchObject({ ok: true, refreshed: 1, failed: [] });
      expect(verifies(run.results[1], url.body)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('DynamoDB and AWS Secrets Manager fail with a clear error instead of loading the AWS SDK', async () => {
    const dynamo = { ...env, WECRED_STORE: 'dynamodb://wecred?region=ap-guangzhou' };
    const run = await runBundle(scf.dir, 'index.js', 'main_handler', [sample('scf-timer')], dynamo);
    expect(run.results[0]).toMatchObject({ ok: false, error: { code: 'internal' } });
    const notIncluded = 'DynamoDB / AWS Secrets Manager are not included in the SCF bundle; use mysql:// or redis://';
    // The caller only sees internal: the reason is in the function's log.
    expect(run.stdout).toContain('platform.invocation_failed');
    expect(run.stdout).toContain(notIncluded);
    await expect(startBootstrap(scf.dir, dynamo)).rejects.toThrow(
      `wecred failed to start: @aws-sdk/client-dynamodb: ${notIncluded}`,
    );
    const secretRef = JSON.stringify({
      apps: [{ ...MP, secret: 'secretsmanager:wecred/mp', type: 'mp' }],
      store: 'memory:',
    });
    await expect(startBootstrap(scf.dir, { WECRED_CONFIG_JSON: secretRef })).rejects.toThrow(
      /config: apps\[0\]\.secret: .*not included in the SCF bundle/,
    );
  });

  it('scf_bootstrap starts the web-function server (PORT overrides 9000) and stops on SIGTERM', async () => {
    const server = await startBootstrap(scf.dir, env);
    try {
      expect(server.banner).toMatch(
        /^wecred listening on http:\/\/127\.0\.0\.1:(\d+) \(all interfaces, 0\.0\.0\.0:\1: SCF web function\)/,
      );
      const pong = await fetch(`${server.url}/ping`);
      expect(pong.status).toBe(200);
      const body = JSON.stringify({ url: 'https://www.example.com/web-function' });
      const res = await fetch(`${server.url}/jsapi/${MP.appid}/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      expect(verifies({ body: await res.text() }, body)).toBe(true);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it.for([
    [
      'no store',
      {},
      'config: WECRED_STORE: is not set (the store is file:), which each function instance keeps to itself: set it to a shared mysql://, redis:// or dynamodb:// store (or WECRED_ALLOW_LOCAL_STORE=1 for a function kept to one instance)',
    ],
    [
      'a memory: store',
      { WECRED_STORE: 'memory:' },
      'config: WECRED_STORE: is a memory: store, which each function instance keeps to itself: set it to a shared mysql://, redis:// or dynamodb:// store (or WECRED_ALLOW_LOCAL_STORE=1 for a function kept to one instance)',
    ],
    [
      'a Mini Program without WECRED_MASTER_KEY',
      { WECRED_ALLOW_LOCAL_STORE: '1', apps: [{ ...MP, type: 'mina' }] },
      'config: WECRED_MASTER_KEY: is not set, and apps[0] is a Mini Program, whose sessions are sealed with it: set it (openssl rand -base64 32) or a reference to it',
    ],
    [
      'a realm naming a corp that is not configured',
      { WECRED_ALLOW_LOCAL_STORE: '1', realms: [{ ...REALM, apps: ['ww0123456789abcdef'] }] },
      'config: realms[0].apps[0]: ww0123456789abcdef is not a configured app, component, WeCom corp, suite or COS bucket',
    ],
    [
      'a secret that is empty after trimming',
      { WECRED_ALLOW_LOCAL_STORE: '1', MP_SECRET: ' \n', apps: [{ ...MP, secret: 'env:MP_SECRET' }] },
      'config: apps[0].secret: is empty after trimming whitespace (the value of env:MP_SECRET)',
    ],
  ] as const)('scf_bootstrap refuses %s at cold start with one line', async ([, given, line]) => {
    const { apps = [{ ...MP, type: 'mp' }], realms = [], ...vars } = given as Record<string, any>;
    const config = JSON.stringify({ apps, realms, upstream: { mp: sim.url } });
    const refused = startBootstrap(scf.dir, { WECRED_CONFIG_JSON: config, ...vars });
    await expect(refused).rejects.toThrow(`scf_bootstrap exited 1: ${line}\n`);
    // The timer's cold start in main_handler is refused the same way: the reason in the log, nothing fetched.
    const before = sim.calls('stable_token');
    const run = await runBundle(scf.dir, 'index.js', 'main_handler', [sample('scf-timer')], {
      WECRED_CONFIG_JSON: config,
      ...vars,
    });
    expect(run.results[0]).toMatchObject({ ok: false });
    expect(run.stdout).toContain(line.slice(0, 60));
    expect(sim.calls('stable_token')).toBe(before);
  });

  it('scf_bootstrap with a bad configuration exits 1 with one line naming the field', async () => {
    await expect(startBootstrap(scf.dir, { WECRED_CONFIG_JSON: '{"apps": 1}' })).rejects.toThrow(
      /exited 1: config: apps: /,
    );
  });
});

describe('dist/wecred-aws.zip', () => {
  it('holds one file per function, needs no node_modules and leaves @aws-sdk to the runtime', async () => {
    expect(aws.modes).toEqual({ 'gateway.js': 0o644, 'refresher.js': 0o644 });
    expect(nodeModulesAbove(aws.dir)).toEqual([]);
    expect(await readFile(join(aws.dir, 'gateway.js'), 'utf8')).toContain('require("@aws-sdk/client-dynamodb")');
  });

  it('gateway.js answers API Gateway v1 and v2 events with @aws-sdk absent (memory: store)', async () => {
    const v1 = sample('aws-v1');
    const v2 = sample('aws-v2');
    const run = await runBundle(aws.dir, 'gateway.js', 'handler', [v1, v2], env);
    expect(evaluatedDependencies(run.requiredAtLoad)).toEqual([]);
    for (const [i, event] of [v1, v2].entries()) {
      expect(run.results[i]).toMatchObject({ statusCode: 200, isBase64Encoded: false });
      expect(verifies(run.results[i], event.body)).toBe(true);
    }
  });

  it('gateway.js opens a DynamoDB store with the @aws-sdk the runtime provides', async (ctx) => {
    const store = await SHARED_STORES.find((s) => s.name === 'dynamodb')!.open();
    if (!store) return ctx.skip();
    // As on Lambda: the SDK is found through NODE_PATH (there /var/runtime/node_modules), beside nothing else.
    const runtime = await mkdtemp(join(tmpdir(), 'wecred-lambda-runtime-'));
    try {
      await mkdir(join(runtime, 'node_modules'));
      await symlink(
        fileURLToPath(new URL('../node_modules/@aws-sdk', import.meta.url)),
        join(runtime, 'node_modules/@aws-sdk'),
      );
      const v2 = sample('aws-v2');
      const run = await runBundle(aws.dir, 'gateway.js', 'handler', [v2], {
        ...env,
        ...store.env,
        WECRED_STORE: store.url,
        NODE_PATH: join(runtime, 'node_modules'),
      });
      expect(run.results[0].statusCode).toBe(200);
      expect(verifies(run.results[0], v2.body)).toBe(true);
    } finally {
      await store.close();
      await rm(runtime, { recursive: true, force: true });
    }
  });

  it('refresher.js refreshes on the EventBridge schedule event', async () => {
    const before = sim.calls('stable_token');
    const run = await runBundle(aws.dir, 'refresher.js', 'handler', [sample('aws-schedule')], env);
    expect(run.results[0]).toMatchObject({ ok: true, refreshed: 1, failed: [] });
    expect(sim.calls('stable_token') - before).toBe(1);
  });
});

/** `./scf_bootstrap` run directly (its executable bit is the one from the zip), on a free port. */
function startBootstrap(
  dir: string,
  extraEnv: Record<string, string>,
): Promise<{ url: string; banner: string; stop(): Promise<number | null> }> {
  const child = spawn('./scf_bootstrap', [], {
    cwd: dir,
    // `node` on PATH is the one running these tests; the SCF runtime path does not exist here.
    env: {
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '',
      PORT: '0',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (c: Buffer) => {
      err += c;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        resolve({
          url: m[1]!,
          banner: err,
          stop: () =>
            new Promise((done) => {
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`scf_bootstrap exited ${code}: ${err}`)));
  });
}
