import { ssm } from 'tencentcloud-sdk-nodejs-ssm';
import { sts } from 'tencentcloud-sdk-nodejs-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { cosSign } from '../lib/crypto/cos-sign';
import { TencentCloudSim } from './tencentcloud';

const ID = 'AKIDsimtest0000000000000000000000000';
const KEY = 'sim-secret-key-0123456789abcdef';

let sim: TencentCloudSim;
beforeAll(async () => {
  // The SDK sends everything through $http_proxy when set; loopback must not go there.
  vi.stubEnv('http_proxy', '');
  sim = await TencentCloudSim.start({ secretId: ID, secretKey: KEY });
  sim.putSecret('app-secret', 'the-value');
  sim.putSecret('app-secret', 'older-value', 'v1');
  sim.putSecret('binary', Buffer.from([0, 1, 2]));
});
afterAll(async () => {
  await sim.close();
  vi.unstubAllEnvs();
});
beforeEach(() => sim.resetCalls());

function client(
  credential: { secretId: string; secretKey: string; token?: string } = { secretId: ID, secretKey: KEY },
  region = 'ap-guangzhou',
) {
  return new ssm.v20190923.Client({
    credential,
    region,
    profile: { httpProfile: { endpoint: sim.host, protocol: 'http://' } },
  });
}

async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  return (err as { code?: string }).code;
}

