/**
 * `ssm:NAME` and `ssm:NAME#VERSION`: a text secret from Tencent Cloud Secrets Manager (GetSecretValue,
 * API 2019-09-23, through tencentcloud-sdk-nodejs-ssm), with the credentials and region SCF sets for a
 * function with a role (TENCENTCLOUD_*). WECRED_SSM_ENDPOINT (host[:port] or http(s)://host[:port])
 * replaces ssm.tencentcloudapi.com. See docs/design.md §3.5.
 */
import { classifyTencent } from './errors';
import {
  endpointOverride,
  FETCH_TIMEOUT_MS,
  loadClient,
  SecretProblem,
  type ResolveContext,
} from '../config/secret-source';

// The API requires a VersionId. Without #VERSION we ask for `SSM_Current`: the version a secret
// created without one gets, and the in-use version of a cloud-product secret. A secret whose
// versions were named at creation (v1, v2, …) must be referenced with #VERSION.
const SSM_DEFAULT_VERSION = 'SSM_Current';

// Tencent's own rules: names start with a letter or digit, then letters, digits, - and _ (128
// bytes at most); versions also allow '.', 64 bytes at most.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export async function fromTencentSsm(name: string, ctx: ResolveContext): Promise<string> {
  const ref = `ssm:${name}`;
  const [secretName = '', versionId = SSM_DEFAULT_VERSION, ...rest] = name.split('#');
  if (!NAME.test(secretName) || !VERSION.test(versionId) || rest.length > 0) {
    throw new SecretProblem(
      `${ref}: must be ssm:NAME or ssm:NAME#VERSION (letters, digits, "-", "_"; "." also in VERSION)`,
    );
  }
  const { env } = ctx;
  const secretId = env.TENCENTCLOUD_SECRETID;
  const secretKey = env.TENCENTCLOUD_SECRETKEY;
  if (!secretId || !secretKey) {
    throw new SecretProblem(
      `${ref}: TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY are not set (SCF sets them for a function with a role)`,
    );
  }
  const region = env.TENCENTCLOUD_REGION;
  if (!region)
    throw new SecretProblem(
      `${ref}: TENCENTCLOUD_REGION is not set (the region that holds the secret, e.g. ap-guangzhou)`,
    );
  const endpoint = endpointOverride(env, 'WECRED_SSM_ENDPOINT', ref);

  // ssm:X and ssm:X#SSM_Current name the same version: one fetch.
  return ctx.once(`ssm:${secretName}#${versionId}`, async () => {
    const client = await loadClient(ref, 'Tencent Cloud SSM', async () => {
      const { ssm } = await import('tencentcloud-sdk-nodejs-ssm');
      return new ssm.v20190923.Client({
        credential: {
          secretId,
          secretKey,
          ...(env.TENCENTCLOUD_SESSIONTOKEN ? { token: env.TENCENTCLOUD_SESSIONTOKEN } : {}),
        },
        region,
        profile: {
          httpProfile: {
            reqTimeout: FETCH_TIMEOUT_MS / 1000,
            ...(endpoint ? { endpoint: endpoint.host, protocol: `${endpoint.protocol}//` } : {}),
          },
        },
      });
    });

    let reply: { SecretString?: string; SecretBinary?: string };
    try {
      reply = await client.GetSecretValue({ SecretName: secretName, VersionId: versionId });
    } catch (err) {
      throw new SecretProblem(`${ref}: ${tencentProblem(err)}`);
    }
    if (reply.SecretString) return reply.SecretString;
    if (reply.SecretBinary) throw new SecretProblem(`${ref}: the secret holds binary data (SecretBinary), not text`);
    throw new SecretProblem(`${ref}: the secret is empty`);
  });
}

/** What went wrong, as classifyTencent sees it: Tencent's messages are not ours to repeat. */
function tencentProblem(err: unknown): string {
  const fault = classifyTencent(err);
  switch (fault.kind) {
    case 'refused':
      return fault.code.startsWith('AuthFailure')
        ? `Tencent Cloud refused the credentials (${fault.code}): check TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and TENCENTCLOUD_SESSIONTOKEN`
        : `not allowed to read this secret (${fault.code}): grant ssm:GetSecretValue on it to the function's role`;
    case 'busy':
    case 'code':
      return fault.code === 'ResourceNotFound'
        ? `no such secret or version in Tencent Cloud SSM (${fault.code})`
        : `Tencent Cloud SSM answered ${fault.code}`;
    case 'http':
      return `Tencent Cloud SSM answered HTTP ${fault.status}`;
    case 'timeout':
      return 'cannot reach Tencent Cloud SSM (timed out)';
    case 'network':
      return `cannot reach Tencent Cloud SSM (${fault.reason ?? 'request failed'})`;
  }
}
