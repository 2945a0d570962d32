/**
 * COS through the real HTTP server: cos.credentials against the STS simulator (the real SDK on our
 * side), cos.sign checked by the simulator's model of COS, the Wafer aliases, scopes and refused
 * keys. Over 400 lines: every refusal is its own case. docs/design.md §12.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../lib/config/load';
import { cosKey } from '../lib/credentials/cos';
import { WechatSim } from '../sim';
import { TencentCloudSim } from '../sim/tencentcloud';
import { ADMIN, REALM, startStack, type Stack } from './support/stack';

const COS = { secretId: 'AKIDcospermanent000000000000000000000', secretKey: 'cos-permanent-secret-key-0123456789' };
const BUCKET = 'examplebucket-1250000000';
const OTHER = 'mediabucket-1250000000';

const open: { close(): Promise<void> }[] = [];
beforeAll(() => {
  // The SDK sends everything through $http_proxy when set; loopback must not go there.
  vi.stubEnv('http_proxy', '');
  vi.stubEnv('HTTP_PROXY', '');
});
afterAll(() => vi.unstubAllEnvs());
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

interface CosStack {
  stack: Stack;
  sim: WechatSim;
  sts: TencentCloudSim;
}

/** A stack with COS configured against an STS simulator that shares the WeChat sim's clock. */
async function cosStack(cos: Record<string, unknown> = {}): Promise<CosStack> {
  const sim = await WechatSim.start();
  open.push(sim);
  // Keys expire on the shared (movable) clock; the SDK signs with the machine's.
  const sts = await TencentCloudSim.start({ ...COS, now: () => sim.now(), signatureNow: Date.now });
  open.push(sts);
  const stack = await startStack({
    sim,
    config: {
      realms: [
        { ...REALM, interfaces: ['cos.credentials', 'cos.sign'] },
        { ...ADMIN, admin: true },
      ],
      upstream: { mp: sim.url, sts: sts.url, timeoutMs: 2000, budgetMs: 4000 },
      cos: {
        ...COS,
        region: 'ap-beijing',
        scopes: [
          {
            bucket: BUCKET,
            prefix: 'uploads/',
            actions: ['name/cos:PutObject', 'name/cos:GetObject', 'name/cos:HeadObject'],
          },
          { bucket: OTHER, region: 'ap-shanghai', prefix: '' },
        ],
        ...cos,
      },
    },
  });
  open.push(stack);
  return { stack, sim, sts };
}

async function call(s: Stack, name: string, para: Record<string, unknown>) {
  const { status, json } = await s.envelope(name, para);
  expect(status).toBe(200);
  return json as { returnCode: number; returnData: any; error?: { code: string; message: string } };
}

/** Exactly the first configured scope: served from its cache. */
const ask = { bucket: BUCKET, region: 'ap-beijing', prefix: 'uploads/' };
/** Under it: its own STS call, then cached in the process (never the store). */
const narrow = { ...ask, prefix: 'uploads/u1/' };
const ALL = ['name/cos:GetObject', 'name/cos:HeadObject', 'name/cos:PutObject'];

