/**
 * loadConfig with the real secret sources (the SDK clients) against the Tencent Cloud SSM and AWS
 * Secrets Manager simulators. Over 400 lines: each way a reference can fail has its own message.
 * See docs/design.md §3.5.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsSecretsSim, TencentCloudSim } from '../../sim';
import { ConfigError } from '../config/errors';
import { loadConfig, parseConfig } from '../config/load';
import { cipherFor } from '../crypto/at-rest';
import { SECRET_SOURCES } from './secret-sources';

const APPID = 'wx1234567890abcdef';
const APPID2 = 'wxabcdef1234567890';
const TC = { secretId: 'AKIDwecredtest00000000000000000000', secretKey: 'TC-SECRET-KEY-VALUE-0123456789' };
const AWS = {
  accessKeyId: 'AKIAWECREDTEST000000',
  secretAccessKey: 'AWS-SECRET-ACCESS-KEY-VALUE-0123',
  region: 'ap-east-1',
};
const MASTER = randomBytes(32);
const VALUES = {
  app: 'SSM-APP-SECRET-VALUE',
  realm: 'SSM-REALM-SECRET-VALUE-0123456789',
  realmV2: 'SSM-REALM-SECRET-VALUE-V2-0123456789',
  work: 'AWS-WORK-SECRET-VALUE',
  json: { wx1: 'AWS-JSON-VALUE-ONE', wx2: 'AWS-JSON-VALUE-TWO', n: 5 },
};
const STORE_URL = 'mysql://wecred:STORE-PASSWORD-0123@10.0.0.12:3306/wecred';
/** Nothing here may ever appear in an error message. */
const NEVER_SHOWN = [
  'STORE-PASSWORD-0123',
  TC.secretKey,
  AWS.secretAccessKey,
  VALUES.app,
  VALUES.realm,
  VALUES.realmV2,
  VALUES.work,
  VALUES.json.wx1,
  VALUES.json.wx2,
  MASTER.toString('base64'),
  'SHORT-MASTER',
];

let tc: TencentCloudSim;
let aws: AwsSecretsSim;
let workArn: string;

