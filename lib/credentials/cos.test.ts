import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/load';
import { createLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import { TencentCloudSim } from '../../sim/tencentcloud';
import { classifyUpstream } from '../wechat/errors';
import { cosKey, cosSource, NARROW_CACHE_SIZE, narrowKeysCache, scopeKeys } from './cos';
import { CredentialError } from './errors';
import { Lifecycle } from './lifecycle';
import type { CredentialSource } from './source';

const KEYS = { secretId: 'AKIDcosunit00000000000000000000000000', secretKey: 'cos-unit-secret-key-0123456789' };
const BUCKET = 'examplebucket-1250000000';

let sts: TencentCloudSim;
beforeAll(async () => {
  vi.stubEnv('http_proxy', '');
  sts = await TencentCloudSim.start(KEYS);
});
afterAll(async () => {
  await sts.close();
  vi.unstubAllEnvs();
});
beforeEach(() => sts.resetCalls());

function config(cos: Record<string, unknown> = {}) {
  return parseConfig(
    {
      upstream: { sts: sts.url, timeoutMs: 300 },
      cos: {
        ...KEYS,
        region: 'ap-beijing',
        scopes: [{ bucket: BUCKET, prefix: 'a/', actions: ['name/cos:PutObject'] }],
        ...cos,
      },
    },
    {},
  );
}
const call = () => ({ caller: 'test', upstreamCalls: 0, deadline: performance.now() + 5000 });
const fetchOnce = (src: CredentialSource, timeoutMs = 300) =>
  src.fetch({
    force: false,
    deadline: performance.now() + 5000,
    timeoutMs: () => timeoutMs,
    call: call(),
    spend: async () => undefined,
  });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('expected a failure'),
    (e: unknown) => e as Error,
  );