describe('cos.credentials', () => {
  it('hands out STS keys whose policy names only the configured bucket, the asked prefix and the allowed actions', async () => {
    const { stack, sts } = await cosStack();
    const r = await call(stack, 'cos.credentials', narrow);
    expect(r.returnCode).toBe(0);
    const issued = sts.issued()[0]!;
    expect(r.returnData).toEqual({
      tmpSecretId: issued.tmpSecretId,
      tmpSecretKey: expect.any(String),
      sessionToken: expect.any(String),
      expiredTime: issued.expiredTime,
      bucket: BUCKET,
      region: 'ap-beijing',
      prefix: 'uploads/u1/',
      actions: ['name/cos:GetObject', 'name/cos:HeadObject', 'name/cos:PutObject'],
    });
    expect(issued).toMatchObject({ action: 'GetFederationToken', durationSeconds: 1800 });
    expect(sts.policies()).toEqual([
      {
        version: '2.0',
        statement: [
          {
            effect: 'allow',
            action: ['name/cos:GetObject', 'name/cos:HeadObject', 'name/cos:PutObject'],
            resource: ['qcs::cos:ap-beijing:uid/1250000000:examplebucket-1250000000/uploads/u1/*'],
          },
        ],
      },
    ]);

    // A subset of the actions is a different grant with its own narrower policy.
    const put = await call(stack, 'cos.credentials', { ...narrow, actions: ['name/cos:PutObject'] });
    expect(put.returnCode).toBe(0);
    expect(put.returnData.tmpSecretId).not.toBe(r.returnData.tmpSecretId);
    expect(sts.policies()[1]).toMatchObject({ statement: [{ action: ['name/cos:PutObject'] }] });
  });

  it('makes one STS call for each distinct narrower request, answers its repeats from the process, and stores none of it', async () => {
    const { stack, sts } = await cosStack();
    const a = await call(stack, 'cos.credentials', narrow);
    const b = await call(stack, 'cos.credentials', narrow);
    const fewer = await call(stack, 'cos.credentials', { ...ask, actions: ['name/cos:GetObject'] });
    expect([a.returnCode, b.returnCode, fewer.returnCode]).toEqual([0, 0, 0]);
    expect(b.returnData).toEqual(a.returnData);
    expect(fewer.returnData.tmpSecretId).not.toBe(a.returnData.tmpSecretId);
    expect(sts.calls('GetFederationToken')).toBe(2);
    expect(await stack.store.read(cosKey({ ...narrow, actions: ALL }))).toBeNull();
    expect(await stack.store.read(cosKey({ ...ask, actions: ['name/cos:GetObject'] }))).toBeNull();
    // the configured scope itself: the same actions in any order, or none, is the cached credential
    const whole = await call(stack, 'cos.credentials', { ...ask, actions: [...ALL].reverse() });
    expect((await call(stack, 'cos.credentials', ask)).returnData).toEqual(whole.returnData);
    expect(sts.calls('GetFederationToken')).toBe(3);
  });

  it('serves two instances sharing one store the same cached keys, fetched once', async () => {
    const { stack, sts } = await cosStack();
    const second = await startStack({
      sim: stack.sim,
      store: stack.store,
      config: {
        realms: [{ ...REALM, interfaces: ['cos.credentials'] }],
        upstream: { mp: stack.sim.url, sts: sts.url, timeoutMs: 2000, budgetMs: 4000 },
        cos: stack.config.cos,
      },
    });
    open.push(second);
    const [a, b] = await Promise.all([call(stack, 'cos.credentials', ask), call(second, 'cos.credentials', ask)]);
    expect(a.returnData.tmpSecretId).toBe(sts.issued()[0]!.tmpSecretId);
    expect(b.returnData).toEqual(a.returnData);
    expect(sts.calls('GetFederationToken')).toBe(1);
  });

  it('retries a transient STS failure within the budget, then answers 1005', async () => {
    const { stack, sts } = await cosStack();
    sts.fault('GetFederationToken', { code: 'InternalError' });
    sts.fault('GetFederationToken', { drop: true });
    expect((await call(stack, 'cos.credentials', ask)).returnCode).toBe(0);
    expect(sts.calls('GetFederationToken')).toBe(3);

    const later = await cosStack();
    later.sts.fault('GetFederationToken', { code: 'RequestLimitExceeded' }, 1000);
    const r = await call(later.stack, 'cos.credentials', ask);
    expect(r.returnCode).toBe(1005);
    expect(later.sts.calls('GetFederationToken')).toBeGreaterThan(1);
    expect(later.sts.issued()).toHaveLength(0);
  });

  it('uses AssumeRole with the configured role and lifetime', async () => {
    const { stack, sts } = await cosStack({
      roleArn: 'qcs::cam::uin/100000000001:roleName/cos-uploader',
      durationSeconds: 3600,
    });
    expect((await call(stack, 'cos.credentials', ask)).returnCode).toBe(0);
    expect(sts.issued()[0]).toMatchObject({ action: 'AssumeRole', durationSeconds: 3600 });
    expect(sts.calls('GetFederationToken')).toBe(0);
  });

  it('serves the cached keys until refreshAheadSeconds before they expire, then fetches once', async () => {
    const { stack, sim, sts } = await cosStack();
    const first = (await call(stack, 'cos.credentials', ask)).returnData;
    expect((await call(stack, 'cos.credentials', ask)).returnData).toEqual(first);
    expect(sts.calls('GetFederationToken')).toBe(1);

    // 1800 s keys, refreshed 300 s ahead: at 1440 s they are still served from the store.
    sim.advance(1440_000);
    expect((await call(stack, 'cos.credentials', ask)).returnData).toEqual(first);
    expect(sts.calls('GetFederationToken')).toBe(1);

    // Inside the refresh window: the keys are served while one new fetch runs beside the request; its keys then serve everyone.
    sim.advance(120_000);
    expect((await call(stack, 'cos.credentials', ask)).returnData).toEqual(first);
    await expect
      .poll(async () => (await call(stack, 'cos.credentials', ask)).returnData.tmpSecretId)
      .not.toBe(first.tmpSecretId);
    const second = (await call(stack, 'cos.credentials', ask)).returnData;
    expect(second.expiredTime).toBe(sts.issued()[1]!.expiredTime);
    expect((await call(stack, 'cos.credentials', ask)).returnData).toEqual(second);
    expect(sts.calls('GetFederationToken')).toBe(2);
  });

  it('makes one STS call for 20 concurrent requests', async () => {
    const { stack, sts } = await cosStack();
    const all = await Promise.all(Array.from({ length: 20 }, () => call(stack, 'cos.credentials', ask)));
    expect(new Set(all.map((r) => r.returnData.tmpSecretId)).size).toBe(1);
    expect(sts.calls('GetFederationToken')).toBe(1);
  });

  it('refuses a bucket, region, prefix or action outside cos.scopes with 7007, without calling STS', async () => {
    const { stack, sts } = await cosStack();
    const refused = [
      { ...ask, bucket: 'unknownbucket-1250000000' },
      { ...ask, region: 'ap-guangzhou' },
      { ...ask, prefix: 'private/' },
      { ...ask, prefix: 'uploads' },
      { ...narrow, actions: ['name/cos:PutObject', 'name/cos:DeleteObject'] },
      { bucket: OTHER, region: 'ap-beijing', prefix: '' },
    ];
    for (const para of refused) {
      const r = await call(stack, 'cos.credentials', para);
      expect(r.returnCode, JSON.stringify(para)).toBe(7007);
      expect(r.error?.code).toBe('resource_not_allowed');
    }
    // the whole of a bucket configured with prefix ""
    expect(
      (await call(stack, 'cos.credentials', { bucket: OTHER, region: 'ap-shanghai', prefix: '' })).returnCode,
    ).toBe(0);
    expect(sts.policies()[0]).toMatchObject({
      statement: [{ resource: ['qcs::cos:ap-shanghai:uid/1250000000:mediabucket-1250000000/*'] }],
    });
    expect(sts.calls()).toBe(1);
  });

  it('refuses a para that carries keys (1003), and bad fields naming the field', async () => {
    const { stack, sts } = await cosStack();
    for (const extra of [
      { secretKey: 'x' },
      { SecretId: 'x' },
      { tmpSecretKey: 'x' },
      { options: { nested: [{ secret_key: 'x' }] } },
      { sessionToken: 'x' },
    ]) {
      const r = await call(stack, 'cos.credentials', { ...ask, ...extra });
      expect(r.returnCode, JSON.stringify(extra)).toBe(1003);
      expect(r.error?.message).toMatch(/keys never come from callers/);
    }
    expect((await call(stack, 'cos.credentials', { ...ask, prefix: undefined })).error?.message).toMatch(
      /para\.prefix/,
    );
    expect((await call(stack, 'cos.credentials', { ...ask, prefix: 'uploads/*' })).error?.message).toMatch(
      /para\.prefix/,
    );
    expect((await call(stack, 'cos.credentials', { ...ask, actions: 'name/cos:PutObject' })).error?.message).toMatch(
      /para\.actions/,
    );
    expect((await call(stack, 'cos.credentials', { ...ask, prefix: 'uploads/\ud800x/' })).error?.message).toMatch(
      /para\.prefix.*surrogate/,
    );
    expect(
      (await call(stack, 'cos.credentials', { ...ask, prefix: `uploads/${'报'.repeat(281)}` })).error?.message,
    ).toMatch(/para\.prefix.*850 bytes/);
    expect(sts.calls()).toBe(0);
  });

  it('needs the bucket in realms[].apps when the realm lists apps (7005)', async () => {
    const { stack, sts } = await cosStack();
    const listed = { key: 'listed', secret: 'listed-realm-secret-0123456789' };
    const s2 = await startStack({
      sim: stack.sim,
      store: stack.store,
      config: {
        realms: [{ ...listed, apps: ['wx1111111111111111', OTHER], interfaces: ['cos.credentials', 'cos.sign'] }],
        upstream: { mp: stack.sim.url, sts: sts.url, timeoutMs: 2000, budgetMs: 4000 },
        cos: stack.config.cos,
      },
    });
    open.push(s2);
    expect((await s2.envelope('cos.credentials', ask, listed)).json.returnCode).toBe(7005);
    expect(
      (
        await s2.envelope(
          'cos.sign',
          { method: 'GET', bucket: BUCKET, region: 'ap-beijing', key: 'uploads/a.txt' },
          listed,
        )
      ).json.returnCode,
    ).toBe(7005);
    expect(
      (await s2.envelope('cos.credentials', { bucket: OTHER, region: 'ap-shanghai', prefix: '' }, listed)).json
        .returnCode,
    ).toBe(0);
    expect(sts.issued()).toHaveLength(1);
  });

  it('reports STS refusing the permanent keys as a configuration fault, without the keys', async () => {
    const { stack } = await cosStack({ secretKey: 'a-wrong-permanent-key-000000000000' });
    const r = await call(stack, 'cos.credentials', ask);
    expect(r.returnCode).toBe(7302);
    expect(r.error?.message).toMatch(/Tencent Cloud STS .*AuthFailure\.SignatureFailure.*cos\.secretId/);
    expect(JSON.stringify(r)).not.toContain('a-wrong-permanent-key');
  });

  it('never logs the permanent or temporary keys', async () => {
    const { stack } = await cosStack();
    const d = (await call(stack, 'cos.credentials', ask)).returnData;
    expect(
      (await call(stack, 'cos.sign', { method: 'GET', bucket: BUCKET, region: 'ap-beijing', key: 'uploads/a.txt' }))
        .returnCode,
    ).toBe(0);
    const logs = JSON.stringify(stack.logs);
    expect(stack.logs.length).toBeGreaterThan(0);
    for (const secret of [COS.secretKey, d.tmpSecretKey, d.sessionToken]) expect(logs).not.toContain(secret);
  });
});

