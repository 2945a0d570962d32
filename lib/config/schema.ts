/**
 * Validation of the configuration file (DESIGN §3.5): checks every field, fills in defaults,
 * puts in the resolved secret references and applies the environment overrides. Hand-written on
 * purpose: each check says which field is wrong in one line (ConfigError), never echoing a value.
 */
import { dirname } from 'node:path';
import { parseMasterKey } from './master-key';
import { AGENTID_RULE, canonicalAgentid, canonicalCorpid, CORPID_RULE } from './wecom-ids';
import { ConfigError } from './errors';
import { parseEndpoint, type Endpoint } from './secret-source';
import { referencePrefix, resolveSecret, type ResolvedSecrets, type SecretField } from './secrets';
import type {
  AppConfig,
  AppType,
  Config,
  CosConfig,
  CosScopeConfig,
  CredentialsConfig,
  OAuthConfig,
  RealmConfig,
  SessionsConfig,
  TokenMode,
  UpstreamConfig,
  WorkAppConfig,
} from './types';

type Env = NodeJS.ProcessEnv;
type Obj = Record<string, unknown>;
/** A secret's value for its field: a literal as is, a reference resolved (secrets.ts). */
type Resolve = (value: string, path: string) => string;

export const DEFAULT_STORE = 'file:./.wecred';
export const DEFAULT_UPSTREAM: Readonly<UpstreamConfig> = {
  mp: 'https://api.weixin.qq.com',
  work: 'https://qyapi.weixin.qq.com',
  sts: { protocol: 'https:', host: 'sts.tencentcloudapi.com' },
  timeoutMs: 5000,
  budgetMs: 10000,
};
export const DEFAULT_CREDENTIALS: Readonly<CredentialsConfig> = {
  refreshAheadSeconds: 300,
  localCacheSeconds: 30,
  leaseSeconds: 10,
  forceCooldownSeconds: 60,
};
export const DEFAULT_MAX_BODY_BYTES = 65536;
const THIRTY_DAYS = 30 * 86_400;
export const DEFAULT_SESSIONS: Readonly<SessionsConfig> = {
  maxAgeSeconds: THIRTY_DAYS,
  idleSeconds: THIRTY_DAYS,
  singleSession: false,
};
/** What cos.scopes[].actions defaults to: upload (simple, form and multipart) and download. */
const DEFAULT_COS_ACTIONS: readonly string[] = [
  'name/cos:PutObject',
  'name/cos:PostObject',
  'name/cos:InitiateMultipartUpload',
  'name/cos:ListMultipartUploads',
  'name/cos:ListParts',
  'name/cos:UploadPart',
  'name/cos:CompleteMultipartUpload',
  'name/cos:AbortMultipartUpload',
  'name/cos:GetObject',
  'name/cos:HeadObject',
];

const TOP_KEYS = [
  'apps',
  'work',
  'realms',
  'cors',
  'oauth',
  'store',
  'upstream',
  'credentials',
  'sessions',
  'trustGateway',
  'basePath',
  'maxBodyBytes',
  'cos',
  'cache', // jsdkd's, mapped to store
];
const STORE_PREFIXES = ['memory:', 'file:', 'mysql://', 'dynamodb://', 'redis://'];
/** WeChat appids are "wx" + 16 letters/digits. */
const APPID = /^wx[0-9a-zA-Z]{16}$/;
const REALM_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const REALM_SECRET_MIN = 16;
const OAUTH_SECRET_MIN = 32;
/** 安全模式 EncodingAESKey: 43 of [a-zA-Z0-9] (lib/crypto/message.ts; config imports nothing of ours but types). */
const ENCODING_AES_KEY = /^[A-Za-z0-9]{43}$/;
/** The fields parsed with secret() below: what loadConfig resolves before parsing. */
const SECRET_KEYS = { apps: ['secret', 'token', 'encodingAESKey'], work: ['secret'], realms: ['secret'] } as const;
const MASTER_KEY = 'WECRED_MASTER_KEY';

// ---------------------------------------------------------------------------------------------
// Small checkers. `path` is the field path used in the error message.

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(o: Obj, key: string): boolean {
  return Object.hasOwn(o, key);
}