describe('TencentCloudSim GetSecretValue through the real SDK', () => {
  it('answers a correctly signed request', async () => {
    const reply = await client().GetSecretValue({ SecretName: 'app-secret', VersionId: 'SSM_Current' });
    expect(reply).toMatchObject({
      SecretName: 'app-secret',
      VersionId: 'SSM_Current',
      SecretString: 'the-value',
      SecretBinary: '',
    });
    expect(reply.RequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await client().GetSecretValue({ SecretName: 'app-secret', VersionId: 'v1' })).SecretString).toBe(
      'older-value',
    );
    expect((await client().GetSecretValue({ SecretName: 'binary', VersionId: 'SSM_Current' })).SecretBinary).toBe(
      'AAEC',
    );
    expect(sim.calls('GetSecretValue')).toBe(3);
  });

  it('answers an unknown secret or version with ResourceNotFound', async () => {
    expect(await errorCode(client().GetSecretValue({ SecretName: 'missing', VersionId: 'SSM_Current' }))).toBe(
      'ResourceNotFound',
    );
    expect(await errorCode(client().GetSecretValue({ SecretName: 'app-secret', VersionId: 'v9' }))).toBe(
      'ResourceNotFound',
    );
  });

  it('verifies the TC3 signature', async () => {
    expect(
      await errorCode(
        client({ secretId: ID, secretKey: `${KEY}x` }).GetSecretValue({
          SecretName: 'app-secret',
          VersionId: 'SSM_Current',
        }),
      ),
    ).toBe('AuthFailure.SignatureFailure');
    expect(
      await errorCode(
        client({ secretId: 'AKIDother', secretKey: KEY }).GetSecretValue({
          SecretName: 'app-secret',
          VersionId: 'SSM_Current',
        }),
      ),
    ).toBe('AuthFailure.SecretIdNotFound');
    expect(
      await errorCode(
        client({ secretId: ID, secretKey: KEY, token: 'unexpected' }).GetSecretValue({
          SecretName: 'app-secret',
          VersionId: 'SSM_Current',
        }),
      ),
    ).toBe('AuthFailure.TokenFailure');
    expect(sim.calls('GetSecretValue')).toBe(3);
  });

  it('refuses a request that is not signed, or signed too long ago', async () => {
    const res = await fetch(`${sim.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-tc-action': 'GetSecretValue',
        'x-tc-version': '2019-09-23',
        'x-tc-timestamp': String(Math.floor(Date.now() / 1000)),
      },
      body: JSON.stringify({ SecretName: 'app-secret', VersionId: 'SSM_Current' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { Response: { Error: { Code: string }; RequestId: string } };
    expect(body.Response.Error.Code).toBe('AuthFailure.InvalidAuthorization');
    expect(body.Response.RequestId).toBeTruthy();

    const skewed = await TencentCloudSim.start({ secretId: ID, secretKey: KEY, now: () => Date.now() + 10 * 60_000 });
    try {
      const late = new ssm.v20190923.Client({
        credential: { secretId: ID, secretKey: KEY },
        region: 'ap-guangzhou',
        profile: { httpProfile: { endpoint: skewed.host, protocol: 'http://' } },
      });
      expect(await errorCode(late.GetSecretValue({ SecretName: 'x', VersionId: 'SSM_Current' }))).toBe(
        'AuthFailure.SignatureExpire',
      );
    } finally {
      await skewed.close();
    }
  });

  it('checks the temporary-credential token when it has one', async () => {
    const withToken = await TencentCloudSim.start({ secretId: ID, secretKey: KEY, token: 'session-token' });
    withToken.putSecret('s', 'v');
    try {
      const make = (token?: string) =>
        new ssm.v20190923.Client({
          credential: { secretId: ID, secretKey: KEY, ...(token ? { token } : {}) },
          region: 'ap-guangzhou',
          profile: { httpProfile: { endpoint: withToken.host, protocol: 'http://' } },
        });
      expect(
        (await make('session-token').GetSecretValue({ SecretName: 's', VersionId: 'SSM_Current' })).SecretString,
      ).toBe('v');
      expect(await errorCode(make().GetSecretValue({ SecretName: 's', VersionId: 'SSM_Current' }))).toBe(
        'AuthFailure.TokenFailure',
      );
    } finally {
      await withToken.close();
    }
  });

  it('routes by action and version, and needs a region', async () => {
    const c = client();
    expect(await errorCode(c.request('NoSuchAction', {}))).toBe('InvalidAction');
    expect(
      await errorCode(
        new ssm.v20190923.Client({
          credential: { secretId: ID, secretKey: KEY },
          profile: { httpProfile: { endpoint: sim.host, protocol: 'http://' } },
        }).GetSecretValue({ SecretName: 'app-secret', VersionId: 'SSM_Current' }),
      ),
    ).toBe('MissingParameter');
    expect(await errorCode(c.GetSecretValue({ SecretName: 'app-secret' } as never))).toBe('MissingParameter');
    expect(sim.calls('NoSuchAction')).toBe(1);
  });
});

describe('TencentCloudSim STS through the real SDK', () => {
  const policy = {
    version: '2.0',
    statement: [
      {
        effect: 'allow',
        action: ['name/cos:PutObject'],
        resource: ['qcs::cos:ap-beijing:uid/1250000000:examplebucket-1250000000/doc/*'],
      },
    ],
  };
  const encoded = (p: unknown) => encodeURIComponent(JSON.stringify(p));
  const stsClient = (credential = { secretId: ID, secretKey: KEY }) =>
    new sts.v20180813.Client({
      credential,
      region: 'ap-beijing',
      profile: { httpProfile: { endpoint: sim.host, protocol: 'http://' } },
    });

  it('GetFederationToken: mints random keys that expire after DurationSeconds (1800 by default) and keeps the decoded policy', async () => {
    const before = sim.issued().length;
    const nowS = Math.floor(Date.now() / 1000);
    const a = await stsClient().GetFederationToken({ Name: 'wecred', Policy: encoded(policy) });
    const b = await stsClient().GetFederationToken({ Name: 'wecred', Policy: encoded(policy), DurationSeconds: 7200 });
    expect(a.Credentials?.TmpSecretId).toMatch(/^AKID/);
    expect(a.Credentials?.TmpSecretKey).toBeTruthy();
    expect(a.Credentials?.Token).toBeTruthy();
    expect(a.Credentials?.TmpSecretKey).not.toBe(b.Credentials?.TmpSecretKey);
    expect(a.ExpiredTime! - nowS).toBeGreaterThanOrEqual(1799);
    expect(a.ExpiredTime! - nowS).toBeLessThanOrEqual(1801);
    expect(b.ExpiredTime! - nowS).toBeGreaterThanOrEqual(7199);
    expect(Date.parse(a.Expiration!)).toBe(a.ExpiredTime! * 1000);
    expect(sim.policies().slice(before)).toEqual([policy, policy]);
    expect(sim.issued().at(-1)).toMatchObject({
      action: 'GetFederationToken',
      durationSeconds: 7200,
      tmpSecretId: b.Credentials?.TmpSecretId,
    });
  });

  it('GetFederationToken: Name (letters) and Policy are required, principal is refused, at most 7200 s', async () => {
    const before = sim.issued().length;
    const c = stsClient();
    expect(await errorCode(c.GetFederationToken({ Policy: encoded(policy) } as never))).toBe('MissingParameter');
    expect(await errorCode(c.GetFederationToken({ Name: 'we-cred', Policy: encoded(policy) }))).toBe(
      'InvalidParameter.ParamError',
    );
    expect(await errorCode(c.GetFederationToken({ Name: 'wecred' } as never))).toBe('MissingParameter');
    expect(await errorCode(c.GetFederationToken({ Name: 'wecred', Policy: JSON.stringify(policy).slice(0, 20) }))).toBe(
      'InvalidParameter.PolicySyntaxError',
    );
    const withPrincipal = { version: '2.0', statement: [{ ...policy.statement[0], principal: { qcs: ['*'] } }] };
    expect(await errorCode(c.GetFederationToken({ Name: 'wecred', Policy: encoded(withPrincipal) }))).toBe(
      'InvalidParameter.PolicySyntaxError',
    );
    expect(
      await errorCode(c.GetFederationToken({ Name: 'wecred', Policy: encoded(policy), DurationSeconds: 7201 })),
    ).toBe('InvalidParameter.ParamError');
    expect(sim.issued().length).toBe(before);
  });

  it('AssumeRole: RoleArn and RoleSessionName patterns, 7200 s by default, at most 43200, optional policy', async () => {
    const c = stsClient();
    const arn = 'qcs::cam::uin/12345678:roleName/testRoleName';
    const nowS = Math.floor(Date.now() / 1000);
    const r = await c.AssumeRole({ RoleArn: arn, RoleSessionName: 'sess', Policy: encoded(policy) });
    expect(r.ExpiredTime! - nowS).toBeGreaterThanOrEqual(7199);
    expect(sim.issued().at(-1)).toMatchObject({ action: 'AssumeRole', policy, durationSeconds: 7200 });
    await c.AssumeRole({ RoleArn: arn, RoleSessionName: 'sess', DurationSeconds: 43200 });
    expect(sim.issued().at(-1)).toMatchObject({ action: 'AssumeRole', policy: undefined, durationSeconds: 43200 });
    expect(await errorCode(c.AssumeRole({ RoleArn: 'role', RoleSessionName: 'sess' }))).toBe(
      'InvalidParameter.ParamError',
    );
    expect(await errorCode(c.AssumeRole({ RoleArn: arn, RoleSessionName: 's' }))).toBe('InvalidParameter.ParamError');
    expect(await errorCode(c.AssumeRole({ RoleArn: arn, RoleSessionName: 'sess', DurationSeconds: 43201 }))).toBe(
      'InvalidParameter.ParamError',
    );
    expect(await errorCode(c.AssumeRole({ RoleArn: arn } as never))).toBe('MissingParameter');
  });

  it('checks the TC3 signature and the API version', async () => {
    const before = sim.issued().length;
    expect(
      await errorCode(
        stsClient({ secretId: ID, secretKey: `${KEY}x` }).GetFederationToken({
          Name: 'wecred',
          Policy: encoded(policy),
        }),
      ),
    ).toBe('AuthFailure.SignatureFailure');
    expect(await errorCode(client().request('GetFederationToken', { Name: 'wecred', Policy: encoded(policy) }))).toBe(
      'NoSuchVersion',
    );
    expect(sim.issued().length).toBe(before);
  });

  it('expires keys on its own clock, and checks signatures against signatureNow', async () => {
    const ahead = Date.now() + 3_600_000;
    const moved = await TencentCloudSim.start({
      secretId: ID,
      secretKey: KEY,
      now: () => ahead,
      signatureNow: Date.now,
    });
    try {
      const c = new sts.v20180813.Client({
        credential: { secretId: ID, secretKey: KEY },
        region: 'ap-beijing',
        profile: { httpProfile: { endpoint: moved.host, protocol: 'http://' } },
      });
      const r = await c.GetFederationToken({ Name: 'wecred', Policy: encoded(policy) });
      expect(r.ExpiredTime).toBe(Math.floor(ahead / 1000) + 1800);
    } finally {
      await moved.close();
    }
  });
});

describe('TencentCloudSim STS: CAM policy checks, faults, and the COS model', () => {
  const BUCKET = 'examplebucket-1250000000';
  const statement = {
    effect: 'allow',
    action: ['name/cos:GetObject', 'name/cos:PutObject'],
    resource: [`qcs::cos:ap-beijing:uid/1250000000:${BUCKET}/doc/*`],
  };
  const encoded = (p: unknown) => encodeURIComponent(JSON.stringify(p));
  const stsClient = () =>
    new sts.v20180813.Client({
      credential: { secretId: ID, secretKey: KEY },
      region: 'ap-beijing',
      profile: { httpProfile: { endpoint: sim.host, protocol: 'http://' } },
    });
  const federation = (statements: unknown[]) =>
    stsClient().GetFederationToken({ Name: 'wecred', Policy: encoded({ version: '2.0', statement: statements }) });

  it('refuses policies CAM would not take for COS', async () => {
    const bad = [
      { ...statement, action: 'name/cos:GetObject' },
      { ...statement, action: ['cos:GetObject'] },
      { ...statement, action: [] },
      { ...statement, effect: 'Allow' },
      { ...statement, resource: statement.resource[0] },
      { ...statement, resource: [`qcs::cos:ap-beijing:uid/1250000001:${BUCKET}/doc/*`] },
      { ...statement, resource: ['qcs::cos:ap-beijing:uid/1250000000:examplebucket/doc/*'] },
    ];
    for (const st of bad)
      expect(await errorCode(federation([st])), JSON.stringify(st)).toBe('InvalidParameter.PolicySyntaxError');
    expect(
      await errorCode(
        stsClient().GetFederationToken({ Name: 'wecred', Policy: encoded({ version: '1.0', statement: [statement] }) }),
      ),
    ).toBe('InvalidParameter.PolicySyntaxError');
  });

  it('fault(): the next N calls answer the code, drop or wait, then normal answers resume', async () => {
    sim.fault('GetFederationToken', { code: 'InternalError' }, 2);
    sim.fault('GetFederationToken', { drop: true });
    expect(await errorCode(federation([statement]))).toBe('InternalError');
    expect(await errorCode(federation([statement]))).toBe('InternalError');
    await expect(federation([statement])).rejects.toThrow();
    sim.fault('GetFederationToken', { delayMs: 200 });
    const started = Date.now();
    expect((await federation([statement])).Credentials?.TmpSecretId).toMatch(/^AKID/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(sim.calls('GetFederationToken')).toBe(4);
  });

  it('verifyCosRequest: accepts a request signed with issued keys inside their policy, and nothing else', async () => {
    const r = await federation([statement]);
    const c = r.Credentials!;
    const host = `${BUCKET}.cos.ap-beijing.myqcloud.com`;
    const now = Math.floor(Date.now() / 1000);
    const signed = (key: string, secretKey = c.TmpSecretKey!, method = 'GET', endTime = now + 60) =>
      cosSign({
        secretId: c.TmpSecretId!,
        secretKey,
        method,
        pathname: `/${key}`,
        query: { 'response-content-type': 'text/plain' },
        headers: { host },
        startTime: now - 1,
        endTime,
      }).authorization;
    const request = (key: string, authorization: string, method = 'GET', token = c.Token!) => ({
      method,
      url: `https://${host}/${encodeURIComponent(key).replace(/%2F/g, '/')}?response-content-type=text%2Fplain`,
      headers: { Host: host, Authorization: authorization, 'x-cos-security-token': token },
    });
    expect(sim.verifyCosRequest(request('doc/报告 (1).txt', signed('doc/报告 (1).txt')))).toEqual({ ok: true });
    expect(sim.verifyCosRequest(request('doc/b.txt', signed('doc/a.txt')))).toEqual({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(sim.verifyCosRequest(request('doc/a.txt', signed('doc/a.txt', 'another-key')))).toEqual({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(sim.verifyCosRequest(request('doc/a.txt', signed('doc/a.txt'), 'GET', 'other-token'))).toEqual({
      ok: false,
      code: 'InvalidToken',
    });
    expect(sim.verifyCosRequest(request('doc/a.txt', signed('doc/a.txt', c.TmpSecretKey!, 'GET', now - 1)))).toEqual({
      ok: false,
      code: 'AccessDenied',
    });
    // signed correctly, but outside the policy: another prefix, another action
    expect(sim.verifyCosRequest(request('private/a.txt', signed('private/a.txt')))).toEqual({
      ok: false,
      code: 'AccessDenied',
    });
    expect(
      sim.verifyCosRequest(request('doc/a.txt', signed('doc/a.txt', c.TmpSecretKey!, 'DELETE'), 'DELETE')),
    ).toEqual({ ok: false, code: 'AccessDenied' });
    expect(
      sim.verifyCosRequest({
        ...request('doc/a.txt', signed('doc/a.txt')),
        headers: {
          Host: host,
          Authorization: signed('doc/a.txt').replace(c.TmpSecretId!, ID),
          'x-cos-security-token': c.Token!,
        },
      }),
    ).toEqual({
      ok: false,
      code: 'InvalidAccessKeyId',
    });
  });
});
