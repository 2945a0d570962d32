/**
 * COS interfaces: `cos.credentials` (temporary STS keys for a bucket area inside cos.scopes) and
 * `cos.sign` (one XML API request signed with the scope's temporary keys), with Wafer's
 * `qcloud.cos.auth.*` names. Keys never come from callers. docs/design.md §12.
 */
import type { CosConfig, CosScopeConfig, RealmConfig } from '../config/types';
import { scopeKeys } from '../credentials/cos';
import { cosSign } from '../crypto/cos-sign';
import type { CosGrant } from '../wechat/tencent-sts';
import { assertRealmMayUse } from './apps';
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
/** COS object keys are at most 850 bytes of UTF-8. */
const MAX_KEY_BYTES = 850;

/** Field names (lowercased) that carry keys: a caller asking us to use its keys, or to put ours beside its own, is refused. */
const KEY_FIELDS = new Set([
  'secretid',
  'secretkey',
  'tmpsecretid',
  'tmpsecretkey',
  'sessiontoken',
  'token',
  'x-cos-security-token',
  'authorization',
  'secret_id',
  'secret_key',
  'tmp_secret_id',
  'tmp_secret_key',
  'session_token',
]);

/**
 * The query parameters cos.sign signs (lowercased): the object operations' sub-resources and
 * their companions. cos.sign signs object requests only, so bucket listings have no place here.
 */
const QUERY_NAMES = new Set([
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'versionid',
  'uploadid',
  'partnumber',
  'uploads',
  'max-parts',
  'part-number-marker',
  'encoding-type',
  'acl',
  'tagging',
  'append',
  'position',
]);
/** Sub-resources that change the operation; a request names at most one. */
const SUB_RESOURCES = ['uploadid', 'uploads', 'acl', 'tagging', 'append'];
/** Headers that make a request act on another object than its key (copy, rename, symlink) or run image processing. */
const FOREIGN_OBJECT_HEADER = /^(x-cos-copy-source|x-cos-rename-source$|x-cos-symlink-target$|pic-operations$)/;

/** Lone surrogates are no text: COS cannot take them as UTF-8, and our checks would compare them as garbage. */
function wellFormed(v: string, what: string): string {
  if (/\p{Cs}/u.test(v))
    throw new ApiError('bad_para', `${what} is not well-formed text (it holds a lone UTF-16 surrogate)`);
  return v;
}

const text = (para: Para, field: string, max: number) => wellFormed(requiredString(para, field, max), `para.${field}`);

/** 1003 when a key at any depth of `para` (headers too) names a credential. Iterative: para nesting is the caller's. */
function refuseCallerKeys(para: Para): void {
  const pending: unknown[] = [para];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v !== 'object' || v === null) continue;
    for (const [k, child] of Object.entries(v)) {
      if (KEY_FIELDS.has(k.toLowerCase())) {
        throw new ApiError(
          'bad_para',
          `para carries a credential field (${k.slice(0, 64)}): keys never come from callers; wecred signs with its own`,
        );
      }
      pending.push(child);
    }
  }
}

function cosConfig(services: InterfaceContext['services']): CosConfig {
  const cos = services.config.cos;
  if (!cos) throw new ApiError('resource_not_allowed', 'COS is not configured on this deployment (no cos section)');
  return cos;
}

/** para.bucket, which a realm listing apps must list too. */
function bucketOf(para: Para, realm: RealmConfig | null): string {
  const bucket = text(para, 'bucket', 64);
  assertRealmMayUse(realm, bucket, 'bucket');
  return bucket;
}

/** A key prefix ('' allowed) or an object key: at most 850 bytes, no wildcard, no control characters, no '.'/'..' segments. */
function objectPath(para: Para, field: string, allowEmpty: boolean): string {
  const v = para[field];
  if (typeof v !== 'string' || (!allowEmpty && v.replace(/^\/+/, '') === '')) {
    throw new ApiError(
      'bad_para',
      `para.${field} is required${allowEmpty ? ' (a string, "" for the whole bucket)' : ''}`,
    );
  }
  const path = wellFormed(v, `para.${field}`).replace(/^\/+/, '');
  if (Buffer.byteLength(path, 'utf8') > MAX_KEY_BYTES)
    throw new ApiError('bad_para', `para.${field} is longer than ${MAX_KEY_BYTES} bytes of UTF-8`);
  if (/[*\u0000-\u001f\u007f]/.test(path))
    throw new ApiError('bad_para', `para.${field} must not contain "*" or control characters`);
  if (path.split('/').some((s) => s === '.' || s === '..'))
    throw new ApiError('bad_para', `para.${field} must not contain "." or ".." segments`);
  return path;
}