function object(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new ConfigError(path, 'must be an object');
  return v;
}

function optionalObject(v: unknown, path: string): Obj {
  return v === undefined ? {} : object(v, path);
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(path, 'must be an array');
  return v;
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Reject keys not in `known`, so that typos do not pass silently. */
function onlyKeys(o: Obj, path: string, known: readonly string[]): void {
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  const first = unknown[0];
  if (first === undefined) return;
  const guess = known.find((k) => similar(first, k));
  const hint = guess === undefined ? '' : ` (did you mean "${guess}"?)`;
  const more = unknown.length > 1 ? ` (also unknown: ${unknown.slice(1).join(', ')})` : '';
  throw new ConfigError(child(path, first), `unknown key${hint}${more}`);
}

/** Edit distance ≤ 2, case-insensitive: enough to catch "realm", "secert", "tokenmode". */
function similar(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (Math.abs(x.length - y.length) > 2) return false;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length]! <= 2;
}

function nonEmptyString(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(path, 'must be a non-empty string');
  return v;
}

function bool(v: unknown, path: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ConfigError(path, 'must be true or false');
  return v;
}

function integer(v: unknown, path: string, fallback: number, min: number, max: number, note = ''): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(path, `must be an integer between ${min} and ${max}${note}`);
  }
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, options: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
    const quoted = options.map((o) => `"${o}"`);
    throw new ConfigError(
      path,
      `must be ${quoted.length > 2 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted.join(' or ')}`,
    );
  }
  return v as T;
}

function strings(v: unknown, path: string): string[] {
  return list(v, path).map((item, i) => nonEmptyString(item, `${path}[${i}]`));
}

/** A list of regular expressions that must compile (matched case-insensitively by the gateway). */
function patterns(v: unknown, path: string, allowStar: boolean): string[] {
  return strings(v, path).map((p, i) => {
    if (allowStar && p === '*') return p;
    try {
      new RegExp(p, 'i');
    } catch (err) {
      const reason = err instanceof Error ? (err.message.split(': ').pop() ?? err.message) : String(err);
      throw new ConfigError(`${path}[${i}]`, `not a valid regular expression (${reason})`);
    }
    return p;
  });
}

/** A secret: a non-empty literal or a reference such as env:NAME. */
function secret(v: unknown, path: string, resolve: Resolve, minLength = 1): string {
  const raw = nonEmptyString(v, path);
  const value = resolve(raw, path);
  if (value.length < minLength)
    throw new ConfigError(path, `must be at least ${minLength} characters${fromReference(raw)}`);
  return value;
}

/** Says where a checked value came from when it was a reference, without showing it. */
function fromReference(raw: string): string {
  return referencePrefix(raw) === undefined ? '' : ` (the value of ${raw})`;
}

// ---------------------------------------------------------------------------------------------
// Values that may also come from the environment (`path` is then the variable's name).

/** A store URL, or a secret reference to one (it may carry a password). */
export function storeUrl(v: unknown, path: string, resolve?: Resolve): string {
  const raw = nonEmptyString(v, path);
  const s = resolve ? resolve(raw, path) : raw;
  const prefix = STORE_PREFIXES.find((p) => s.startsWith(p));
  if (prefix === undefined) {
    throw new ConfigError(
      path,
      `must start with ${STORE_PREFIXES.slice(0, -1).join(', ')} or ${STORE_PREFIXES.at(-1)}${fromReference(raw)}`,
    );
  }
  if (prefix !== 'memory:' && s.length === prefix.length)
    throw new ConfigError(path, `needs a location after "${prefix}"${fromReference(raw)}`);
  return s;
}

