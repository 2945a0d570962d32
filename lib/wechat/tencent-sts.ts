/**
 * Tencent Cloud STS (not WeChat's): temporary COS keys through tencentcloud-sdk-nodejs-sts,
 * GetFederationToken or AssumeRole (cos.roleArn), with a one-statement policy built from a grant
 * already checked against cos.scopes. docs/design.md §7, §12; docs/protocol.md §7.
 */
import type { Endpoint } from '../config/secret-source';
import type { CosConfig } from '../config/types';
import { classifyTencent, TencentCloudError, UpstreamUnavailable } from './errors';

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

interface CosPolicy {
  version: '2.0';
  statement: [{ effect: 'allow'; action: string[]; resource: string[] }];
}

/** GetFederationToken's Name: letters only. AssumeRole's RoleSessionName: [\w+=,.@-], 2..128. */
const FEDERATION_NAME = 'wecred';
const ROLE_SESSION_NAME = 'wecred';

/** The APPID a bucket name carries: examplebucket-1250000000 → 1250000000. */
function bucketAppid(bucket: string): string {
  const appid = /-(\d+)$/.exec(bucket)?.[1];
  if (appid === undefined) throw new TypeError(`bucket ${bucket} has no -APPID suffix`);
  return appid;
}

function cosPolicy(grant: CosGrant): CosPolicy {
  const resource = `qcs::cos:${grant.region}:uid/${bucketAppid(grant.bucket)}:${grant.bucket}/${grant.prefix}*`;
  return { version: '2.0', statement: [{ effect: 'allow', action: [...grant.actions], resource: [resource] }] };
}

interface StsReply {
  Credentials?: { TmpSecretId?: string; TmpSecretKey?: string; Token?: string };
  ExpiredTime?: number;
}

/**
 * One STS call for `grant`, signed with the permanent keys at `endpoint` (upstream.sts). It
 * never outlives `timeoutMs`: the SDK's own timeout is in whole seconds, so ours aborts it.
 */
export async function requestTemporaryKeys(
  cos: CosConfig,
  endpoint: Endpoint,
  grant: CosGrant,
  timeoutMs: number,
): Promise<TemporaryKeys> {
  const action = cos.roleArn === undefined ? 'GetFederationToken' : 'AssumeRole';
  const name = `Tencent Cloud STS ${action}`;
  const Policy = encodeURIComponent(JSON.stringify(cosPolicy(grant)));
  const params =
    cos.roleArn === undefined
      ? { Name: FEDERATION_NAME, Policy, DurationSeconds: cos.durationSeconds }
      : { RoleArn: cos.roleArn, RoleSessionName: ROLE_SESSION_NAME, Policy, DurationSeconds: cos.durationSeconds };

  const { sts } = await import('tencentcloud-sdk-nodejs-sts');
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new UpstreamUnavailable(name, 'timeout'));
    }, timeoutMs);
  });
  const call = (async () => {
    const client = new sts.v20180813.Client({
      credential: { secretId: cos.secretId, secretKey: cos.secretKey },
      region: cos.region,
      profile: {
        httpProfile: {
          endpoint: endpoint.host,
          protocol: `${endpoint.protocol}//`,
          reqMethod: 'POST',
          reqTimeout: Math.ceil(timeoutMs / 1000),
        },
      },
    });
    return (await client.request(action, params, { signal: abort.signal })) as StsReply;
  })();
  call.catch(() => undefined); // a late failure after our timeout is nobody's to handle
  let reply: StsReply;
  try {
    reply = await Promise.race([call, timedOut]);
  } catch (err) {
    throw err instanceof UpstreamUnavailable ? err : stsFailure(name, err, abort.signal.aborted);
  } finally {
    clearTimeout(timer);
  }
  const c = reply.Credentials;
  if (!c?.TmpSecretId || !c.TmpSecretKey || !c.Token || typeof reply.ExpiredTime !== 'number')
    throw new UpstreamUnavailable(name, 'body');
  return {
    tmpSecretId: c.TmpSecretId,
    tmpSecretKey: c.TmpSecretKey,
    sessionToken: c.Token,
    expiredTime: reply.ExpiredTime,
  };
}

/** An SDK failure as classifyTencent sees it: Tencent's messages are not ours to repeat (they may echo the request). */
function stsFailure(name: string, err: unknown, aborted: boolean): Error {
  if (aborted) return new UpstreamUnavailable(name, 'timeout');
  const fault = classifyTencent(err);
  switch (fault.kind) {
    case 'busy':
      return new UpstreamUnavailable(name, 'busy');
    case 'refused':
    case 'code':
      return new TencentCloudError(name, fault.code);
    case 'http':
      return new UpstreamUnavailable(name, 'http', fault.status);
    default:
      return new UpstreamUnavailable(name, fault.kind);
  }
}
