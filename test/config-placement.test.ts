/**
 * A configuration past the 4 KB serverless environment (40 apps, 10 WeCom agents, 10 realms): in
 * WECRED_CONFIG_JSON `npm run package` refuses it, naming the ways that fit; as an SSM secret
 * (WECRED_CONFIG=ssm:NAME, through the Tencent Cloud simulator) and packaged into the zips
 * (`--config`), the unzipped bundles serve from it. docs/design.md §3.5, §9.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageBundles } from '../scripts/package';
import { TencentCloudSim, WechatSim } from '../sim';
import { runBundle } from './support/bundle-process';
import { loadEvent } from './support/events';
import { type Unzipped, unzip } from './support/zip';

const root = fileURLToPath(new URL('..', import.meta.url));
const APP_SECRET = 'placement-app-secret-0000000000';
const WORK_SECRET = 'placement-work-secret-000000000';
const REALM_SECRET = 'placement-realm-secret-00000000';
const TC = { secretId: 'AKIDplacement0000000000000000000', secretKey: 'placement-tc-key-0000000000000' };

const appids = Array.from({ length: 40 }, (_, i) => `wx${String(i).padStart(16, '0')}`);
const CORP = 'ww0123456789abcdef';
const agents = Array.from({ length: 10 }, (_, i) => String(1000001 + i));

let sim: WechatSim;
let tc: TencentCloudSim;
let work: string;
let file: string;
let scf: Unzipped;
let aws: Unzipped;

/** The configuration, its secrets as references (env:), as a packaged file must hold them. */
function large(upstream: string) {
  return {
    apps: appids.map((appid) => ({ appid, secret: 'env:APP_SECRET', type: 'mp' })),
    work: agents.map((agentid) => ({ corpid: CORP, agentid, secret: 'env:WORK_SECRET' })),
    realms: Array.from({ length: 10 }, (_, i) => ({
      key: `realm-${i}`,
      secret: 'env:REALM_SECRET',
      apps: [...appids.slice(i * 4, i * 4 + 4), CORP],
      interfaces: ['access_token', 'ticket', 'work.ticket'],
    })),
    upstream: { mp: upstream, work: upstream },
  };
}

const SECRETS = { APP_SECRET, WORK_SECRET, REALM_SECRET, WECRED_STORE: 'memory:', WECRED_ALLOW_LOCAL_STORE: '1' };

/** A Function URL event asking for the 40th app's wx.config. */
function lastAppConfig() {
  return JSON.parse(JSON.stringify(loadEvent('scf-url')).replaceAll('wx123', appids[39]!));
}

function verifies(result: { statusCode: number; body: string }, event: { body: string }): boolean {
  const body = JSON.parse(result.body);
  return sim.verifyJsapiSignature({
    appid: appids[39]!,
    url: JSON.parse(event.body).url.split('#')[0],
    nonceStr: body.nonceStr,
    timestamp: body.timestamp,
    signature: body.signature,
  });
}

beforeAll(async () => {
  sim = await WechatSim.start();
  for (const appid of appids) sim.addApp(appid, APP_SECRET);
  for (const agentid of agents) sim.addWorkApp(CORP, agentid, WORK_SECRET);
  tc = await TencentCloudSim.start(TC);
  tc.putSecret('wecred-config', JSON.stringify(large(sim.url)));
  work = await mkdtemp(join(tmpdir(), 'wecred-placement-'));
  file = join(work, 'wecred.json');
  await writeFile(file, JSON.stringify(large(sim.url), null, 2));
  const bundles = await packageBundles({ config: file, outDir: join(work, 'dist') });
  scf = await unzip(bundles.scf.zip);
  aws = await unzip(bundles.aws.zip);
}, 180_000);

afterAll(async () => {
  await sim?.close();
  await tc?.close();
  for (const d of [work, scf?.dir, aws?.dir]) if (d) await rm(d, { recursive: true, force: true });
});

describe('a configuration past 4 KB', () => {
  it('is over the limit as JSON', () => {
    expect(JSON.stringify(large(sim.url)).length).toBeGreaterThan(4096);
  });

  it('in WECRED_CONFIG_JSON, npm run package refuses it with the line naming the two ways that fit', async () => {
    const child = spawn('npm', ['run', '--silent', 'package'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        WECRED_CONFIG_JSON: JSON.stringify(large(sim.url)),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^npm run package: the function's environment \(WECRED_CONFIG_JSON\) is \d+\.\d KB, over the 4 KB SCF and Lambda allow: put the configuration in a secret \(WECRED_CONFIG=ssm:NAME on SCF, WECRED_CONFIG=secretsmanager:ID on Lambda\) or in the zips \(npm run package -- --config FILE\)\n$/,
    );
  });

  it('as an SSM secret (WECRED_CONFIG=ssm:NAME), the SCF bundle serves from it', async () => {
    const event = lastAppConfig();
    const run = await runBundle(scf.dir, 'index.js', 'main_handler', [event], {
      ...SECRETS,
      WECRED_CONFIG: 'ssm:wecred-config',
      TENCENTCLOUD_SECRETID: TC.secretId,
      TENCENTCLOUD_SECRETKEY: TC.secretKey,
      TENCENTCLOUD_REGION: 'ap-guangzhou',
      WECRED_SSM_ENDPOINT: tc.url,
      // The packaged file would be read otherwise: the secret is what this deploy names.
      WECRED_CONFIG_JSON: '',
    });
    expect(run.results[0].statusCode).toBe(200);
    expect(verifies(run.results[0], event)).toBe(true);
    expect(tc.calls('GetSecretValue')).toBe(1);
  });

  it('packaged into both zips (--config), the bundles serve from it with nothing set but its secrets', async () => {
    expect(Object.keys(scf.modes).sort()).toEqual(['index.js', 'scf_bootstrap', 'wecred.json']);
    expect(Object.keys(aws.modes).sort()).toEqual(['gateway.js', 'refresher.js', 'wecred.json']);
    const event = lastAppConfig();
    const timer = loadEvent('scf-timer');
    const run = await runBundle(scf.dir, 'index.js', 'main_handler', [event, timer], SECRETS);
    expect(verifies(run.results[0], event)).toBe(true);
    // The timer refreshes what the file configures: 40 tokens and tickets, 10 agents.
    expect(run.results[1]).toMatchObject({ ok: true, failed: [] });
    expect(sim.calls('stable_token', appids[0])).toBeGreaterThan(0);

    const v2 = JSON.parse(JSON.stringify(loadEvent('aws-v2')).replaceAll('wx123', appids[39]!));
    const lambda = await runBundle(aws.dir, 'gateway.js', 'handler', [v2], SECRETS);
    expect(lambda.results[0].statusCode).toBe(200);
    expect(verifies(lambda.results[0], v2)).toBe(true);
  });

  it('a file holding a secret itself is refused at package time, naming the field', async () => {
    const leaky = join(work, 'leaky.json');
    await writeFile(leaky, JSON.stringify({ ...large(sim.url), apps: [{ appid: appids[0], secret: APP_SECRET }] }));
    await expect(packageBundles({ config: leaky, outDir: join(work, 'leaky') })).rejects.toThrow(
      'config: apps[0].secret: holds a secret itself: a packaged configuration names its secrets (env:NAME, ssm:NAME or secretsmanager:ID)',
    );
  });
});