describe('the COS credential of a configured scope', () => {
  it('is keyed by its area and set of actions, whatever their order', () => {
    const scope = { bucket: BUCKET, region: 'ap-beijing', prefix: 'a/' };
    expect(cosKey({ ...scope, actions: ['name/cos:GetObject', 'name/cos:PutObject'] })).toBe(
      cosKey({ ...scope, actions: ['name/cos:PutObject', 'name/cos:GetObject'] }),
    );
    expect(cosKey({ ...scope, actions: [] })).not.toBe(cosKey({ ...scope, prefix: 'a/b/', actions: [] }));
  });

  it('stores the keys STS issued as they are, expiring on STS ExpiredTime', async () => {
    const c = config();
    const got = await fetchOnce(cosSource(c, c.cos!.scopes[0]!, Date.now));
    expect(got.expiresIn).toBeGreaterThanOrEqual(1799);
    expect(got.expiresIn).toBeLessThanOrEqual(1800);
    expect(JSON.parse(got.value)).toMatchObject({
      tmpSecretId: sts.issued().at(-1)!.tmpSecretId,
      expiredTime: sts.issued().at(-1)!.expiredTime,
    });
  });

  it('leaves transient STS failures (InternalError, RequestLimitExceeded, drop, no answer) for the lifecycle to retry', async () => {
    const c = config();
    const src = cosSource(c, c.cos!.scopes[0]!, Date.now);
    sts.fault('GetFederationToken', { code: 'InternalError' });
    sts.fault('GetFederationToken', { code: 'RequestLimitExceeded.UinLimitExceeded' });
    sts.fault('GetFederationToken', { drop: true });
    for (const reason of ['busy', 'busy', 'network']) {
      const err = await failure(fetchOnce(src));
      expect(err).toMatchObject({ name: 'UpstreamUnavailable', reason });
      expect(classifyUpstream(err)).toBe('retry');
    }
  });

  it('gives up on a hanging STS after the attempt timeout, not the SDK whole seconds', async () => {
    const c = config();
    sts.fault('GetFederationToken', { delayMs: 3000 });
    const started = performance.now();
    const err = await failure(fetchOnce(cosSource(c, c.cos!.scopes[0]!, Date.now), 150));
    expect(err).toMatchObject({ name: 'UpstreamUnavailable', reason: 'timeout' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('reports refused keys and parameters as configuration faults naming the Tencent code, never the key', async () => {
    const wrong = config({ secretKey: 'a-wrong-permanent-key-000000000000' });
    const auth = await failure(fetchOnce(cosSource(wrong, wrong.cos!.scopes[0]!, Date.now)));
    expect(auth).toBeInstanceOf(CredentialError);
    expect(auth).toMatchObject({
      code: 'config_fault',
      message: expect.stringMatching(/AuthFailure\.SignatureFailure/),
    });
    expect(auth.message).not.toContain('a-wrong-permanent-key');
    sts.fault('GetFederationToken', { code: 'InvalidParameter.PolicySyntaxError' });
    const c = config();
    expect(await failure(fetchOnce(cosSource(c, c.cos!.scopes[0]!, Date.now)))).toMatchObject({
      code: 'config_fault',
      message: expect.stringMatching(
        /^Tencent Cloud STS \w+ rejected a parameter \(InvalidParameter\.PolicySyntaxError\): check cos\.durationSeconds and cos\.scopes$/,
      ),
    });
    expect(auth.message).toMatch(
      /^Tencent Cloud STS \w+ refused the request \(AuthFailure\.SignatureFailure\): check cos\.secretId, cos\.secretKey and the permissions of that key$/,
    );
    const role = config({
      secretKey: 'a-wrong-permanent-key-000000000000',
      roleArn: 'qcs::cam::uin/100000000001:roleName/cos-uploader',
    });
    expect((await failure(fetchOnce(cosSource(role, role.cos!.scopes[0]!, Date.now)))).message).toMatch(
      /permissions of that key and cos\.roleArn$/,
    );
    // only codes that begin with InvalidParameter or MissingParameter are about our parameters
    sts.fault('GetFederationToken', { code: 'ResourceNotFound.MissingParameterStore' });
    expect(await failure(fetchOnce(cosSource(c, c.cos!.scopes[0]!, Date.now)))).toMatchObject({
      code: 'upstream_error',
    });
    sts.fault('GetFederationToken', { code: 'ResourceNotFound.RoleNotExist' });
    expect(await failure(fetchOnce(cosSource(c, c.cos!.scopes[0]!, Date.now)))).toMatchObject({
      code: 'upstream_error',
      message: expect.stringMatching(/^Tencent Cloud STS \w+ answered ResourceNotFound\.RoleNotExist$/),
    });
  });

  it('refuses keys that have already expired by our clock, naming the bucket', async () => {
    const c = config();
    const late = () => Date.now() + 24 * 3600_000;
    expect(await failure(fetchOnce(cosSource(c, c.cos!.scopes[0]!, late)))).toMatchObject({
      code: 'upstream_error',
      message: `Tencent Cloud STS handed out keys for ${BUCKET} that have already expired`,
    });
    // Our clock read when the keys arrive: at their expiry they are refused, a second before it they live a second.
    const lastExpiry = () => sts.issued().at(-1)!.expiredTime * 1000;
    expect(await failure(fetchOnce(cosSource(c, c.cos!.scopes[0]!, lastExpiry)))).toMatchObject({
      code: 'upstream_error',
    });
    const src = cosSource(c, c.cos!.scopes[0]!, () => lastExpiry() - 1000);
    expect((await fetchOnce(src)).expiresIn).toBe(1);
  });
});

describe('scopeKeys', () => {
  const manager = () =>
    new Lifecycle(
      createMemoryStore(),
      Date.now,
      {
        refreshAheadMs: 300_000,
        localCacheMs: 0,
        leaseMs: 3000,
        forceCooldownMs: 60_000,
        timeoutMs: 300,
        budgetMs: 2000,
        storeTimeoutMs: 1000,
      },
      createLogger(() => undefined),
    );
  const source = (values: string[]): CredentialSource => ({
    key: 'cos:test',
    owner: BUCKET,
    service: 'Tencent Cloud STS',
    eager: false,
    quotaBlocksAll: () => true,
    fetch: async () => ({ value: values.shift() ?? 'none left', expiresIn: 1800 }),
  });
  const good = { tmpSecretId: 'AKIDtmp', tmpSecretKey: 'tmp-key', sessionToken: 'token', expiredTime: 2_000_000_000 };

  it('replaces a stored value that is not keys once, then serves the new keys', async () => {
    expect(await scopeKeys(manager(), source(['{"tmpSecretId":1}', JSON.stringify(good)]), call())).toEqual(good);
  });

  it('answers a structured error, without the stored content, when the replacement is no better', async () => {
    const err = await failure(scopeKeys(manager(), source(['garbage-one', 'garbage-two']), call()));
    expect(err).toMatchObject({ code: 'upstream_error' });
    expect(err.message).not.toMatch(/garbage/);
  });
});

describe('narrowKeysCache', () => {
  const narrow = (prefix = 'a/b/') => ({
    bucket: BUCKET,
    region: 'ap-beijing',
    prefix,
    actions: ['name/cos:PutObject'],
  });

  it('makes exactly one STS call with the narrower policy and counts it on the request', async () => {
    const ctx = call();
    const keys = await narrowKeysCache(config(), Date.now)(narrow(), ctx);
    expect(keys.tmpSecretId).toBe(sts.issued().at(-1)!.tmpSecretId);
    expect(sts.policies().at(-1)).toMatchObject({
      statement: [{ resource: [`qcs::cos:ap-beijing:uid/1250000000:${BUCKET}/a/b/*`] }],
    });
    expect(ctx.upstreamCalls).toBe(1);
    expect(sts.calls('GetFederationToken')).toBe(1);
  });

  it('serves the same narrow grant again from the cache until refreshAheadSeconds before its expiry', async () => {
    let now = Date.now();
    const keysFor = narrowKeysCache(config(), () => now);
    const first = await keysFor(narrow(), call());
    const again = call();
    expect(await keysFor(narrow(), again)).toEqual(first);
    expect(again.upstreamCalls).toBe(0);
    // 1800 s keys, refreshed 300 s ahead: served up to the millisecond before
    now = first.expiredTime * 1000 - 300_000 - 1;
    expect(await keysFor(narrow(), call())).toEqual(first);
    expect(sts.calls('GetFederationToken')).toBe(1);
    now += 1;
    expect((await keysFor(narrow(), call())).tmpSecretId).not.toBe(first.tmpSecretId);
    expect(sts.calls('GetFederationToken')).toBe(2);
  });

  it('makes one STS call for 20 concurrent identical narrow requests, every one answered with its keys', async () => {
    const keysFor = narrowKeysCache(config(), Date.now);
    const all = await Promise.all(Array.from({ length: 20 }, () => keysFor(narrow(), call())));
    expect(sts.calls('GetFederationToken')).toBe(1);
    for (const keys of all) expect(keys.tmpSecretId).toBe(sts.issued().at(-1)!.tmpSecretId);
  });

  it('answers a refused key again from memory for a minute: no further STS call with it until then', async () => {
    let now = Date.now();
    const keysFor = narrowKeysCache(config({ secretKey: 'a-wrong-permanent-key-000000000000' }), () => now);
    const first = await failure(keysFor(narrow(), call()));
    expect(first).toMatchObject({ code: 'config_fault', message: expect.stringMatching(/AuthFailure/) });
    now += 59_000;
    const again = call();
    expect(await failure(keysFor(narrow(), again))).toBe(first);
    expect(again.upstreamCalls).toBe(0);
    expect(sts.calls('GetFederationToken')).toBe(1);
    now += 2_000;
    expect(await failure(keysFor(narrow(), call()))).toMatchObject({ code: 'config_fault' });
    expect(sts.calls('GetFederationToken')).toBe(2);
  });

  it(`keeps at most ${NARROW_CACHE_SIZE} grants: one more, and the oldest costs a new call`, async () => {
    const keysFor = narrowKeysCache(config(), Date.now);
    for (let i = 0; i < NARROW_CACHE_SIZE; i++) await keysFor(narrow(`a/${i}/`), call());
    expect(sts.calls('GetFederationToken')).toBe(NARROW_CACHE_SIZE);
    await keysFor(narrow('a/0/'), call()); // the oldest is still there
    expect(sts.calls('GetFederationToken')).toBe(NARROW_CACHE_SIZE);
    await keysFor(narrow(`a/${NARROW_CACHE_SIZE}/`), call());
    await keysFor(narrow(`a/${NARROW_CACHE_SIZE}/`), call()); // the newest is there
    expect(sts.calls('GetFederationToken')).toBe(NARROW_CACHE_SIZE + 1);
    await keysFor(narrow('a/0/'), call());
    expect(sts.calls('GetFederationToken')).toBe(NARROW_CACHE_SIZE + 2);
  });

  it('does not retry a transient failure: one call, then upstream_unavailable, and nothing cached', async () => {
    const keysFor = narrowKeysCache(config(), Date.now);
    sts.fault('GetFederationToken', { code: 'InternalError' });
    const err = await failure(keysFor(narrow(), call()));
    expect(err).toMatchObject({
      code: 'upstream_unavailable',
      message: expect.stringMatching(/Tencent Cloud STS GetFederationToken/),
    });
    expect(sts.calls('GetFederationToken')).toBe(1);
    expect((await keysFor(narrow(), call())).tmpSecretId).toBe(sts.issued().at(-1)!.tmpSecretId);
    expect(sts.calls('GetFederationToken')).toBe(2);
  });
});