/** The scopes of `bucket` in `region`, else 7007. */
function bucketScopes(cos: CosConfig, bucket: string, region: string): CosScopeConfig[] {
  const scopes = cos.scopes.filter((s) => s.bucket === bucket && s.region === region);
  if (scopes.length === 0)
    throw new ApiError('resource_not_allowed', `bucket ${bucket} in ${region} is not in cos.scopes`);
  return scopes;
}

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));

/**
 * The area of a cos.credentials request, checked against cos.scopes: `exact` when it is a
 * configured scope as a whole (served from that scope's cache), else the narrower grant.
 */
function credentialGrant(cos: CosConfig, para: Para, bucket: string): { grant: CosGrant; exact?: CosScopeConfig } {
  const region = text(para, 'region', 64);
  const prefix = objectPath(para, 'prefix', true);
  const asked = optionalStringList(para, 'actions');
  if (asked !== undefined && asked.length === 0)
    throw new ApiError('bad_para', 'para.actions must list at least one action (or be omitted)');
  for (const [i, a] of (asked ?? []).entries()) wellFormed(a, `para.actions[${i}]`);
  const under = bucketScopes(cos, bucket, region).filter((s) => prefix.startsWith(s.prefix));
  if (under.length === 0)
    throw new ApiError(
      'resource_not_allowed',
      `prefix "${prefix.slice(0, 128)}" of ${bucket} is not under a prefix in cos.scopes`,
    );
  const exact = under.find((s) => s.prefix === prefix && (asked === undefined || sameSet(asked, s.actions)));
  if (exact) return { grant: { bucket, region, prefix, actions: [...new Set(exact.actions)].sort() }, exact };
  const scope = asked === undefined ? under[0]! : under.find((s) => asked.every((a) => s.actions.includes(a)));
  if (!scope) {
    const missing = asked!.find((a) => !under.some((s) => s.actions.includes(a)));
    throw new ApiError(
      'resource_not_allowed',
      missing
        ? `action ${missing.slice(0, 64)} is not allowed on ${bucket}/${prefix.slice(0, 128)}`
        : `no single scope of ${bucket}/${prefix.slice(0, 128)} allows all of para.actions`,
    );
  }
  return { grant: { bucket, region, prefix, actions: [...new Set(asked ?? scope.actions)].sort() } };
}

