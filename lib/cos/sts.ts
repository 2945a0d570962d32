/**
 * Temporary COS keys from Tencent Cloud STS (reference §7), through tencentcloud-sdk-nodejs-sts:
 * GetFederationToken, or AssumeRole when cos.roleArn is set. The policy is built here from the
 * server's scope alone (a caller never supplies policy text): one statement allowing the given
 * actions on `qcs::cos:<region>:uid/<appid>:<bucket>/<prefix>*`.
 *
 * The SDK is imported on first use, so the bundles of deployments without COS stay small.
 */
import type { CosConfig } from '../config/types';
import { DEFAULT_STS_ENDPOINT } from '../config/schema';
import { CredentialError } from '../credentials/errors';

/** What is asked of STS: a bucket area already checked against cos.scopes. */
export interface CosGrant {
  bucket: string;
  region: string;
  prefix: string;
  actions: readonly string[];
}

export interface TemporaryKeys {
  tmpSecretId: string;
  tmpSecretKey: string;
  sessionToken: string;
  /** Unix seconds. */
  expiredTime: number;
}

export interface CosPolicy {
  version: '2.0';
  statement: [{ effect: 'allow'; action: string[]; resource: string[] }];
}

/** GetFederationToken's Name: letters only. AssumeRole's RoleSessionName: [\w+=,.@-], 2..128. */
const FEDERATION_NAME = 'wecred';
const ROLE_SESSION_NAME = 'wecred';

/** The APPID a bucket name carries: examplebucket-1250000000 → 1250000000. */
export function bucketAppid(bucket: string): string {
  const appid = /-(\d+)$/.exec(bucket)?.[1];
  if (appid === undefined) throw new TypeError(`bucket ${bucket} has no -APPID suffix`);
  return appid;
}

export function cosPolicy(grant: CosGrant): CosPolicy {
  const resource = `qcs::cos:${grant.region}:uid/${bucketAppid(grant.bucket)}:${grant.bucket}/${grant.prefix}*`;
  return { version: '2.0', statement: [{ effect: 'allow', action: [...grant.actions], resource: [resource] }] };
}

type StsClient = InstanceType<Awaited<typeof import('tencentcloud-sdk-nodejs-sts')>['sts']['v20180813']['Client']>;

/** One STS call for `grant`, signed with the permanent keys; failures as CredentialError. */
export async function requestTemporaryKeys(cos: CosConfig, endpoint: string | undefined, grant: CosGrant, timeoutMs: number): Promise<TemporaryKeys> {
  const action = cos.roleArn === undefined ? 'GetFederationToken' : 'AssumeRole';
  let client: StsClient;
  try {
    client = await stsClient(cos, endpoint ?? DEFAULT_STS_ENDPOINT, timeoutMs);
  } catch {
    throw new CredentialError('config_fault', 'the Tencent Cloud STS client cannot be loaded in this bundle');
  }
  const Policy = encodeURIComponent(JSON.stringify(cosPolicy(grant)));
  let reply;
  try {
    reply =
      cos.roleArn === undefined
        ? await client.GetFederationToken({ Name: FEDERATION_NAME, Policy, DurationSeconds: cos.durationSeconds })
        : await client.AssumeRole({ RoleArn: cos.roleArn, RoleSessionName: ROLE_SESSION_NAME, Policy, DurationSeconds: cos.durationSeconds });
  } catch (err) {
    throw stsFailure(action, err);
  }
  const c = reply.Credentials;
  if (!c?.TmpSecretId || !c.TmpSecretKey || !c.Token || typeof reply.ExpiredTime !== 'number') {
    throw new CredentialError('upstream_error', `Tencent Cloud STS ${action} answered without credentials`);
  }
  return { tmpSecretId: c.TmpSecretId, tmpSecretKey: c.TmpSecretKey, sessionToken: c.Token, expiredTime: reply.ExpiredTime };
}

async function stsClient(cos: CosConfig, endpoint: string, timeoutMs: number): Promise<StsClient> {
  const { sts } = await import('tencentcloud-sdk-nodejs-sts');
  const url = new URL(endpoint);
  return new sts.v20180813.Client({
    credential: { secretId: cos.secretId, secretKey: cos.secretKey },
    region: cos.region,
    profile: { httpProfile: { endpoint: url.host, protocol: `${url.protocol}//`, reqMethod: 'POST', reqTimeout: Math.max(1, Math.ceil(timeoutMs / 1000)) } },
  });
}

/**
 * An SDK failure by Tencent's error code only: its messages are not ours to repeat (they may
 * echo the request), and the keys never appear in ours.
 */
function stsFailure(action: string, err: unknown): CredentialError {
  const { code, httpCode } = err as { code?: string; httpCode?: number };
  const what = `Tencent Cloud STS ${action}`;
  if (code?.startsWith('AuthFailure') || code?.startsWith('UnauthorizedOperation') || code?.startsWith('OperationDenied')) {
    return new CredentialError('config_fault', `${what} refused the request (${code}): check cos.secretId, cos.secretKey and the permissions of that key${action === 'AssumeRole' ? ' and cos.roleArn' : ''}`);
  }
  if (code?.startsWith('InvalidParameter') || code === 'MissingParameter') {
    return new CredentialError('config_fault', `${what} rejected a parameter (${code}): check cos.durationSeconds and cos.scopes`);
  }
  if (code === 'InternalError' || code?.startsWith('RequestLimitExceeded') || code === 'ResourceUnavailable') {
    return new CredentialError('upstream_unavailable', `${what} is unavailable (${code}); retry shortly`);
  }
  if (code) return new CredentialError('upstream_error', `${what} answered ${code}`);
  if (httpCode) return new CredentialError('upstream_unavailable', `${what} answered HTTP ${httpCode}`);
  // The SDK folds network failures into "request to URL failed, reason: …" or "network timeout at: URL".
  const message = err instanceof Error ? err.message : '';
  const reason = /timeout/i.test(message) ? 'timed out' : 'request failed';
  return new CredentialError('upstream_unavailable', `${what} could not be reached (${reason})`);
}