describe('cos.sign and the Wafer aliases', () => {
  it("signs with the scope's temporary keys: COS (the sim) accepts the request, q-ak is a temporary id", async () => {
    const { stack, sim, sts } = await cosStack();
    const r = await call(stack, 'cos.sign', {
      method: 'get',
      bucket: BUCKET,
      region: 'ap-beijing',
      key: '/uploads/报告 (1).pdf',
      query: { 'Response-Content-Type': 'application/pdf' },
      expires: 900,
    });
    expect(r.returnCode).toBe(0);
    const host = `${BUCKET}.cos.ap-beijing.myqcloud.com`;
    const now = Math.floor(sim.now() / 1000);
    const { authorization, securityToken, startTime, expiredTime } = r.returnData;
    expect(r.returnData).toMatchObject({ host, action: 'name/cos:GetObject' });
    expect(startTime).toBe(now - 1);
    expect(expiredTime).toBe(now + 900);
    const fields = Object.fromEntries(authorization.split('&').map((kv: string) => kv.split('=')));
    expect(fields['q-ak']).toBe(sts.issued()[0]!.tmpSecretId);
    expect(fields['q-ak']).not.toBe(COS.secretId);
    expect(authorization).not.toContain(COS.secretId);
    expect(sts.policies()[0]).toMatchObject({
      statement: [{ resource: [`qcs::cos:ap-beijing:uid/1250000000:${BUCKET}/uploads/*`] }],
    });

    const url = `https://${host}/uploads/${encodeURIComponent('报告 (1).pdf')}?response-content-type=application%2Fpdf`;
    const request = (headers: Record<string, string>) =>
      sts.verifyCosRequest({ method: 'GET', url, headers: { host, ...headers } });
    expect(request({ authorization, 'x-cos-security-token': securityToken })).toEqual({ ok: true });
    expect(request({ authorization })).toEqual({ ok: false, code: 'InvalidToken' });
    expect(
      sts.verifyCosRequest({
        method: 'PUT',
        url,
        headers: { host, authorization, 'x-cos-security-token': securityToken },
      }),
    ).toEqual({ ok: false, code: 'SignatureDoesNotMatch' });

    // The scope's keys are cached: another signature costs no STS call.
    expect(
      (await call(stack, 'cos.sign', { method: 'PUT', bucket: BUCKET, region: 'ap-beijing', key: 'uploads/b.txt' }))
        .returnCode,
    ).toBe(0);
    expect(sts.calls('GetFederationToken')).toBe(1);
  });

  it("never signs past the temporary keys' expiry", async () => {
    const { stack, sim, sts } = await cosStack();
    await call(stack, 'cos.credentials', ask);
    sim.advance(1400_000); // 400 s left on the 1800 s keys, still fresh (refreshed 300 s ahead)
    const r = await call(stack, 'cos.sign', {
      method: 'GET',
      bucket: BUCKET,
      region: 'ap-beijing',
      key: 'uploads/a.txt',
      expires: 7200,
    });
    expect(r.returnData.expiredTime).toBe(sts.issued()[0]!.expiredTime);
    expect(sts.calls('GetFederationToken')).toBe(1);
  });

  it('refuses keys outside the scopes, actions the scope does not allow, a foreign host and caller keys', async () => {
    const { stack } = await cosStack();
    const base = { method: 'PUT', bucket: BUCKET, region: 'ap-beijing', key: 'uploads/a.txt' };
    expect((await call(stack, 'cos.sign', base)).returnData.action).toBe('name/cos:PutObject');
    expect((await call(stack, 'cos.sign', { ...base, key: 'private/a.txt' })).returnCode).toBe(7007);
    expect((await call(stack, 'cos.sign', { ...base, method: 'DELETE' })).returnCode).toBe(7007);
    // PUT ?acl is PutObjectACL, not PutObject, however the name is written
    expect((await call(stack, 'cos.sign', { ...base, query: { acl: null } })).returnCode).toBe(7007);
    expect((await call(stack, 'cos.sign', { ...base, query: { ACL: '' } })).returnCode).toBe(7007);
    expect((await call(stack, 'cos.sign', { ...base, query: { Acl: '', acl: '' } })).error?.message).toMatch(
      /para\.query names acl more than once/,
    );
    // GET ?uploadId is ListParts, not GetObject
    expect((await call(stack, 'cos.sign', { ...base, method: 'GET', query: { UploadId: 'x' } })).returnCode).toBe(7007);
    // a sub-resource cos.sign does not know, and one that is not for objects
    expect((await call(stack, 'cos.sign', { ...base, query: { restore: '' } })).error?.message).toMatch(
      /para\.query\.restore/,
    );
    expect((await call(stack, 'cos.sign', { ...base, query: { 'max-keys': '10' } })).error?.message).toMatch(
      /para\.query\.max-keys/,
    );
    // headers that act on another object or run processing
    for (const h of [
      'x-cos-copy-source',
      'X-Cos-Copy-Source-Range',
      'x-cos-rename-source',
      'x-cos-symlink-target',
      'Pic-Operations',
    ]) {
      expect(
        (
          await call(stack, 'cos.sign', {
            ...base,
            headers: { [h]: `${BUCKET}.cos.ap-beijing.myqcloud.com/private/secret.txt` },
          })
        ).returnCode,
        h,
      ).toBe(7007);
    }
    expect(
      (await call(stack, 'cos.sign', { ...base, headers: { 'x-cos-meta-accesskeyid-note': 'fine' } })).returnCode,
    ).toBe(0);
    expect((await call(stack, 'cos.sign', { ...base, headers: { Authorization: 'x' } })).returnCode).toBe(1003);
    expect(
      (await call(stack, 'cos.sign', { ...base, headers: { 'x-cos-meta-a': 'bad \udc00' } })).error?.message,
    ).toMatch(/para\.headers\.x-cos-meta-a.*surrogate/);
    expect((await call(stack, 'cos.sign', { ...base, query: { '\ud800': '' } })).error?.message).toMatch(
      /para\.query.*surrogate/,
    );
    expect((await call(stack, 'cos.sign', { ...base, key: 'uploads/\ud800' })).error?.message).toMatch(
      /para\.key.*surrogate/,
    );
    expect((await call(stack, 'cos.sign', { ...base, bucket: 'unknownbucket-1250000000' })).returnCode).toBe(7007);
    expect((await call(stack, 'cos.sign', { ...base, key: 'uploads/../private/a.txt' })).returnCode).toBe(1003);
    expect(
      (await call(stack, 'cos.sign', { ...base, headers: { Host: 'evil-1250000000.cos.ap-beijing.myqcloud.com' } }))
        .returnCode,
    ).toBe(1003);
    expect((await call(stack, 'cos.sign', { ...base, headers: { 'x-cos-security-token': 't' } })).returnCode).toBe(
      1003,
    );
    expect((await call(stack, 'cos.sign', { ...base, expires: 7201 })).error?.message).toMatch(/para\.expires/);
    expect((await call(stack, 'cos.sign', { ...base, method: 'PATCH' })).error?.message).toMatch(/para\.method/);
  });

  it('qcloud.cos.auth.reusable is cos.sign; nonreusable lives a minute at most; both refuse caller keys', async () => {
    const { stack } = await cosStack();
    const para = { method: 'GET', bucket: BUCKET, region: 'ap-beijing', key: 'uploads/a.txt' };
    const reusable = await call(stack, 'qcloud.cos.auth.reusable', para);
    expect(reusable.returnCode).toBe(0);
    expect(reusable.returnData.expiredTime - reusable.returnData.startTime).toBe(601);
    const once = await call(stack, 'qcloud.cos.auth.nonreusable', para);
    expect(once.returnCode).toBe(0);
    expect(once.returnData.expiredTime - once.returnData.startTime).toBe(61);
    expect((await call(stack, 'qcloud.cos.auth.nonreusable', { ...para, expires: 120 })).returnCode).toBe(1003);
    expect(
      (await call(stack, 'qcloud.cos.auth.reusable', { ...para, SecretId: 'AKIDx', SecretKey: 'y' })).returnCode,
    ).toBe(1003);
    expect((await call(stack, 'qcloud.cos.auth.nonreusable', { ...para, secretKey: 'y' })).returnCode).toBe(1003);
  });

  it('needs the cos.sign scope in the realm, and a cos section in the config', async () => {
    const { stack } = await cosStack();
    const narrow = { key: 'narrow', secret: 'narrow-realm-secret-0123456789' };
    const s2 = await startStack({
      sim: stack.sim,
      store: stack.store,
      config: {
        realms: [{ ...narrow, interfaces: ['cos.credentials'] }],
        upstream: { mp: stack.sim.url, timeoutMs: 1000, budgetMs: 2000 },
      },
    });
    open.push(s2);
    const para = { method: 'GET', bucket: BUCKET, region: 'ap-beijing', key: 'uploads/a.txt' };
    expect((await s2.envelope('qcloud.cos.auth.nonreusable', para, narrow)).json.returnCode).toBe(7006);
    const none = await s2.envelope('cos.credentials', ask, narrow);
    expect(none.json).toMatchObject({ returnCode: 7007, error: { message: expect.stringMatching(/not configured/) } });
  });

  it('lets a realm listing qcloud.cos.auth.nonreusable, or cos.sign, call nonreusable (both mean the cos.sign scope)', async () => {
    const { stack, sts } = await cosStack();
    const byAlias = { key: 'by-alias', secret: 'by-alias-realm-secret-0123456789' };
    const byName = { key: 'by-name', secret: 'by-name-realm-secret-0123456789' };
    const s2 = await startStack({
      sim: stack.sim,
      store: stack.store,
      config: {
        realms: [
          { ...byAlias, interfaces: ['qcloud.cos.auth.nonreusable'] },
          { ...byName, interfaces: ['cos.sign'] },
        ],
        upstream: { mp: stack.sim.url, sts: sts.url, timeoutMs: 2000, budgetMs: 4000 },
        cos: stack.config.cos,
      },
    });
    open.push(s2);
    const para = { method: 'GET', bucket: BUCKET, region: 'ap-beijing', key: 'uploads/a.txt' };
    for (const realm of [byAlias, byName]) {
      expect((await s2.envelope('qcloud.cos.auth.nonreusable', para, realm)).json.returnCode).toBe(0);
      expect((await s2.envelope('cos.credentials', ask, realm)).json.returnCode).toBe(7006);
    }
  });
});