async function credentials({ para, realm, call, services }: InterfaceContext): Promise<Record<string, unknown>> {
  refuseCallerKeys(para);
  const cos = cosConfig(services);
  const { grant, exact } = credentialGrant(cos, para, bucketOf(para, realm));
  const keys = exact
    ? await scopeKeys(services.credentials, services.credentials.cos(exact), call)
    : await services.credentials.cosNarrow(grant, call);
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

/** The CAM action a request performs: by method, and by the sub-resource (lowercased query name) that changes the operation. */
function cosAction(method: Method, query: Readonly<Record<string, string>>): string {
  const subs = SUB_RESOURCES.filter((s) => Object.hasOwn(query, s));
  if (subs.length > 1)
    throw new ApiError('bad_para', `para.query names more than one sub-resource (${subs.join(', ')})`);
  const ops: Partial<Record<Method, string>> =
    subs[0] === 'uploadid'
      ? { GET: 'ListParts', PUT: 'UploadPart', POST: 'CompleteMultipartUpload', DELETE: 'AbortMultipartUpload' }
      : subs[0] === 'uploads'
        ? { POST: 'InitiateMultipartUpload' }
        : subs[0] === 'acl'
          ? { GET: 'GetObjectACL', PUT: 'PutObjectACL' }
          : subs[0] === 'tagging'
            ? { GET: 'GetObjectTagging', PUT: 'PutObjectTagging', DELETE: 'DeleteObjectTagging' }
            : subs[0] === 'append'
              ? { POST: 'AppendObject' }
              : {
                  GET: 'GetObject',
                  HEAD: 'HeadObject',
                  PUT: 'PutObject',
                  POST: 'PostObject',
                  DELETE: 'DeleteObject',
                  OPTIONS: 'OptionsObject',
                };
  const op = ops[method];
  if (op === undefined)
    throw new ApiError('bad_para', `para.method ${method} does not go with the query's sub-resource`);
  return `name/cos:${op}`;
}

/**
 * `para[field]`: an object of strings (null and '' both mean a bare parameter for a query), its
 * names lowercased (COS signs them so) and each at most once.
 */
function stringMap(para: Para, field: 'query' | 'headers'): Record<string, string> {
  const v = para[field];
  if (v === undefined || v === null) return Object.create(null) as Record<string, string>;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new ApiError('bad_para', `para.${field} must be an object of strings`);
  const entries = Object.entries(v);
  if (entries.length > MAX_PAIRS) throw new ApiError('bad_para', `para.${field} has more than ${MAX_PAIRS} entries`);
  const out = Object.create(null) as Record<string, string>;
  for (const [k, value] of entries) {
    const what = `para.${field}.${k.slice(0, 64)}`;
    if (k === '' || k.length > 128)
      throw new ApiError('bad_para', `para.${field} has a name that is empty or longer than 128 characters`);
    const name = wellFormed(k, `a name in para.${field}`).toLowerCase();
    if (Object.hasOwn(out, name))
      throw new ApiError('bad_para', `para.${field} names ${name} more than once (names are compared lowercased)`);
    if (value === null && field === 'query') out[name] = '';
    else if (typeof value === 'string' && value.length <= 2048) out[name] = wellFormed(value, what);
    else throw new ApiError('bad_para', `${what} must be a string of at most 2048 characters`);
  }
  return out;
}

function signer(bounds: { fallback: number; max: number }) {
  return async ({ para, realm, call, services }: InterfaceContext): Promise<Record<string, unknown>> => {
    refuseCallerKeys(para);
    const cos = cosConfig(services);
    const rawMethod = text(para, 'method', 16).toUpperCase();
    if (!(METHODS as readonly string[]).includes(rawMethod))
      throw new ApiError('bad_para', `para.method must be one of ${METHODS.join(', ')}`);
    const method = rawMethod as Method;
    const bucket = bucketOf(para, realm);
    const region = text(para, 'region', 64);
    const key = objectPath(para, 'key', false);
    const expires = para.expires ?? bounds.fallback;
    if (typeof expires !== 'number' || !Number.isInteger(expires) || expires < 1 || expires > bounds.max) {
      throw new ApiError('bad_para', `para.expires must be an integer number of seconds between 1 and ${bounds.max}`);
    }
    const query = stringMap(para, 'query');
    const unknown = Object.keys(query).find((q) => !QUERY_NAMES.has(q));
    if (unknown !== undefined)
      throw new ApiError(
        'bad_para',
        `para.query.${unknown.slice(0, 64)} is not a parameter of an object request cos.sign signs`,
      );
    const headers = stringMap(para, 'headers');
    const foreign = Object.keys(headers).find((h) => FOREIGN_OBJECT_HEADER.test(h));
    if (foreign !== undefined)
      throw new ApiError(
        'resource_not_allowed',
        `para.headers.${foreign.slice(0, 64)} would act on another object than para.key; cos.sign does not sign it`,
      );
    // Host is always signed: a signature is for one bucket's endpoint.
    const host = `${bucket}.cos.${region}.myqcloud.com`;
    if (headers.host !== undefined && headers.host !== host)
      throw new ApiError('bad_para', `para.headers.host must be ${host} (or be omitted)`);
    headers.host = host;

    const action = cosAction(method, query);
    const under = bucketScopes(cos, bucket, region).filter((s) => key.startsWith(s.prefix));
    if (under.length === 0)
      throw new ApiError(
        'resource_not_allowed',
        `key "${key.slice(0, 128)}" of ${bucket} is not under a prefix in cos.scopes`,
      );
    const scope = under.find((s) => s.actions.includes(action));
    if (!scope)
      throw new ApiError('resource_not_allowed', `${action} is not allowed on ${bucket}/${key.slice(0, 128)}`);

    const keys = await scopeKeys(services.credentials, services.credentials.cos(scope), call);
    const now = Math.floor(services.clock() / 1000);
    // A second back, for clocks a little behind ours (as the COS SDKs do); never past the keys' own expiry.
    const startTime = now - 1;
    const expiredTime = Math.min(now + expires, keys.expiredTime);
    const signed = cosSign({
      secretId: keys.tmpSecretId,
      secretKey: keys.tmpSecretKey,
      method,
      pathname: `/${key}`,
      query,
      headers,
      startTime,
      endTime: expiredTime,
    });
    return {
      authorization: signed.authorization,
      securityToken: keys.sessionToken,
      startTime,
      expiredTime,
      host,
      action,
    };
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
  aliasOf: 'cos.sign',
  access: 'realm',
  handle: signer(SINGLE_USE),
};
