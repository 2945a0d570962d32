/**
 * `npm run deploy:scf` against the SCF API simulator (sim/scf.ts, TC3-verified): a first deploy
 * creates the function, its timer and its Function URL; later ones change only what differs; a
 * failed step stops with one line and leaves the function as it was. docs/design.md §4, §8.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScfSim } from '../sim/scf';
import { makeZip } from './support/zip';

const root = fileURLToPath(new URL('..', import.meta.url));
const KEYS = { secretId: 'AKIDdeploytest000000000000000000', secretKey: 'deploy-test-secret-key-000000000' };
const STORE = 'mysql://wecred:s3cret-password@10.0.0.5:3306/wecred';

let sim: ScfSim;
let dir: string;
let zips: { first: string; second: string; web: string };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run deploy:scf -- args`, as a pipeline runs it, pointed at the sim. */
function deploy(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn('npm', ['run', '--silent', 'deploy:scf', '--', ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TENCENTCLOUD_SECRETID: KEYS.secretId,
      TENCENTCLOUD_SECRETKEY: KEYS.secretKey,
      TENCENTCLOUD_REGION: 'ap-guangzhou',
      WECRED_SCF_ENDPOINT: sim.url,
      WECRED_STORE: STORE,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

async function deployFile(name: string, content: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(content));
  return file;
}

const SPEC = {
  name: 'wecred',
  role: 'wecred-scf',
  vpc: { vpcId: 'vpc-391sv4w3', subnetId: 'subnet-ljyn7h30' },
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the deploy file's own ${env:NAME} syntax
  environment: { WECRED_STORE: '${env:WECRED_STORE}', NODE_OPTIONS: '--max-semi-space-size=2' },
};

beforeAll(async () => {
  sim = await ScfSim.start(KEYS);
  dir = await mkdtemp(join(tmpdir(), 'wecred-deploy-'));
  const handler = 'exports.main_handler = async () => ({ ok: true });';
  zips = {
    first: join(dir, 'first.zip'),
    second: join(dir, 'second.zip'),
    web: join(dir, 'web.zip'),
  };
  await makeZip(zips.first, { 'index.js': handler, scf_bootstrap: '#!/bin/bash\n' });
  await makeZip(zips.second, { 'index.js': `${handler}\n// v2`, scf_bootstrap: '#!/bin/bash\n' });
  await makeZip(zips.web, { scf_bootstrap: '#!/bin/bash\n', 'index.js': handler });
});

afterAll(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('npm run deploy:scf', () => {
  it('creates the function with its environment, VPC, fixed EIP, role, timer and Function URL, and prints the URL and egress IP', async () => {
    const file = await deployFile('scf.json', SPEC);
    const run = await deploy(['--file', file, '--zip', zips.first]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const fn = sim.fn('wecred')!;
    expect(fn).toMatchObject({
      Type: 'Event',
      Handler: 'index.main_handler',
      Runtime: 'Nodejs20.19',
      MemorySize: 128,
      Timeout: 30,
      Role: 'wecred-scf',
      VpcConfig: { VpcId: 'vpc-391sv4w3', SubnetId: 'subnet-ljyn7h30' },
      PublicNetStatus: 'ENABLE',
      EipStatus: 'ENABLE',
    });
    expect(fn.Variables).toEqual([
      { Key: 'WECRED_STORE', Value: STORE },
      { Key: 'NODE_OPTIONS', Value: '--max-semi-space-size=2' },
    ]);
    expect(fn.triggers.map((t) => [t.Type, t.TriggerName, t.Qualifier, t.Enable])).toEqual([
      ['timer', 'wecred-refresh', '$DEFAULT', 1],
      ['http', 'wecred-url', '$DEFAULT', 1],
    ]);
    expect(JSON.parse(fn.triggers[0]!.TriggerDesc)).toEqual({ cron: '0 */5 * * * * *' });
    const url = JSON.parse(fn.triggers[1]!.TriggerDesc).NetConfig.ExtranetUrl;
    expect(run.stdout).toContain(`Function URL: ${url}`);
    expect(run.stdout).toContain(
      `Egress IP (put it on each app's IP allow-list in the WeChat console): ${sim.egressIp('wecred')}`,
    );
    expect(sim.calls('CreateFunction')).toBe(1);
    expect(sim.calls('CreateTrigger')).toBe(2);
    // The store's password went to SCF, and nowhere in the output.
    expect(run.stdout).not.toContain('s3cret-password');
  });

  it('a second deploy of the same zip and file changes nothing', async () => {
    sim.resetCalls();
    const run = await deploy(['--file', join(dir, 'scf.json'), '--zip', zips.first]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('code unchanged');
    expect(run.stdout).toContain('configuration unchanged');
    for (const action of ['CreateFunction', 'UpdateFunctionCode', 'UpdateFunctionConfiguration', 'CreateTrigger'])
      expect(sim.calls(action)).toBe(0);
  });

  it('a new zip only updates the code', async () => {
    sim.resetCalls();
    const before = sim.fn('wecred')!;
    const run = await deploy(['--file', join(dir, 'scf.json'), '--zip', zips.second]);
    expect(run.code).toBe(0);
    expect(sim.calls('UpdateFunctionCode')).toBe(1);
    expect(sim.calls('UpdateFunctionConfiguration')).toBe(0);
    expect(sim.fn('wecred')!.codeSha256).not.toBe(before.codeSha256);
    expect({ ...sim.fn('wecred')!, codeSha256: '' }).toEqual({ ...before, codeSha256: '' });
  });

  it('a changed environment only updates the configuration', async () => {
    sim.resetCalls();
    const run = await deploy(['--file', join(dir, 'scf.json'), '--zip', zips.second], {
      WECRED_STORE: 'redis://10.0.0.6:6379/0',
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('configuration updated (Environment)');
    expect(sim.calls('UpdateFunctionConfiguration')).toBe(1);
    expect(sim.calls('UpdateFunctionCode')).toBe(0);
    expect(sim.fn('wecred')!.Variables[0]).toEqual({ Key: 'WECRED_STORE', Value: 'redis://10.0.0.6:6379/0' });
  });

  it('a step that fails stops the deploy with one line and leaves the function as it was', async () => {
    const env = { WECRED_STORE: 'redis://10.0.0.6:6379/0' };
    const before = sim.fn('wecred')!;
    const bigger = await deployFile('bigger.json', { ...SPEC, memorySize: 256 });

    sim.fault('UpdateFunctionConfiguration', { code: 'InternalError', message: 'The sim failed this step.' });
    const refused = await deploy(['--file', bigger, '--zip', zips.second], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^deploy:scf: UpdateFunctionConfiguration failed: InternalError: The sim failed this step\. \(RequestId [\w-]+\)$/,
      ),
    ]);
    expect(sim.fn('wecred')).toEqual(before);

    // Accepted, then failed while SCF applied it: the function keeps what it had.
    sim.failNextUpdate('the sim could not apply the code');
    const failed = await deploy(['--file', join(dir, 'scf.json'), '--zip', zips.first], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toBe(
      'deploy:scf: UpdateFunctionCode ended UpdateFailed (UpdateFailed: the sim could not apply the code); SCF keeps serving the code and configuration it had',
    );
    expect(sim.fn('wecred')).toEqual(before);
    expect(sim.status('wecred')).toBe('UpdateFailed');

    // The next deploy goes on from there.
    const again = await deploy(['--file', join(dir, 'scf.json'), '--zip', zips.first], env);
    expect(again.code).toBe(0);
    expect(sim.status('wecred')).toBe('Active');
    expect(sim.fn('wecred')!.codeSha256).not.toBe(before.codeSha256);
  });

  it('--type web creates a web function (scf_bootstrap) with a Function URL and no timer', async () => {
    const run = await deploy([
      '--file',
      join(dir, 'scf.json'),
      '--zip',
      zips.web,
      '--type',
      'web',
      '--name',
      'wecred-web',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const fn = sim.fn('wecred-web')!;
    expect(fn.Type).toBe('HTTP');
    expect(fn.triggers.map((t) => t.Type)).toEqual(['http']);
    expect(run.stdout).toMatch(/Function URL: https:\/\/\S+/);
    // The same name cannot change its type.
    const clash = await deploy(['--file', join(dir, 'scf.json'), '--zip', zips.web, '--type', 'web']);
    expect(clash.stderr).toContain("wecred is an event function: SCF cannot change a function's type");
  });

  it('an environment over 4 KB is refused before any call, naming the ways that fit', async () => {
    sim.resetCalls();
    const run = await deploy(['--file', join(dir, 'scf.json'), '--zip', zips.first], {
      WECRED_STORE: `mysql://u:p@h:3306/wecred?${'x'.repeat(5000)}`,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^deploy:scf: the function's environment \(WECRED_STORE, NODE_OPTIONS\) is 5\.\d KB, over the 4 KB SCF and Lambda allow: put the configuration in a secret \(WECRED_CONFIG=ssm:NAME on SCF, WECRED_CONFIG=secretsmanager:ID on Lambda\) or in the zips \(npm run package -- --config FILE\)\n$/,
    );
    expect(sim.calls()).toBe(0);
  });

  it('a wrong key is refused by the signature check', async () => {
    const run = await deploy(['--file', join(dir, 'scf.json'), '--zip', zips.first], {
      TENCENTCLOUD_SECRETKEY: 'not-the-key',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^deploy:scf: GetFunction failed: AuthFailure\.SignatureFailure: /);
  });
});