beforeAll(async () => {
  tc = await TencentCloudSim.start(TC);
  tc.putSecret('wecred-app', VALUES.app);
  tc.putSecret('wecred-realm', VALUES.realm);
  tc.putSecret('wecred-realm', VALUES.realmV2, 'v2');
  tc.putSecret('wecred-master', MASTER.toString('hex'));
  tc.putSecret('short-master', 'SHORT-MASTER');
  tc.putSecret('binary', Buffer.from([1, 2, 3]));
  tc.putSecret('wecred-store', STORE_URL);
  aws = await AwsSecretsSim.start(AWS);
  workArn = aws.putSecret('wecred/work', VALUES.work);
  aws.putSecret('wecred/json', JSON.stringify(VALUES.json));
  aws.putSecret('wecred/binary', Buffer.from([1, 2, 3]));
});
afterAll(async () => {
  await tc.close();
  await aws.close();
});
beforeEach(() => {
  // AWS credentials come from the SDK's default chain, which reads the process environment.
  vi.stubEnv('AWS_ACCESS_KEY_ID', AWS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', AWS.secretAccessKey);
  vi.stubEnv('AWS_SESSION_TOKEN', '');
  vi.stubEnv('AWS_REGION', AWS.region);
  // The Tencent SDK sends everything through $http_proxy when set; loopback must not go there.
  vi.stubEnv('http_proxy', '');
  tc.resetCalls();
  aws.resetCalls();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function envFor(config: unknown, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    WECRED_CONFIG_JSON: JSON.stringify(config),
    TENCENTCLOUD_SECRETID: TC.secretId,
    TENCENTCLOUD_SECRETKEY: TC.secretKey,
    TENCENTCLOUD_REGION: 'ap-guangzhou',
    WECRED_SSM_ENDPOINT: tc.url,
    WECRED_SECRETSMANAGER_ENDPOINT: aws.url,
    ...extra,
  };
}

const app = (secret: string, extra: Record<string, unknown> = {}) => ({ appid: APPID, secret, ...extra });

async function load(config: unknown, extra: NodeJS.ProcessEnv = {}) {
  const c = await loadConfig(envFor(config, extra), '/', SECRET_SOURCES);
  if (!c) throw new Error('no config');
  return c;
}

/** loadConfig must fail with exactly `message`, naming no secret. */
async function expectLoadError(config: unknown, message: string, extra: NodeJS.ProcessEnv = {}): Promise<void> {
  const err = await loadConfig(envFor(config, extra), '/', SECRET_SOURCES).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  const text = (err as Error).message;
  expect(text).toBe(message);
  for (const secret of NEVER_SHOWN) expect(text).not.toContain(secret);
}

describe('loadConfig with ssm: and secretsmanager: references', () => {
  it('resolves them in every secret field', async () => {
    const c = await load({
      apps: [app('ssm:wecred-app', { token: 'secretsmanager:wecred/json#wx1' })],
      work: [{ corpid: 'ww0123456789abcdef', agentid: '1000002', secret: 'secretsmanager:wecred/work' }],
      realms: [
        { key: 'biz', secret: 'ssm:wecred-realm' },
        { key: 'ops', secret: 'ssm:wecred-realm#v2' },
      ],
    });
    expect(c.apps[0]?.secret).toBe(VALUES.app);
    expect(c.apps[0]?.token).toBe(VALUES.json.wx1);
    expect(c.work[0]?.secret).toBe(VALUES.work);
    expect(c.realms.map((r) => r.secret)).toEqual([VALUES.realm, VALUES.realmV2]);
  });

  it('resolves the store URL, which carries the database password, from the config or WECRED_STORE', async () => {
    expect((await load({ apps: [app('x')], store: 'ssm:wecred-store' })).store).toBe(STORE_URL);
    expect((await load({ apps: [app('x')] }, { WECRED_STORE: 'ssm:wecred-store' })).store).toBe(STORE_URL);
    expect((await load({ apps: [app('x')] }, { WECRED_STORE: 'env:DB_URL', DB_URL: STORE_URL })).store).toBe(STORE_URL);
    await expectLoadError(
      { apps: [app('x')], store: 'ssm:wecred-app' },
      'config: store: must start with memory:, file:, mysql://, dynamodb:// or redis:// (the value of ssm:wecred-app)',
    );
  });

  it('takes an AWS secret by ARN', async () => {
    expect((await load({ apps: [app(`secretsmanager:${workArn}`)] })).apps[0]?.secret).toBe(VALUES.work);
  });

  it('fetches each reference, and each AWS secret, once', async () => {
    const c = await load({
      apps: [
        app('ssm:wecred-app', { token: 'secretsmanager:wecred/json#wx1' }),
        { appid: APPID2, secret: 'ssm:wecred-app', token: 'secretsmanager:wecred/json#wx2' },
      ],
      // the default version, named or not, is one secret version
      realms: [
        { key: 'biz', secret: 'ssm:wecred-realm' },
        { key: 'ops', secret: 'ssm:wecred-realm#SSM_Current' },
      ],
    });
    expect(c.apps.map((a) => [a.secret, a.token])).toEqual([
      [VALUES.app, VALUES.json.wx1],
      [VALUES.app, VALUES.json.wx2],
    ]);
    expect(c.realms.map((r) => r.secret)).toEqual([VALUES.realm, VALUES.realm]);
    expect(tc.calls('GetSecretValue')).toBe(2);
    expect(aws.calls('GetSecretValue')).toBe(1);
  });

  it('passes the Tencent session token of a function role', async () => {
    const withToken = await TencentCloudSim.start({ ...TC, token: 'ROLE-SESSION-TOKEN' });
    withToken.putSecret('wecred-app', VALUES.app);
    try {
      const extra = { WECRED_SSM_ENDPOINT: withToken.url, TENCENTCLOUD_SESSIONTOKEN: 'ROLE-SESSION-TOKEN' };
      expect((await load({ apps: [app('ssm:wecred-app')] }, extra)).apps[0]?.secret).toBe(VALUES.app);
    } finally {
      await withToken.close();
    }
  });

  it('names the field and reference, never a value, when Tencent refuses the key', async () => {
    await expectLoadError(
      { apps: [app('ssm:wecred-app')] },
      'config: apps[0].secret: ssm:wecred-app: Tencent Cloud refused the credentials (AuthFailure.SignatureFailure): check TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and TENCENTCLOUD_SESSIONTOKEN',
      { TENCENTCLOUD_SECRETKEY: `${TC.secretKey}-wrong` },
    );
  });

  it('says when AWS refuses the credentials', async () => {
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', `${AWS.secretAccessKey}-wrong`);
    await expectLoadError(
      { apps: [app('secretsmanager:wecred/work')] },
      'config: apps[0].secret: secretsmanager:wecred/work: AWS refused the credentials (InvalidSignatureException)',
    );
  });

  it('says when a secret, a version or a JSON key does not exist', async () => {
    await expectLoadError(
      { realms: [{ key: 'biz', secret: 'ssm:nope' }] },
      'config: realms[0].secret: ssm:nope: no such secret or version in Tencent Cloud SSM (ResourceNotFound)',
    );
    await expectLoadError(
      { apps: [app('ssm:wecred-app#v9')] },
      'config: apps[0].secret: ssm:wecred-app#v9: no such secret or version in Tencent Cloud SSM (ResourceNotFound)',
    );
    await expectLoadError(
      { work: [{ corpid: 'ww01', agentid: 1, secret: 'secretsmanager:nope' }] },
      'config: work[0].secret: secretsmanager:nope: no such secret in AWS Secrets Manager (ResourceNotFoundException)',
    );
    await expectLoadError(
      { apps: [app('secretsmanager:wecred/json#wx3')] },
      'config: apps[0].secret: secretsmanager:wecred/json#wx3: the secret has no non-empty text under "wx3"',
    );
    await expectLoadError(
      { apps: [app('secretsmanager:wecred/json#n')] },
      'config: apps[0].secret: secretsmanager:wecred/json#n: the secret has no non-empty text under "n"',
    );
    await expectLoadError(
      { apps: [app('secretsmanager:wecred/work#k')] },
      'config: apps[0].secret: secretsmanager:wecred/work#k: #k needs a secret whose text is a JSON object',
    );
  });

  it('refuses binary secrets', async () => {
    await expectLoadError(
      { apps: [app('ssm:binary')] },
      'config: apps[0].secret: ssm:binary: the secret holds binary data (SecretBinary), not text',
    );
    await expectLoadError(
      { apps: [app('secretsmanager:wecred/binary')] },
      'config: apps[0].secret: secretsmanager:wecred/binary: the secret holds binary data (SecretBinary), not text',
    );
  });

  it('reports the first field whose reference failed', async () => {
    await expectLoadError(
      {
        apps: [app('ssm:wecred-app'), { appid: APPID2, secret: 'ssm:missing-1' }],
        realms: [{ key: 'biz', secret: 'ssm:missing-2' }],
      },
      'config: apps[1].secret: ssm:missing-1: no such secret or version in Tencent Cloud SSM (ResourceNotFound)',
    );
  });

  it('checks the reference and its settings before calling anyone', async () => {
    const field = (secret: string, extra: NodeJS.ProcessEnv, message: string) =>
      expectLoadError({ apps: [app(secret)] }, `config: apps[0].secret: ${message}`, extra);
    await field(
      'ssm:',
      {},
      'ssm:: must be ssm:NAME or ssm:NAME#VERSION (letters, digits, "-", "_"; "." also in VERSION)',
    );
    await field(
      'ssm:a#b#c',
      {},
      'ssm:a#b#c: must be ssm:NAME or ssm:NAME#VERSION (letters, digits, "-", "_"; "." also in VERSION)',
    );
    await field(
      'ssm:has space',
      {},
      'ssm:has space: must be ssm:NAME or ssm:NAME#VERSION (letters, digits, "-", "_"; "." also in VERSION)',
    );
    await field(
      'secretsmanager:',
      {},
      'secretsmanager:: must be secretsmanager:ID or secretsmanager:ID#KEY (ID a secret name or ARN)',
    );
    await field(
      'secretsmanager:x#',
      {},
      'secretsmanager:x#: must be secretsmanager:ID or secretsmanager:ID#KEY (ID a secret name or ARN)',
    );
    await field(
      'ssm:wecred-app',
      { TENCENTCLOUD_SECRETID: '' },
      'ssm:wecred-app: TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY are not set (SCF sets them for a function with a role)',
    );
    await field(
      'ssm:wecred-app',
      { TENCENTCLOUD_SECRETKEY: undefined },
      'ssm:wecred-app: TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY are not set (SCF sets them for a function with a role)',
    );
    await field(
      'ssm:wecred-app',
      { TENCENTCLOUD_REGION: '' },
      'ssm:wecred-app: TENCENTCLOUD_REGION is not set (the region that holds the secret, e.g. ap-guangzhou)',
    );
    await field(
      'ssm:wecred-app',
      { WECRED_SSM_ENDPOINT: 'ftp://127.0.0.1' },
      'ssm:wecred-app: WECRED_SSM_ENDPOINT must be host[:port] or http(s)://host[:port]',
    );
    await field(
      'secretsmanager:x',
      { WECRED_SECRETSMANAGER_ENDPOINT: 'http://127.0.0.1/path' },
      'secretsmanager:x: WECRED_SECRETSMANAGER_ENDPOINT must be host[:port] or http(s)://host[:port]',
    );
    expect(tc.calls() + aws.calls()).toBe(0);
  });

  it('says when a service cannot be reached', async () => {
    const closed = await TencentCloudSim.start(TC);
    const url = closed.url;
    await closed.close();
    const err = (await loadConfig(
      envFor({ apps: [app('ssm:wecred-app')] }, { WECRED_SSM_ENDPOINT: url }),
      '/',
      SECRET_SOURCES,
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(
      /^config: apps\[0\]\.secret: ssm:wecred-app: cannot reach Tencent Cloud SSM \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/,
    );
  });

  it('keeps env: references working beside them', async () => {
    const c = await load(
      { apps: [app('env:WX_SECRET', { token: 'ssm:wecred-app' })] },
      { WX_SECRET: 'ENV-SECRET-VALUE' },
    );
    expect(c.apps[0]?.secret).toBe('ENV-SECRET-VALUE');
    expect(c.apps[0]?.token).toBe(VALUES.app);
    await expectLoadError(
      { apps: [app('env:MISSING')] },
      'config: apps[0].secret: environment variable MISSING (from env:MISSING) is not set or empty',
    );
  });

  it('checks a resolved realm secret without showing it', async () => {
    tc.putSecret('short-realm', 'short');
    await expectLoadError(
      { realms: [{ key: 'biz', secret: 'ssm:short-realm' }] },
      'config: realms[0].secret: must be at least 16 characters (the value of ssm:short-realm)',
    );
  });
});

describe('a bundle without the AWS SDK (SCF)', () => {
  afterEach(() => {
    vi.doUnmock('@aws-sdk/client-secrets-manager');
  });

  it('fails an AWS reference clearly when the SDK module throws', async () => {
    vi.doMock('@aws-sdk/client-secrets-manager', () => {
      throw new Error('@aws-sdk/* is not in the SCF bundle');
    });
    const err = (await loadConfig(envFor({ apps: [app('secretsmanager:wecred/work')] }), '/', SECRET_SOURCES).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    // (vitest wraps the factory's error in its own, so only the shape is checked here.)
    expect(err.message).toMatch(
      /^config: apps\[0\]\.secret: secretsmanager:wecred\/work: the AWS Secrets Manager client cannot be loaded in this bundle \(Error: .+\)$/,
    );
    expect(aws.calls()).toBe(0);
  });

  it('fails an AWS reference clearly when the stub throws on use', async () => {
    vi.doMock('@aws-sdk/client-secrets-manager', () => ({
      SecretsManagerClient: class {
        constructor() {
          throw new Error('@aws-sdk/* is not in the SCF bundle');
        }
      },
      GetSecretValueCommand: class {},
    }));
    await expectLoadError(
      { apps: [app('secretsmanager:wecred/work')] },
      'config: apps[0].secret: secretsmanager:wecred/work: the AWS Secrets Manager client cannot be loaded in this bundle (Error: @aws-sdk/* is not in the SCF bundle)',
    );
  });

  it('still resolves everything else', async () => {
    vi.doMock('@aws-sdk/client-secrets-manager', () => {
      throw new Error('@aws-sdk/* is not in the SCF bundle');
    });
    expect((await load({ apps: [app('ssm:wecred-app')] })).apps[0]?.secret).toBe(VALUES.app);
  });
});

describe('WECRED_MASTER_KEY', () => {
  const config = { apps: [app('literal-secret')] };

  it('is absent unless set, and sealing then says so', async () => {
    const c = await load(config, { WECRED_MASTER_KEY: '' });
    expect(c.masterKey).toBeUndefined();
    expect(() => cipherFor(c).seal('x', 'session:1:session_key')).toThrow('WECRED_MASTER_KEY is not set');
  });

  it('is read as base64 or hex, literally or through any reference', async () => {
    const env = { MK: MASTER.toString('base64') };
    for (const key of [MASTER.toString('base64'), MASTER.toString('hex'), 'env:MK', 'ssm:wecred-master']) {
      expect((await load(config, { WECRED_MASTER_KEY: key, ...env })).masterKey).toEqual(MASTER);
    }
    expect(parseConfig(config, { WECRED_MASTER_KEY: 'env:MK', ...env }).masterKey).toEqual(MASTER);
  });

  it('seals and opens through the configured key', async () => {
    const c = await load(config, { WECRED_MASTER_KEY: 'ssm:wecred-master' });
    const cipher = cipherFor(c);
    const sealed = cipher.seal(VALUES.work, 'registered_apps:ww0123456789abcdef:1000002:secret');
    expect(sealed).not.toContain(VALUES.work);
    expect(cipher.open(sealed, 'registered_apps:ww0123456789abcdef:1000002:secret')).toBe(VALUES.work);
  });

  it('names the variable, never the value, when it is malformed', async () => {
    const message =
      'config: WECRED_MASTER_KEY: must be 32 bytes as base64 (44 characters, e.g. from `openssl rand -base64 32`) or hex (64 characters)';
    await expectLoadError(config, message, { WECRED_MASTER_KEY: 'SHORT-MASTER' });
    await expectLoadError(config, message, { WECRED_MASTER_KEY: MASTER.toString('base64').slice(1) });
    await expectLoadError(config, `${message} (the value of ssm:short-master)`, {
      WECRED_MASTER_KEY: 'ssm:short-master',
    });
    await expectLoadError(
      config,
      'config: WECRED_MASTER_KEY: environment variable NOPE (from env:NOPE) is not set or empty',
      { WECRED_MASTER_KEY: 'env:NOPE' },
    );
    await expectLoadError(
      config,
      'config: WECRED_MASTER_KEY: ssm:nope: no such secret or version in Tencent Cloud SSM (ResourceNotFound)',
      { WECRED_MASTER_KEY: 'ssm:nope' },
    );
    expect(() => parseConfig(config, { WECRED_MASTER_KEY: 'ssm:wecred-master' })).toThrow(
      'config: WECRED_MASTER_KEY: ssm:wecred-master: ssm: references are resolved by loadConfig, before parseConfig',
    );
  });
});
