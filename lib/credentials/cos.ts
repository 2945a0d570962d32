/**
 * Temporary COS keys as a credential (DESIGN §5): one per granted bucket area, cached in the
 * store and refreshed `refreshAheadSeconds` before STS lets them expire, with one STS call per
 * refresh across every instance.
 *
 * The value is the JSON of the keys. The temporary secret key is a secret: with a master key
 * configured the value is sealed at rest (AES-256-GCM, bound to the row's key); without one it
 * is stored as access tokens are.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/types';
import { cipherFor } from '../crypto/at-rest';
import { requestTemporaryKeys, type CosGrant, type TemporaryKeys } from '../cos/sts';
import { CredentialError } from './errors';
import type { Clock } from './manager';
import type { CredentialSource } from './source';

/** `cos:<region>:<bucket>:<prefix>:<hash of the sorted actions>`. */
export function cosKey(grant: CosGrant): string {
  const actions = createHash('sha256').update([...new Set(grant.actions)].sort().join('\n')).digest('hex').slice(0, 16);
  return `cos:${grant.region}:${grant.bucket}:${grant.prefix}:${actions}`;
}

export function cosSource(config: Config, grant: CosGrant, clock: Clock): CredentialSource {
  const cos = config.cos;
  if (!cos) throw new TypeError('cosSource needs config.cos');
  const key = cosKey(grant);
  return {
    key,
    owner: grant.bucket,
    // Created on request for the area asked for: nothing to fetch before somebody asks.
    eager: false,
    quotaBlocksAll: () => true,
    async fetch({ timeoutMs }) {
      const keys = await requestTemporaryKeys(cos, config.upstream.sts, grant, timeoutMs());
      const expiresIn = keys.expiredTime - Math.floor(clock() / 1000);
      if (expiresIn <= 0) throw new CredentialError('upstream_error', `Tencent Cloud STS handed out keys for ${grant.bucket} that have already expired`);
      const json = JSON.stringify(keys);
      return { value: config.masterKey ? cipherFor(config).seal(json, key) : json, expiresIn };
    },
  };
}

/** The keys in a stored value of `src`; throws when it does not open (another master key). */
export function openCosKeys(config: Config, src: CredentialSource, value: string): TemporaryKeys {
  return JSON.parse(config.masterKey ? cipherFor(config).open(value, src.key) : value) as TemporaryKeys;
}
