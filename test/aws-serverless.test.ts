/**
 * serverless.yml as shipped, under osls (test/support/aws-tools.ts): `osls package` with and without the
 * region and VPC parameters, read back from the CloudFormation it writes; and serverless-offline
 * serving the packaged gateway.js (it unzips dist/wecred-aws.zip) against the simulator. docs/design.md §4, §9.
 */
import { execFile, spawn } from 'node:child_process';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageBundles } from '../scripts/package';
import { WechatSim } from '../sim';
import { awsTools } from './support/aws-tools';
import { freePort } from './support/oauth-stack';
import { MP, REALM, signedHeaders } from './support/stack';

const root = fileURLToPath(new URL('..', import.meta.url));
let tools: string;
let work: string;
let sim: WechatSim;

/** A service folder as a deploy sees it: serverless.yml, the table definition and the zip. */
async function service(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(join(dir, 'db/dynamodb'), { recursive: true });
  await mkdir(join(dir, 'dist'));
  await copyFile(join(root, 'serverless.yml'), join(dir, 'serverless.yml'));
  await copyFile(join(root, 'db/dynamodb/table.json'), join(dir, 'db/dynamodb/table.json'));
  await copyFile(join(work, 'out/wecred-aws.zip'), join(dir, 'dist/wecred-aws.zip'));
  await symlink(join(tools, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const env = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' });

async function oslsPackage(dir: string, params: string[]): Promise<{ template: any; state: any }> {
  await promisify(execFile)(join(dir, 'node_modules/.bin/osls'), ['package', ...params.map((p) => `--param=${p}`)], {
    cwd: dir,
    env: { ...env(), WECRED_CONFIG_JSON: '{}' },
  });
  const read = async (f: string) => JSON.parse(await readFile(join(dir, '.serverless', f), 'utf8'));
  return {
    template: await read('cloudformation-template-update-stack.json'),
    state: await read('serverless-state.json'),
  };
}

const ofType = (template: any, type: string) =>
  Object.entries(template.Resources).filter(([, r]: [string, any]) => r.Type === type) as [string, any][];

beforeAll(async () => {
  tools = await awsTools();
  work = await mkdtemp(join(tmpdir(), 'wecred-aws-'));
  await packageBundles({ outDir: join(work, 'out') });
  sim = await WechatSim.start();
  sim.addApp(MP.appid, MP.secret);
}, 600_000);

afterAll(async () => {
  await sim?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('serverless.yml under osls', () => {
  it('packages without parameters: the HTTP API, the schedule, the table, nodejs22.x, no VPC', async () => {
    const { template, state } = await oslsPackage(await service('plain'), []);
    expect(state.service.provider.region).toBe('us-east-1');
    const functions = ofType(template, 'AWS::Lambda::Function');
    expect(functions.map(([, f]) => f.Properties.Handler).sort()).toEqual(['gateway.handler', 'refresher.handler']);
    for (const [, f] of functions) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.VpcConfig).toBeUndefined();
    }
    expect(ofType(template, 'AWS::ApiGatewayV2::Api')).toHaveLength(1);
    expect(ofType(template, 'AWS::Events::Rule').map(([, r]) => r.Properties.ScheduleExpression)).toEqual([
      'rate(5 minutes)',
    ]);
    const [[, table]] = ofType(template, 'AWS::DynamoDB::Table') as [[string, any]];
    expect(table.Properties.KeySchema.map((k: any) => k.AttributeName)).toEqual(['pk', 'sk']);
    // No VPC, no VPC rights.
    expect(JSON.stringify(template)).not.toContain('AWSLambdaVPCAccessExecutionRole');
  }, 120_000);

  it('packages with region and VPC parameters: both functions in the private subnets behind the security group', async () => {
    const { template, state } = await oslsPackage(await service('vpc'), [
      'region=ap-east-1',
      'securityGroupId=sg-0a1b2c3d',
      'subnetIds=subnet-private-a,subnet-private-b',
    ]);
    expect(state.service.provider.region).toBe('ap-east-1');
    const functions = ofType(template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(2);
    for (const [, f] of functions) {
      expect(f.Properties.VpcConfig).toEqual({
        SecurityGroupIds: ['sg-0a1b2c3d'],
        SubnetIds: { 'Fn::Split': [',', 'subnet-private-a,subnet-private-b'] },
      });
    }
    expect(JSON.stringify(template)).toContain('AWSLambdaVPCAccessExecutionRole');
    expect(ofType(template, 'AWS::ApiGatewayV2::Api')).toHaveLength(1);
    expect(ofType(template, 'AWS::DynamoDB::Table')).toHaveLength(1);
  }, 120_000);
});

describe('serverless-offline serving the packaged gateway.js', () => {
  it('answers a jsapi config and a signed envelope call', async () => {
    const dir = await service('offline');
    await appendFile(join(dir, 'serverless.yml'), '\nplugins:\n  - serverless-offline\n');
    const [httpPort, lambdaPort] = [await freePort(), await freePort()];
    const child = spawn(
      join(dir, 'node_modules/.bin/osls'),
      [
        'offline',
        'start',
        '--localEnvironment',
        '--noPrependStageInUrl',
        `--httpPort=${httpPort}`,
        `--lambdaPort=${lambdaPort}`,
      ],
      {
        cwd: dir,
        env: {
          ...env(),
          WECRED_CONFIG_JSON: JSON.stringify({
            apps: [{ ...MP, type: 'mp' }],
            realms: [{ ...REALM, apps: [MP.appid] }],
            upstream: { mp: sim.url },
          }),
          // One offline process is one instance.
          WECRED_STORE: 'memory:',
          WECRED_ALLOW_LOCAL_STORE: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (out += c));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (out.includes('Server ready')) {
            clearInterval(timer);
            resolve();
          }
        }, 100);
        child.once('exit', (code) => {
          clearInterval(timer);
          reject(new Error(`osls offline exited ${code}:\n${out}`));
        });
      });
      const base = `http://127.0.0.1:${httpPort}`;
      const body = JSON.stringify({ url: 'https://www.example.com/offline#x' });
      const config = await fetch(`${base}/jsapi/${MP.appid}/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      }).then((r) => r.json() as Promise<any>);
      expect(
        sim.verifyJsapiSignature({
          appid: MP.appid,
          url: 'https://www.example.com/offline',
          nonceStr: config.nonceStr,
          timestamp: config.timestamp,
          signature: config.signature,
        }),
      ).toBe(true);

      const envelope = JSON.stringify({ interface: { interfaceName: 'access_token', para: { appid: MP.appid } } });
      const token = await fetch(`${base}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signedHeaders(REALM, '/', envelope) },
        body: envelope,
      }).then((r) => r.json() as Promise<any>);
      expect(token.returnCode).toBe(0);
      expect(sim.tokenState(MP.appid, token.returnData.access_token)).toBe('valid');
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);
});
