/**
 * COS interfaces (DESIGN §3.2): `cos.credentials` hands out temporary STS keys for a bucket
 * area, `cos.sign` signs one XML API request with the server's permanent keys. Both only
 * inside cos.scopes; a caller never supplies keys (a para carrying any is refused).
 *
 * Wafer's `qcloud.cos.auth.reusable` (a signature usable any number of times until it
 * expires) is an alias of cos.sign; `qcloud.cos.auth.nonreusable` is cos.sign bound to one
 * object with a lifetime of at most a minute, under cos.sign's scope.
 */
import type { Config, CosConfig, CosScopeConfig } from '../config/types';
import { openCosKeys } from '../credentials/cos';
import { cosSign } from '../cos/sign';
import type { CosGrant, TemporaryKeys } from '../cos/sts';
import { ApiError } from './errors';
import { optionalStringList, requiredString } from './para';
import type { InterfaceContext, InterfaceDef } from './types';

type Para = Record<string, unknown>;

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

/** cos.sign's `expires`: default and bound, seconds. */
const REUSABLE = { fallback: 600, max: 7200 };
const SINGLE_USE = { fallback: 60, max: 60 };
const MAX_PAIRS = 32;

/**
 * Field names that carry keys (compared lowercased, without '-' and '_'): a caller asking us to
 * use its keys, or to put ours beside its own, is refused whatever else it sends.
 */
const KEY_FIELD = /secretid|secretkey|sessiontoken|securitytoken|accesskey/;

/** 1003 when any key at any depth of `para` names a credential. Iterative: para nesting is the caller's. */
export function refuseCallerKeys(para: Para): void {
  const pending: unknown[] = [para];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, child] of Object.entries(v)) {
      if (KEY_FIELD.test(k.toLowerCase().replace(/[-_]/g, ''))) {
        throw new ApiError('bad_para', `para carries a credential field (${k.slice(0, 64)}): keys never come from callers; wecred signs with its own`);
      }
      pending.push(child);
    }
  }
}

function cosConfig(config: Config): CosConfig {
  if (!config.cos) throw new ApiError('resource_not_allowed', 'COS is not configured on this deployment (no cos section)');
  return config.cos;
}

/** A key prefix ('' allowed) or an object key: no wildcard, no control characters, no '.'/'..' segments. */
function objectPath(para: Para, field: string, allowEmpty: boolean): string {
  const v = para[field];
  if (typeof v !== 'string' || (!allowEmpty && v.replace(/^\/+/, '') === '')) {
    throw new ApiError('bad_para', `para.${field} is required${allowEmpty ? ' (a string, "" for the whole bucket)' : ''}`);
  }
  const path = v.replace(/^\/+/, '');
  if (path.length > 850) throw new ApiError('bad_para', `para.${field} is longer than 850 characters`);
  if (/[*\u0000-\u001f\u007f]/.test(path)) throw new ApiError('bad_para', `para.${field} must not contain "*" or control characters`);
  if (path.split('/').some((s) => s === '.' || s === '..')) throw new ApiError('bad_para', `para.${field} must not contain "." or ".." segments`);
  return path;
}

/** The scopes of `bucket` in `region`, else 7007. */
function bucketScopes(cos: CosConfig, bucket: string, region: string): CosScopeConfig[] {
  const scopes = cos.scopes.filter((s) => s.bucket === bucket && s.region === region);
  if (scopes.length === 0) throw new ApiError('resource_not_allowed', `bucket ${bucket} in ${region} is not in cos.scopes`);
  return scopes;
}

/** The area of a cos.credentials request, checked against cos.scopes. */
export function credentialGrant(cos: CosConfig, para: Para): CosGrant {
  const bucket = requiredString(para, 'bucket', 64);
  const region = requiredString(para, 'region', 64);
  const prefix = objectPath(para, 'prefix', true);
  const asked = optionalStringList(para, 'actions');
  if (asked !== undefined && asked.length === 0) throw new ApiError('bad_para', 'para.actions must list at least one action (or be omitted)');
  const under = bucketScopes(cos, bucket, region).filter((s) => prefix.startsWith(s.prefix));
  if (under.length === 0) throw new ApiError('resource_not_allowed', `prefix "${prefix.slice(0, 128)}" of ${bucket} is not under a prefix in cos.scopes`);
  const scope = asked === undefined ? under[0]! : under.find((s) => asked.every((a) => s.actions.includes(a)));
  if (!scope) {
    const missing = asked!.find((a) => !under.some((s) => s.actions.includes(a)));
    throw new ApiError('resource_not_allowed', missing ? `action ${missing.slice(0, 64)} is not allowed on ${bucket}/${prefix.slice(0, 128)}` : `no single scope of ${bucket}/${prefix.slice(0, 128)} allows all of para.actions`);
  }
  return { bucket, region, prefix, actions: [...new Set(asked ?? scope.actions)].sort() };
}

async function credentials({ para, call, services }: InterfaceContext): Promise<Record<string, unknown>> {
  refuseCallerKeys(para);
  const { config, credentials } = services;
  const grant = credentialGrant(cosConfig(config), para);
  const src = credentials.cos(grant);
  let c = await credentials.manager.get(src, { call });
  let keys: TemporaryKeys;
  try {
    keys = openCosKeys(config, src, c.value);
  } catch {
    // Stored under another master key (or before one was set): replace it, once, for everybody.
    c = await credentials.manager.get(src, { call, force: true, stale: c.value });
    keys = openCosKeys(config, src, c.value);
  }
  return {
    tmpSecretId: keys.tmpSecretId,
    tmpSecretKey: keys.tmpSecretKey,
    sessionToken: keys.sessionToken,
    expiredTime: keys.expiredTime,
    bucket: grant.bucket,
    region: grant.region,
    prefix: grant.prefix,
    actions: grant.actions,
  };
}