describe('cos configuration', () => {
  const base = { secretId: 'id', secretKey: 'key', region: 'ap-beijing', scopes: [{ bucket: BUCKET, prefix: 'a/' }] };
  const problem = (cos: unknown, extra: Record<string, unknown> = {}) => {
    try {
      parseConfig({ cos, ...extra }, {});
    } catch (err) {
      return (err as Error).message;
    }
    return undefined;
  };

  it('fills in defaults: the upload/download actions, the scope region, 1800 s', () => {
    const cos = parseConfig({ cos: base }, {}).cos!;
    expect(cos).toMatchObject({ durationSeconds: 1800, region: 'ap-beijing' });
    expect(cos.scopes[0]).toMatchObject({ region: 'ap-beijing', prefix: 'a/' });
    expect(cos.scopes[0]!.actions).toEqual(
      expect.arrayContaining(['name/cos:PutObject', 'name/cos:GetObject', 'name/cos:UploadPart']),
    );
    expect(parseConfig({ cos: { ...base, secretKey: 'env:COS_KEY' } }, { COS_KEY: 'from-env' }).cos!.secretKey).toBe(
      'from-env',
    );
    expect(parseConfig({ upstream: { sts: '127.0.0.1:9000' } }, {}).upstream.sts).toEqual({
      protocol: 'https:',
      host: '127.0.0.1:9000',
    });
  });

  it('names the field of each problem in one line', () => {
    expect(problem({ ...base, scopes: [{ bucket: 'nobucketappid', prefix: '' }] })).toMatch(/cos\.scopes\[0\]\.bucket/);
    expect(problem({ ...base, scopes: [{ bucket: BUCKET, prefix: '/a' }] })).toMatch(/cos\.scopes\[0\]\.prefix/);
    expect(problem({ ...base, scopes: [{ bucket: BUCKET, prefix: 'a*' }] })).toMatch(/cos\.scopes\[0\]\.prefix/);
    expect(problem({ ...base, scopes: [{ bucket: BUCKET, prefix: '', actions: ['cos:PutObject'] }] })).toMatch(
      /cos\.scopes\[0\]\.actions\[0\]/,
    );
    expect(problem({ ...base, scopes: [] })).toMatch(/cos\.scopes/);
    expect(problem({ ...base, durationSeconds: 7201 })).toMatch(/cos\.durationSeconds/);
    expect(problem({ ...base, durationSeconds: 300 })).toMatch(/cos\.durationSeconds.*refreshAheadSeconds/);
    expect(problem({ ...base, roleArn: 'role' })).toMatch(/cos\.roleArn/);
    expect(problem({ ...base, secretKey: '' })).toMatch(/cos\.secretKey/);
    expect(problem({ ...base, region: 'Beijing' })).toMatch(/cos\.region/);
    expect(problem(base, { upstream: { sts: 'https://sts.example.com/path' } })).toMatch(/upstream\.sts/);
  });
});