/** An http(s) base URL, returned without trailing '/'. */
export function baseUrl(v: unknown, path: string): string {
  const s = nonEmptyString(v, path);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new ConfigError(path, 'must be an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(path, 'must be an http(s) URL');
  if (url.search || url.hash) throw new ConfigError(path, 'must be an http(s) URL without query or fragment');
  return s.replace(/\/+$/, '');
}

/** Normalised: leading '/', no trailing '/', '' for the root. */
export function basePath(v: unknown, path: string): string {
  if (typeof v !== 'string' || /[\s?#]/.test(v)) throw new ConfigError(path, 'must be a path such as "/release"');
  const trimmed = v.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

function envFlag(v: string, name: string): boolean {
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw new ConfigError(name, 'must be true, false, 1 or 0');
}

/** An environment variable's value; unset and '' both count as "not given". */
function envValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** WECRED_MASTER_KEY, a literal or a reference, as the 32-byte key; undefined when not set. */
function masterKey(env: Env, resolve: Resolve): Buffer | undefined {
  const raw = envValue(env, MASTER_KEY);
  if (raw === undefined) return undefined;
  try {
    return parseMasterKey(resolve(raw, MASTER_KEY));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(MASTER_KEY, `${(err as Error).message}${fromReference(raw)}`);
  }
}

/**
 * Environment overrides, applied after the file: WECRED_STORE, WECHAT_API_BASE, WECOM_API_BASE,
 * WECHAT_OPEN_BASE, WECRED_BASE_PATH, WECRED_TRUST_GATEWAY. `upstream: false` keeps the upstream URLs (demo mode).
 */
export function applyEnvOverrides(
  config: Config,
  env: Env,
  opts: { upstream?: boolean; resolve?: Resolve } = {},
): Config {
  const out: Config = { ...config, upstream: { ...config.upstream } };
  const store = envValue(env, 'WECRED_STORE');
  if (store !== undefined)
    out.store = storeUrl(store, 'WECRED_STORE', opts.resolve ?? ((value, path) => resolveSecret(value, path, env)));
  if (opts.upstream !== false) {
    const mp = envValue(env, 'WECHAT_API_BASE');
    if (mp !== undefined) out.upstream.mp = baseUrl(mp, 'WECHAT_API_BASE');
    const work = envValue(env, 'WECOM_API_BASE');
    if (work !== undefined) out.upstream.work = baseUrl(work, 'WECOM_API_BASE');
    const open = envValue(env, 'WECHAT_OPEN_BASE');
    if (open !== undefined) out.upstream.open = baseUrl(open, 'WECHAT_OPEN_BASE');
  }
  const prefix = envValue(env, 'WECRED_BASE_PATH');
  if (prefix !== undefined) out.basePath = basePath(prefix, 'WECRED_BASE_PATH');
  const trust = envValue(env, 'WECRED_TRUST_GATEWAY');
  if (trust !== undefined) out.trustGateway = envFlag(trust, 'WECRED_TRUST_GATEWAY');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sections.

function parseApps(v: unknown, resolve: Resolve): AppConfig[] {
  const apps: AppConfig[] = [];
  const seen = new Map<string, number>();
  const defaults = new Map<AppType, number>();
  list(v, 'apps').forEach((entry, i) => {
    const path = `apps[${i}]`;
    const o = object(entry, path);
    // jsdkd wrote the appid as `key` and did not check its form.
    const jsdkd = has(o, 'key');
    if (jsdkd && has(o, 'appid'))
      throw new ConfigError(path, "has both appid and key (jsdkd's name for appid): keep one");
    onlyKeys(o, path, [jsdkd ? 'key' : 'appid', 'secret', 'type', 'tokenMode', 'token', 'encodingAESKey', 'default']);
    const idPath = `${path}.${jsdkd ? 'key' : 'appid'}`;
    const appid = jsdkd ? nonEmptyString(o.key, idPath) : nonEmptyString(o.appid, idPath);
    if (!jsdkd && !APPID.test(appid)) throw new ConfigError(idPath, 'must be "wx" followed by 16 letters or digits');
    const app: AppConfig = {
      appid,
      secret: secret(o.secret, `${path}.secret`, resolve),
      type: oneOf<AppType>(o.type, `${path}.type`, ['mp', 'mina', 'web'], 'mp'),
      tokenMode: oneOf<TokenMode>(o.tokenMode, `${path}.tokenMode`, ['stable', 'classic'], 'stable'),
      default: bool(o.default, `${path}.default`, false),
    };
    if (o.token !== undefined) app.token = secret(o.token, `${path}.token`, resolve);
    if (o.encodingAESKey !== undefined) {
      const keyPath = `${path}.encodingAESKey`;
      const raw = nonEmptyString(o.encodingAESKey, keyPath);
      const key = secret(raw, keyPath, resolve);
      if (!ENCODING_AES_KEY.test(key))
        throw new ConfigError(keyPath, `must be 43 letters or digits${fromReference(raw)}`);
      if (app.token === undefined)
        throw new ConfigError(keyPath, `needs ${path}.token (encrypted messages are signed with it)`);
      app.encodingAESKey = key;
    }

    const dup = seen.get(appid);
    if (dup !== undefined) throw new ConfigError(idPath, `duplicate of apps[${dup}]`);
    seen.set(appid, i);
    if (app.default) {
      const other = defaults.get(app.type);
      if (other !== undefined)
        throw new ConfigError(`${path}.default`, `apps[${other}] is already the default ${app.type} app`);
      defaults.set(app.type, i);
    }
    apps.push(app);
  });
  return apps;
}

function parseWork(v: unknown, resolve: Resolve): WorkAppConfig[] {
  const seen = new Map<string, number>();
  return list(v, 'work').map((entry, i) => {
    const path = `work[${i}]`;
    const o = object(entry, path);
    onlyKeys(o, path, ['corpid', 'agentid', 'secret']);
    const corpid = canonicalCorpid(nonEmptyString(o.corpid, `${path}.corpid`));
    if (corpid === undefined) throw new ConfigError(`${path}.corpid`, CORPID_RULE);
    const agentid = canonicalAgentid(o.agentid);
    if (agentid === undefined) throw new ConfigError(`${path}.agentid`, AGENTID_RULE);
    const app: WorkAppConfig = { corpid, agentid, secret: secret(o.secret, `${path}.secret`, resolve) };

    const id = `${corpid}/${agentid}`;
    const dup = seen.get(id);
    if (dup !== undefined) throw new ConfigError(path, `duplicate corpid and agentid of work[${dup}]`);
    seen.set(id, i);
    return app;
  });
}

function parseRealms(v: unknown, resolve: Resolve, jsdkd: boolean): RealmConfig[] {
  const seen = new Map<string, number>();
  return list(v, 'realms').map((entry, i) => {
    const path = `realms[${i}]`;
    const o = object(entry, path);
    onlyKeys(o, path, ['key', 'secret', 'apps', 'interfaces', 'admin', 'legacyMd5']);
    const key = nonEmptyString(o.key, `${path}.key`);
    if (!REALM_KEY.test(key)) throw new ConfigError(`${path}.key`, 'must be 1 to 64 letters, digits, "_", "." or "-"');
    const realm: RealmConfig = {
      key,
      // jsdkd's realm secrets may be short; they only ever served its md5 query signature.
      secret: secret(o.secret, `${path}.secret`, resolve, jsdkd ? 1 : REALM_SECRET_MIN),
      apps: strings(o.apps, `${path}.apps`),
      interfaces: strings(o.interfaces, `${path}.interfaces`),
      admin: bool(o.admin, `${path}.admin`, false),
      legacyMd5: bool(o.legacyMd5, `${path}.legacyMd5`, jsdkd),
    };
    const dup = seen.get(key);
    if (dup !== undefined) throw new ConfigError(`${path}.key`, `duplicate of realms[${dup}]`);
    seen.set(key, i);
    return realm;
  });
}

/** jsdkd's `cache` → a store URL: {file: PATH} | {memo: {}} | {redis: URL}. */
function storeFromCache(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  const o = object(v, 'cache');
  if (Object.keys(o).length !== 1) throw new ConfigError('cache', 'must have exactly one of file, memo, redis');
  onlyKeys(o, 'cache', ['file', 'memo', 'redis']);
  if (has(o, 'file')) return `file:${dirname(nonEmptyString(o.file, 'cache.file'))}/.wecred`;
  if (has(o, 'memo')) {
    object(o.memo, 'cache.memo');
    return 'memory:';
  }
  const url = nonEmptyString(o.redis, 'cache.redis');
  if (!url.startsWith('redis://')) throw new ConfigError('cache.redis', 'must be a redis:// URL');
  return url;
}

function parseUpstream(v: unknown): UpstreamConfig {
  const o = optionalObject(v, 'upstream');
  onlyKeys(o, 'upstream', ['mp', 'work', 'timeoutMs', 'budgetMs', 'showqrcode', 'open', 'sts']);
  const timeoutMs = integer(o.timeoutMs, 'upstream.timeoutMs', DEFAULT_UPSTREAM.timeoutMs, 100, 60000);
  return {
    mp: o.mp === undefined ? DEFAULT_UPSTREAM.mp : baseUrl(o.mp, 'upstream.mp'),
    work: o.work === undefined ? DEFAULT_UPSTREAM.work : baseUrl(o.work, 'upstream.work'),
    sts: o.sts === undefined ? { ...DEFAULT_UPSTREAM.sts } : hostEndpoint(o.sts, 'upstream.sts'),
    timeoutMs,
    // One call must fit in the budget; a large timeoutMs raises the default budget with it.
    budgetMs: integer(
      o.budgetMs,
      'upstream.budgetMs',
      Math.max(DEFAULT_UPSTREAM.budgetMs, timeoutMs),
      timeoutMs,
      120000,
      ' (at least upstream.timeoutMs)',
    ),
    ...(o.showqrcode === undefined ? {} : { showqrcode: baseUrl(o.showqrcode, 'upstream.showqrcode') }),
    ...(o.open === undefined ? {} : { open: baseUrl(o.open, 'upstream.open') }),
  };
}

/** `host[:port]` (https) or `http(s)://host[:port]`, in the parts the Tencent SDKs take. */
function hostEndpoint(v: unknown, path: string): Endpoint {
  const endpoint = parseEndpoint(nonEmptyString(v, path));
  if (!endpoint) throw new ConfigError(path, 'must be host[:port] or http(s)://host[:port]');
  return endpoint;
}

/** COS bucket names end in -APPID; regions look like ap-beijing, ap-shanghai-fsi, na-siliconvalley. */
const COS_BUCKET = /^[a-z0-9][a-z0-9-]{0,49}-\d{5,12}$/;
const COS_REGION = /^[a-z]{2,}(-[a-z0-9]+){1,3}$/;
const COS_ACTION = /^name\/cos:[A-Za-z]+$/;
/** A prefix goes into a policy resource before its `*`: no wildcard of its own, no leading '/'. */
const COS_PREFIX = /^(?![/])[^*\u0000-\u001f\u007f]{0,256}$/;

function parseCosScopes(v: unknown, region: string): CosScopeConfig[] {
  const scopes = list(v, 'cos.scopes');
  if (scopes.length === 0) throw new ConfigError('cos.scopes', 'must list at least one {bucket, prefix}');
  return scopes.map((entry, i) => {
    const path = `cos.scopes[${i}]`;
    const o = object(entry, path);
    onlyKeys(o, path, ['bucket', 'region', 'prefix', 'actions']);
    const bucket = nonEmptyString(o.bucket, `${path}.bucket`);
    if (!COS_BUCKET.test(bucket))
      throw new ConfigError(
        `${path}.bucket`,
        'must be the full bucket name, <name>-<APPID> (e.g. examplebucket-1250000000)',
      );
    const scopeRegion = o.region === undefined ? region : nonEmptyString(o.region, `${path}.region`);
    if (!COS_REGION.test(scopeRegion))
      throw new ConfigError(`${path}.region`, 'must be a COS region such as ap-beijing');
    if (typeof o.prefix !== 'string' || !COS_PREFIX.test(o.prefix)) {
      throw new ConfigError(
        `${path}.prefix`,
        'must be a key prefix ("" for the whole bucket) of at most 256 characters, without "*" or a leading "/"',
      );
    }
    const actions = o.actions === undefined ? [...DEFAULT_COS_ACTIONS] : strings(o.actions, `${path}.actions`);
    if (actions.length === 0) throw new ConfigError(`${path}.actions`, 'must list at least one action');
    actions.forEach((a, j) => {
      if (!COS_ACTION.test(a))
        throw new ConfigError(`${path}.actions[${j}]`, 'must be a COS action such as "name/cos:PutObject"');
    });
    return { bucket, region: scopeRegion, prefix: o.prefix, actions };
  });
}

function parseCos(v: unknown, resolve: Resolve, refreshAheadSeconds: number): CosConfig | undefined {
  if (v === undefined) return undefined;
  const o = object(v, 'cos');
  onlyKeys(o, 'cos', ['secretId', 'secretKey', 'region', 'roleArn', 'durationSeconds', 'scopes']);
  const region = nonEmptyString(o.region, 'cos.region');
  if (!COS_REGION.test(region))
    throw new ConfigError('cos.region', 'must be a Tencent Cloud region such as ap-beijing');
  const cos: CosConfig = {
    secretId: secret(o.secretId, 'cos.secretId', resolve),
    secretKey: secret(o.secretKey, 'cos.secretKey', resolve),
    region,
    // STS: GetFederationToken allows 7200 s for a root account, AssumeRole 43200 s.
    durationSeconds: integer(
      o.durationSeconds,
      'cos.durationSeconds',
      1800,
      300,
      o.roleArn === undefined ? 7200 : 43200,
    ),
    scopes: parseCosScopes(o.scopes, region),
  };
  if (o.roleArn !== undefined) {
    const roleArn = nonEmptyString(o.roleArn, 'cos.roleArn');
    if (!/^qcs::cam::uin\/\d+:role(Name\/[\w+=,.@-]+|\/\d+)$/.test(roleArn)) {
      throw new ConfigError('cos.roleArn', 'must be a role ARN such as qcs::cam::uin/12345678:roleName/cos-uploader');
    }
    cos.roleArn = roleArn;
  }
  if (cos.durationSeconds <= refreshAheadSeconds) {
    throw new ConfigError(
      'cos.durationSeconds',
      `must be longer than credentials.refreshAheadSeconds (${refreshAheadSeconds}), or every request would fetch new keys`,
    );
  }
  return cos;
}

function parseCredentials(v: unknown): CredentialsConfig {
  const o = optionalObject(v, 'credentials');
  const d = DEFAULT_CREDENTIALS;
  onlyKeys(o, 'credentials', Object.keys(d));
  return {
    refreshAheadSeconds: integer(
      o.refreshAheadSeconds,
      'credentials.refreshAheadSeconds',
      d.refreshAheadSeconds,
      30,
      3600,
    ),
    // WeChat keeps a replaced token valid for 5 minutes only: a local copy must be dropped well before.
    localCacheSeconds: integer(o.localCacheSeconds, 'credentials.localCacheSeconds', d.localCacheSeconds, 0, 120),
    leaseSeconds: integer(o.leaseSeconds, 'credentials.leaseSeconds', d.leaseSeconds, 1, 120),
    forceCooldownSeconds: integer(
      o.forceCooldownSeconds,
      'credentials.forceCooldownSeconds',
      d.forceCooldownSeconds,
      0,
      3600,
    ),
  };
}

function parseSessions(v: unknown): SessionsConfig {
  const o = optionalObject(v, 'sessions');
  const d = DEFAULT_SESSIONS;
  onlyKeys(o, 'sessions', Object.keys(d));
  return {
    maxAgeSeconds: integer(o.maxAgeSeconds, 'sessions.maxAgeSeconds', d.maxAgeSeconds, 60, 366 * 86_400),
    idleSeconds: integer(o.idleSeconds, 'sessions.idleSeconds', d.idleSeconds, 60, 366 * 86_400),
    singleSession: bool(o.singleSession, 'sessions.singleSession', d.singleSession),
  };
}

function parseOAuth(v: unknown, resolve: Resolve): OAuthConfig {
  const o = optionalObject(v, 'oauth');
  onlyKeys(o, 'oauth', ['redirects', 'callbackBase', 'secret']);
  const oauth: OAuthConfig = { redirects: patterns(o.redirects, 'oauth.redirects', false) };
  oauth.redirects.forEach((p, i) => {
    // The cheap half of the check at each redirect (sessions/oauth-redirects.ts allowedRedirect): a pattern
    // admitting a host nobody owns admits any host.
    const re = new RegExp(`^(?:${p})$`, 'i');
    if (re.test('https://wecred-probe.invalid/') || re.test('http://wecred-probe.invalid/')) {
      throw new ConfigError(
        `oauth.redirects[${i}]`,
        'allows any host: name the host, e.g. "https://app\\.example\\.com/.*"',
      );
    }
  });
  if (o.callbackBase !== undefined) oauth.callbackBase = baseUrl(o.callbackBase, 'oauth.callbackBase');
  if (o.secret !== undefined) oauth.secret = secret(o.secret, 'oauth.secret', resolve, OAUTH_SECRET_MIN);
  if (oauth.callbackBase !== undefined && oauth.secret === undefined) {
    throw new ConfigError('oauth.secret', 'is required with oauth.callbackBase (it signs the login results)');
  }
  return oauth;
}

/** Every value at a secret field of `raw`, and WECRED_MASTER_KEY; shapes are parseConfig's to check. */
export function secretFields(raw: unknown, env: Env): SecretField[] {
  const fields: SecretField[] = [];
  if (isObj(raw)) {
    for (const [section, keys] of Object.entries(SECRET_KEYS)) {
      const entries = raw[section];
      if (!Array.isArray(entries)) continue;
      entries.forEach((entry, i) => {
        if (!isObj(entry)) return;
        for (const key of keys) {
          const value = entry[key];
          if (typeof value === 'string') fields.push({ field: `${section}[${i}].${key}`, value });
        }
      });
    }
    if (isObj(raw.oauth) && typeof raw.oauth.secret === 'string')
      fields.push({ field: 'oauth.secret', value: raw.oauth.secret });
    if (isObj(raw.cos)) {
      for (const key of ['secretId', 'secretKey']) {
        const value = raw.cos[key];
        if (typeof value === 'string') fields.push({ field: `cos.${key}`, value });
      }
    }
    if (typeof raw.store === 'string') fields.push({ field: 'store', value: raw.store });
  }
  for (const name of [MASTER_KEY, 'WECRED_STORE']) {
    const value = envValue(env, name);
    if (value !== undefined) fields.push({ field: name, value });
  }
  return fields;
}

/**
 * Validate a parsed config file, fill in defaults, put in secret references (env: from `env`,
 * the others from `resolved`, see loadConfig) and apply the environment overrides, including
 * WECRED_MASTER_KEY. Throws ConfigError on the first problem.
 */
export function parseConfig(raw: unknown, env: Env = process.env, resolved?: ResolvedSecrets): Config {
  const resolve: Resolve = (value, path) => resolveSecret(value, path, env, resolved);
  if (!isObj(raw)) throw new ConfigError('', 'must be a JSON object');
  onlyKeys(raw, '', TOP_KEYS);
  // A jsdkd file names appids `key`; its realms keep their (possibly short) md5 secrets.
  const jsdkd = Array.isArray(raw.apps) && raw.apps.some((a) => isObj(a) && has(a, 'key'));
  const fromCache = storeFromCache(raw.cache);

  const config: Config = {
    apps: parseApps(raw.apps, resolve),
    work: parseWork(raw.work, resolve),
    realms: parseRealms(raw.realms, resolve, jsdkd),
    cors: patterns(raw.cors, 'cors', true),
    oauth: parseOAuth(raw.oauth, resolve),
    store: raw.store === undefined ? (fromCache ?? DEFAULT_STORE) : storeUrl(raw.store, 'store', resolve),
    upstream: parseUpstream(raw.upstream),
    credentials: parseCredentials(raw.credentials),
    sessions: parseSessions(raw.sessions),
    trustGateway: bool(raw.trustGateway, 'trustGateway', false),
    basePath: raw.basePath === undefined ? '' : basePath(raw.basePath, 'basePath'),
    maxBodyBytes: integer(raw.maxBodyBytes, 'maxBodyBytes', DEFAULT_MAX_BODY_BYTES, 1024, 10485760),
    demo: false,
  };
  const cos = parseCos(raw.cos, resolve, config.credentials.refreshAheadSeconds);
  if (cos !== undefined) config.cos = cos;
  const out = applyEnvOverrides(config, env, { resolve });
  const key = masterKey(env, resolve);
  if (key !== undefined) out.masterKey = key;
  return out;
}