/** The CAM action a request performs: by method, and by the sub-resource that changes the operation. */
export function cosAction(method: Method, query: Readonly<Record<string, string>>): string {
  const q = (k: string) => Object.hasOwn(query, k);
  const by = (ops: Partial<Record<Method, string>>) => ops[method];
  let op: string | undefined;
  if (q('uploadId')) op = by({ GET: 'ListParts', PUT: 'UploadPart', POST: 'CompleteMultipartUpload', DELETE: 'AbortMultipartUpload' });
  else if (q('uploads')) op = by({ POST: 'InitiateMultipartUpload' });
  else if (q('acl')) op = by({ GET: 'GetObjectACL', PUT: 'PutObjectACL' });
  else if (q('tagging')) op = by({ GET: 'GetObjectTagging', PUT: 'PutObjectTagging', DELETE: 'DeleteObjectTagging' });
  else if (method === 'POST') op = q('append') ? 'AppendObject' : q('restore') ? 'PostObjectRestore' : q('select') ? 'SelectObjectContent' : 'PostObject';
  else op = by({ GET: 'GetObject', HEAD: 'HeadObject', PUT: 'PutObject', DELETE: 'DeleteObject', OPTIONS: 'OptionsObject' });
  if (op === undefined) throw new ApiError('bad_para', `para.method ${method} does not go with the query's sub-resource`);
  return `name/cos:${op}`;
}

/** `para[field]`: an object of strings (null and '' both mean a bare parameter for a query). */
function stringMap(para: Para, field: string): Record<string, string> {
  const v = para[field];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ApiError('bad_para', `para.${field} must be an object of strings`);
  const entries = Object.entries(v);
  if (entries.length > MAX_PAIRS) throw new ApiError('bad_para', `para.${field} has more than ${MAX_PAIRS} entries`);
  const out: Record<string, string> = {};
  for (const [k, value] of entries) {
    if (k === '' || k.length > 128) throw new ApiError('bad_para', `para.${field} has a name that is empty or longer than 128 characters`);
    if (value === null && field === 'query') out[k] = '';
    else if (typeof value === 'string' && value.length <= 2048) out[k] = value;
    else throw new ApiError('bad_para', `para.${field}.${k.slice(0, 64)} must be a string of at most 2048 characters`);
  }
  return out;
}

function signer(bounds: { fallback: number; max: number }) {
  return async ({ para, services }: InterfaceContext): Promise<Record<string, unknown>> => {
    refuseCallerKeys(para);
    const cos = cosConfig(services.config);
    const rawMethod = requiredString(para, 'method', 16).toUpperCase();
    if (!(METHODS as readonly string[]).includes(rawMethod)) throw new ApiError('bad_para', `para.method must be one of ${METHODS.join(', ')}`);
    const method = rawMethod as Method;
    const bucket = requiredString(para, 'bucket', 64);
    const region = requiredString(para, 'region', 64);
    const key = objectPath(para, 'key', false);
    const expires = para.expires ?? bounds.fallback;
    if (typeof expires !== 'number' || !Number.isInteger(expires) || expires < 1 || expires > bounds.max) {
      throw new ApiError('bad_para', `para.expires must be an integer number of seconds between 1 and ${bounds.max}`);
    }
    const query = stringMap(para, 'query');
    const headers = stringMap(para, 'headers');
    // Host is always signed: without it a signature for one bucket's key would open the same key in every bucket the permanent keys reach.
    const host = `${bucket}.cos.${region}.myqcloud.com`;
    const given = Object.keys(headers).filter((h) => h.toLowerCase() === 'host');
    if (given.some((h) => headers[h] !== host)) throw new ApiError('bad_para', `para.headers.host must be ${host} (or be omitted)`);
    for (const h of given) delete headers[h];
    headers.host = host;

    const action = cosAction(method, query);
    const scopes = bucketScopes(cos, bucket, region).filter((s) => key.startsWith(s.prefix));
    if (scopes.length === 0) throw new ApiError('resource_not_allowed', `key "${key.slice(0, 128)}" of ${bucket} is not under a prefix in cos.scopes`);
    if (!scopes.some((s) => s.actions.includes(action))) throw new ApiError('resource_not_allowed', `${action} is not allowed on ${bucket}/${key.slice(0, 128)}`);

    const startTime = Math.floor(services.clock() / 1000);
    const expiredTime = startTime + expires;
    const signed = cosSign({ secretId: cos.secretId, secretKey: cos.secretKey, method, pathname: `/${key}`, query, headers, startTime, endTime: expiredTime });
    return { authorization: signed.authorization, startTime, expiredTime, host, action };
  };
}

export const cosCredentials: InterfaceDef = {
  name: 'cos.credentials',
  access: 'realm',
  handle: credentials,
};

export const cosSignInterface: InterfaceDef = {
  name: 'cos.sign',
  aliases: ['qcloud.cos.auth.reusable'],
  access: 'realm',
  handle: signer(REUSABLE),
};

export const cosSignOnce: InterfaceDef = {
  name: 'qcloud.cos.auth.nonreusable',
  access: 'realm',
  scope: () => 'cos.sign',
  handle: signer(SINGLE_USE),
};
