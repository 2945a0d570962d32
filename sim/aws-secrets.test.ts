import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsSecretsSim } from './aws-secrets';

const ACCESS_KEY_ID = 'AKIASIMTEST000000000';
const SECRET_ACCESS_KEY = 'sim/secret+access+key/0123456789abcdefghij';
const REGION = 'ap-east-1';

let sim: AwsSecretsSim;
let arn: string;
beforeAll(async () => {
  sim = await AwsSecretsSim.start({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, region: REGION });
  arn = sim.putSecret('wecred/app', '{"wx1":"one","wx2":"two"}');
  sim.putSecret('binary', Buffer.from([0, 1, 2]));
});
afterAll(() => sim.close());
beforeEach(() => sim.resetCalls());

function client(credentials = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, region = REGION) {
  return new SecretsManagerClient({ endpoint: sim.url, region, credentials, maxAttempts: 1 });
}

async function errorName(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return (err as Error).name;
}

describe('AwsSecretsSim GetSecretValue through the real SDK', () => {
  it('answers a correctly signed request, by name or ARN', async () => {
    const byName = await client().send(new GetSecretValueCommand({ SecretId: 'wecred/app' }));
    expect(byName).toMatchObject({
      Name: 'wecred/app',
      ARN: arn,
      SecretString: '{"wx1":"one","wx2":"two"}',
      VersionStages: ['AWSCURRENT'],
    });
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect((await client().send(new GetSecretValueCommand({ SecretId: arn }))).Name).toBe('wecred/app');
    expect((await client().send(new GetSecretValueCommand({ SecretId: 'binary' }))).SecretBinary).toEqual(
      new Uint8Array([0, 1, 2]),
    );
    expect(sim.calls('GetSecretValue')).toBe(3);
  });

  it('answers an unknown secret with ResourceNotFoundException', async () => {
    expect(await errorName(client().send(new GetSecretValueCommand({ SecretId: 'missing' })))).toBe(
      'ResourceNotFoundException',
    );
  });

  it('verifies the SigV4 signature, key and scope', async () => {
    const get = (c: SecretsManagerClient) => c.send(new GetSecretValueCommand({ SecretId: 'wecred/app' }));
    expect(await errorName(get(client({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: `${SECRET_ACCESS_KEY}x` })))).toBe(
      'InvalidSignatureException',
    );
    expect(await errorName(get(client({ accessKeyId: 'AKIAOTHER', secretAccessKey: SECRET_ACCESS_KEY })))).toBe(
      'UnrecognizedClientException',
    );
    expect(await errorName(get(client(undefined, 'us-west-2')))).toBe('InvalidSignatureException');
  });

  it('refuses an unsigned request and an unknown operation', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${sim.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', ...headers },
        body: '{"SecretId":"wecred/app"}',
      });
    const unsigned = await post({ 'x-amz-target': 'secretsmanager.GetSecretValue' });
    expect(unsigned.status).toBe(400);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(await errorName(client().send(new DescribeSecretCommand({ SecretId: 'wecred/app' })))).toBe(
      'UnknownOperationException',
    );
    expect(sim.calls('DescribeSecret')).toBe(1);
  });
});
