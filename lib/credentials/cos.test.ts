import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/load';
import { TencentCloudSim } from '../../sim/tencentcloud';
import { cosKey, cosSource, openCosKeys } from './cos';

const KEYS = { secretId: 'AKIDcosunit00000000000000000000000000', secretKey: 'cos-unit-secret-key-0123456789' };
const grant = { bucket: 'examplebucket-1250000000', region: 'ap-beijing', prefix: 'a/', actions: ['name/cos:PutObject'] };

let sts: TencentCloudSim;
beforeAll(async () => {
  vi.stubEnv('http_proxy', '');
  sts = await TencentCloudSim.start(KEYS);
});
afterAll(async () => {
  await sts.close();
  vi.unstubAllEnvs();
});

function config(env: Record<string, string>) {
  return parseConfig({ upstream: { sts: sts.url }, cos: { ...KEYS, region: 'ap-beijing', scopes: [{ bucket: grant.bucket, prefix: 'a/' }] } }, env);
}

const fetchOnce = (src: ReturnType<typeof cosSource>) =>
  src.fetch({ force: false, deadline: performance.now() + 5000, timeoutMs: () => 5000, call: { caller: 'test', upstreamCalls: 0, deadline: performance.now() + 5000 } });

describe('the COS credential source', () => {
  it('keys one credential per area and set of actions, whatever their order', () => {
    expect(cosKey({ ...grant, actions: ['name/cos:GetObject', 'name/cos:PutObject'] })).toBe(cosKey({ ...grant, actions: ['name/cos:PutObject', 'name/cos:GetObject'] }));
    expect(cosKey(grant)).not.toBe(cosKey({ ...grant, prefix: 'a/b/' }));
    expect(cosKey(grant)).toMatch(/^cos:ap-beijing:examplebucket-1250000000:a\/:[0-9a-f]{16}$/);
  });

  it('counts expiresIn from STS ExpiredTime on our clock', async () => {
    const src = cosSource(config({}), grant, () => Date.now());
    const got = await fetchOnce(src);
    expect(got.expiresIn).toBeGreaterThanOrEqual(1799);
    expect(got.expiresIn).toBeLessThanOrEqual(1800);
    expect(openCosKeys(config({}), src, got.value).tmpSecretId).toBe(sts.issued().at(-1)!.tmpSecretId);
  });

  it('seals the stored value under WECRED_MASTER_KEY, bound to the credential key', async () => {
    const c = config({ WECRED_MASTER_KEY: 'a'.repeat(64) });
    const src = cosSource(c, grant, () => Date.now());
    const got = await fetchOnce(src);
    const keys = openCosKeys(c, src, got.value);
    expect(keys.tmpSecretId).toBe(sts.issued().at(-1)!.tmpSecretId);
    expect(got.value).toMatch(/^v1\./);
    expect(got.value).not.toContain(keys.tmpSecretKey);
    expect(() => openCosKeys(c, cosSource(c, { ...grant, prefix: 'a/b/' }, Date.now), got.value)).toThrow();
  });
});
