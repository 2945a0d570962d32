/**
 * Temporary COS keys (docs/design.md §12): a whole configured scope is a credential, cached in the store and refreshed
 * once across instances; anything narrower is one STS call whose keys stay in a small per-process cache (never the
 * store), so the store holds one credential per configured scope, bounded by the configuration.
 */
import { createHash } from 'node:crypto';
import type { Endpoint } from '../config/secret-source';
import type { Config, CosConfig, CosScopeConfig } from '../config/types';
import { parseJsonObject } from '../store/row';
import { classifyTencent, TencentCloudError, UpstreamUnavailable } from '../wechat/errors';
import { requestTemporaryKeys, type CosGrant, type TemporaryKeys } from '../wechat/tencent-sts';
import { CredentialError } from './errors';
import type { Lifecycle } from './lifecycle';
import { CONFIG_FAULT_PAUSE_MS } from './policy';
import { attemptTimeout } from './retry';
import type { CallContext, Clock, CredentialSource } from './source';

/** Narrower grants kept per process. */
export const NARROW_CACHE_SIZE = 256;

/** `cos:<region>:<bucket>:<prefix>:<hash of the sorted actions>`. */
export function cosKey(grant: CosGrant): string {
  const actions = createHash('sha256')
    .update([...new Set(grant.actions)].sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
  return `cos:${grant.region}:${grant.bucket}:${grant.prefix}:${actions}`;
}

/** The credential of one configured scope. */
export function cosSource(config: Config, scope: CosScopeConfig, clock: Clock): CredentialSource {
  const cos = cosOf(config);
  return {
    key: cosKey(scope),
    owner: scope.bucket,
    service: 'Tencent Cloud STS',
    // Fetched once somebody asks; the refresher then keeps it fresh.
    eager: false,
    quotaBlocksAll: () => true,
    async fetch({ timeoutMs }) {
      const keys = await stsCall(cos, config.upstream.sts, scope, timeoutMs());
      const expiresIn = keys.expiredTime - Math.floor(clock() / 1000);
      if (expiresIn <= 0)
        throw new CredentialError(
          'upstream_error',
          `Tencent Cloud STS handed out keys for ${scope.bucket} that have already expired`,
        );
      return { value: JSON.stringify(keys), expiresIn };
    },
  };
}

/**
 * The cached keys of a configured scope. A stored value that is not keys (a foreign or damaged
 * row) is replaced once; if the replacement is no better, a structured error, never its content.
 */
export async function scopeKeys(
  lifecycle: Pick<Lifecycle, 'get'>,
  src: CredentialSource,
  call: CallContext,
): Promise<TemporaryKeys> {
  const first = await lifecycle.get(src, { call });
  const keys =
    parseKeys(first.value) ?? parseKeys((await lifecycle.get(src, { call, mode: 'stale', stale: first.value })).value);
  if (!keys)
    throw new CredentialError(
      'upstream_error',
      `the stored COS keys of ${src.owner} are unreadable, even after a refresh`,
    );
  return keys;
}

export type NarrowKeys = (grant: CosGrant, call: CallContext) => Promise<TemporaryKeys>;

/** A narrow grant's keys: being fetched (usable until Infinity), fetched, or a remembered config_fault. */
interface NarrowEntry {
  keys: Promise<TemporaryKeys>;
  /** Clock ms. */
  usableUntil: number;
}

/** The keys of grants narrower than their scope: cached per process (see the top), else one STS call. */
export function narrowKeysCache(config: Config, clock: Clock): NarrowKeys {
  const cache = new Map<string, NarrowEntry>();
  const refreshAheadMs = config.credentials.refreshAheadSeconds * 1000;
  return (grant, call) => {
    const key = cosKey(grant);
    const hit = cache.get(key);
    if (hit && hit.usableUntil > clock()) return hit.keys;
    const entry: NarrowEntry = { keys: narrowKeys(config, grant, call), usableUntil: Infinity };
    // Re-inserted, so that the Map's order stays oldest first.
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > NARROW_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    entry.keys.then(
      (keys) => {
        entry.usableUntil = keys.expiredTime * 1000 - refreshAheadMs;
      },
      (err: unknown) => {
        if (err instanceof CredentialError && err.code === 'config_fault')
          entry.usableUntil = clock() + CONFIG_FAULT_PAUSE_MS;
        else if (cache.get(key) === entry) cache.delete(key);
      },
    );
    return entry.keys;
  };
}

/** One STS call for a grant narrower than its scope, within the request's budget. */
async function narrowKeys(config: Config, grant: CosGrant, call: CallContext): Promise<TemporaryKeys> {
  const timeoutMs = attemptTimeout(call.deadline, config.upstream.timeoutMs, grant.bucket)();
  call.upstreamCalls++;
  try {
    return await stsCall(cosOf(config), config.upstream.sts, grant, timeoutMs);
  } catch (err) {
    if (err instanceof UpstreamUnavailable)
      throw new CredentialError(
        'upstream_unavailable',
        `${err.endpoint} did not answer for ${grant.bucket} (${err.reason})`,
      );
    throw err;
  }
}

/** The keys in a stored value, or undefined when it is not their JSON. */
function parseKeys(value: string): TemporaryKeys | undefined {
  const k = parseJsonObject(value);
  const text = (x: unknown) => typeof x === 'string' && x !== '';
  if (!k || !text(k.tmpSecretId) || !text(k.tmpSecretKey) || !text(k.sessionToken) || !Number.isInteger(k.expiredTime))
    return undefined;
  return {
    tmpSecretId: k.tmpSecretId as string,
    tmpSecretKey: k.tmpSecretKey as string,
    sessionToken: k.sessionToken as string,
    expiredTime: k.expiredTime as number,
  };
}

function cosOf(config: Config): CosConfig {
  if (!config.cos) throw new TypeError('COS keys need config.cos');
  return config.cos;
}

/** requestTemporaryKeys; Tencent's non-transient answers as CredentialError, transient ones left for the lifecycle to retry. */
async function stsCall(cos: CosConfig, endpoint: Endpoint, grant: CosGrant, timeoutMs: number): Promise<TemporaryKeys> {
  try {
    return await requestTemporaryKeys(cos, endpoint, grant, timeoutMs);
  } catch (err) {
    if (!(err instanceof TencentCloudError)) throw err;
    const { endpoint: what, code } = err;
    if (classifyTencent(err).kind === 'refused') {
      throw new CredentialError(
        'config_fault',
        `${what} refused the request (${code}): check cos.secretId, cos.secretKey and the permissions of that key${cos.roleArn ? ' and cos.roleArn' : ''}`,
      );
    }
    if (/^(InvalidParameter|MissingParameter)/.test(code)) {
      throw new CredentialError(
        'config_fault',
        `${what} rejected a parameter (${code}): check cos.durationSeconds and cos.scopes`,
      );
    }
    throw new CredentialError('upstream_error', `${what} answered ${code}`);
  }
}
