/**
 * Tencent Cloud API 3.0 simulator (TC3-verified `POST /`, sim/tc3.ts): SSM GetSecretValue, STS
 * GetFederationToken / AssumeRole with policies checked as CAM would, fault injection, and
 * verifyCosRequest(), a model of COS. docs/design.md §8; docs/protocol.md §6, §7, §9.1.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { fail, type Outcome, type Params, type Tc3Options, Tc3Server } from './tc3';

export type { TcFault } from './tc3';

/** STS keys expire on the sim's clock (`now`). */
export type TencentCloudSimOptions = Tc3Options;

/** What STS was asked for and handed out, in order. */
export interface StsIssue {
  action: 'GetFederationToken' | 'AssumeRole';
  /** The decoded policy (AssumeRole: undefined when none was sent). */
  policy: unknown;
  durationSeconds: number;
  tmpSecretId: string;
  expiredTime: number;
}

type StoredSecret = { text: string } | { binary: Buffer };

/** Temporary keys as COS sees them. */
interface IssuedKeys {
  tmpSecretKey: string;
  token: string;
  expiredTime: number;
  policy: unknown;
}

/** What the actions work on. */
interface TcState {
  /** SSM: secret name → version id → value. */
  secrets: Map<string, Map<string, StoredSecret>>;
  /** STS: every successful issue. */
  issued: StsIssue[];
  /** STS: TmpSecretId → the keys, for verifyCosRequest. */
  keys: Map<string, IssuedKeys>;
  now: () => number;
}

function getSecretValue(state: TcState, p: Params): Outcome {
  if (typeof p.SecretName !== 'string' || p.SecretName === '')
    return fail('MissingParameter', 'The request is missing a required parameter `SecretName`.');
  if (typeof p.VersionId !== 'string' || p.VersionId === '')
    return fail('MissingParameter', 'The request is missing a required parameter `VersionId`.');
  const secret = state.secrets.get(p.SecretName)?.get(p.VersionId);
  if (!secret) return fail('ResourceNotFound', 'The secret or its version does not exist.');
  return {
    ok: {
      SecretName: p.SecretName,
      VersionId: p.VersionId,
      SecretString: 'text' in secret ? secret.text : '',
      SecretBinary: 'binary' in secret ? secret.binary.toString('base64') : '',
    },
  };
}

// ---- STS (API 2018-08-13, docs/protocol.md §7) -------------------------------------------------

const STS_LIMITS = { federationDefault: 1800, federationMax: 7200, roleDefault: 7200, roleMax: 43200 };
const ROLE_ARN = /^qcs::cam::uin\/\d+:role(Name\/[\w+=,.@-]+|\/\d+)$/;
const ROLE_SESSION_NAME = /^[\w+=,.@-]{2,128}$/;

/** A COS action, `name/cos:PutObject` (or every one, `name/cos:*`); CAM action names are case-sensitive. */
const COS_ACTION = /^name\/cos:([A-Z][A-Za-z]*|\*)$/;
/** `qcs::cos:<region>:uid/<APPID>:<bucket>-<APPID>/<key pattern>`: the APPID twice, the same. */
const COS_RESOURCE = /^qcs::cos:([a-z]+(?:-[a-z0-9]+)+):uid\/(\d+):[a-z0-9][a-z0-9-]*-(\d+)\/.*$/;

interface Statement {
  effect: 'allow' | 'deny';
  action: string[];
  resource: string[];
}

const stringList = (v: unknown, pattern: RegExp) =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && pattern.test(x));

/**
 * The Policy parameter: URL-encoded CAM policy JSON (docs/protocol.md §7) as CAM checks it for COS:
 * version "2.0", a non-empty statement list, each with effect allow|deny, a list of COS actions
 * and a list of COS resources whose two APPIDs agree, and no principal (GetFederationToken's rule).
 */
function decodePolicy(raw: unknown): { policy: unknown } | Outcome {
  if (typeof raw !== 'string' || raw === '')
    return fail('InvalidParameter.ParamError', 'Policy must be a non-empty URL-encoded string.');
  let policy: unknown;
  try {
    policy = JSON.parse(decodeURIComponent(raw));
  } catch {
    return fail('InvalidParameter.PolicySyntaxError', 'Policy is not URL-encoded JSON.');
  }
  const p = policy as { version?: unknown; statement?: unknown };
  if (
    typeof policy !== 'object' ||
    policy === null ||
    p.version !== '2.0' ||
    !Array.isArray(p.statement) ||
    p.statement.length === 0
  ) {
    return fail('InvalidParameter.PolicySyntaxError', 'Policy needs version "2.0" and a non-empty statement list.');
  }
  for (const st of p.statement as unknown[]) {
    const statement = st as Record<string, unknown>;
    if (typeof st !== 'object' || st === null || !['allow', 'deny'].includes(statement.effect as string)) {
      return fail('InvalidParameter.PolicySyntaxError', 'Each statement needs effect allow or deny.');
    }
    if ('principal' in statement)
      return fail('InvalidParameter.PolicySyntaxError', 'Policy must not contain principal.');
    if (!stringList(statement.action, COS_ACTION))
      return fail(
        'InvalidParameter.PolicySyntaxError',
        'Each statement needs a list of actions such as name/cos:PutObject.',
      );
    const resources = statement.resource;
    if (
      !stringList(resources, COS_RESOURCE) ||
      (resources as string[]).some((r) => {
        const m = COS_RESOURCE.exec(r)!;
        return m[2] !== m[3];
      })
    ) {
      return fail(
        'InvalidParameter.PolicySyntaxError',
        'Each statement needs a list of resources qcs::cos:<region>:uid/<APPID>:<bucket>-<APPID>/<key>.',
      );
    }
  }
  return { policy };
}

function duration(raw: unknown, fallback: number, max: number): number | Outcome {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > max) {
    return fail('InvalidParameter.ParamError', `DurationSeconds must be an integer between 1 and ${max}.`);
  }
  return raw;
}

const randomText = (bytes: number) => randomBytes(bytes).toString('base64url');

function issue(state: TcState, action: StsIssue['action'], policy: unknown, durationSeconds: number): Outcome {
  const now = Math.floor(state.now() / 1000);
  const tmpSecretId = `AKID${randomText(24)}`;
  const expiredTime = now + durationSeconds;
  const keys = { tmpSecretKey: randomText(24), token: randomText(96), expiredTime, policy };
  state.issued.push({ action, policy, durationSeconds, tmpSecretId, expiredTime });
  state.keys.set(tmpSecretId, keys);
  return {
    ok: {
      Credentials: { Token: keys.token, TmpSecretId: tmpSecretId, TmpSecretKey: keys.tmpSecretKey },
      ExpiredTime: expiredTime,
      Expiration: new Date(expiredTime * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}

function getFederationToken(state: TcState, p: Params): Outcome {
  if (p.Name === undefined) return fail('MissingParameter', 'The request is missing a required parameter `Name`.');
  if (typeof p.Name !== 'string' || !/^[A-Za-z]{1,32}$/.test(p.Name))
    return fail('InvalidParameter.ParamError', 'Name must be 1 to 32 letters.');
  if (p.Policy === undefined) return fail('MissingParameter', 'The request is missing a required parameter `Policy`.');
  const decoded = decodePolicy(p.Policy);
  if (!('policy' in decoded)) return decoded;
  const seconds = duration(p.DurationSeconds, STS_LIMITS.federationDefault, STS_LIMITS.federationMax);
  if (typeof seconds !== 'number') return seconds;
  return issue(state, 'GetFederationToken', decoded.policy, seconds);
}

function assumeRole(state: TcState, p: Params): Outcome {
  if (p.RoleArn === undefined)
    return fail('MissingParameter', 'The request is missing a required parameter `RoleArn`.');
  if (typeof p.RoleArn !== 'string' || !ROLE_ARN.test(p.RoleArn))
    return fail('InvalidParameter.ParamError', 'RoleArn is not a role ARN.');
  if (p.RoleSessionName === undefined)
    return fail('MissingParameter', 'The request is missing a required parameter `RoleSessionName`.');
  if (typeof p.RoleSessionName !== 'string' || !ROLE_SESSION_NAME.test(p.RoleSessionName)) {
    return fail('InvalidParameter.ParamError', 'RoleSessionName must be 2 to 128 of [\\w+=,.@-].');
  }
  let policy: unknown;
  if (p.Policy !== undefined) {
    const decoded = decodePolicy(p.Policy);
    if (!('policy' in decoded)) return decoded;
    policy = decoded.policy;
  }
  const seconds = duration(p.DurationSeconds, STS_LIMITS.roleDefault, STS_LIMITS.roleMax);
  if (typeof seconds !== 'number') return seconds;
  return issue(state, 'AssumeRole', policy, seconds);
}

export class TencentCloudSim extends Tc3Server {
  private readonly state: TcState;

  private constructor(opts: TencentCloudSimOptions) {
    const state: TcState = { secrets: new Map(), issued: [], keys: new Map(), now: opts.now ?? Date.now };
    super(opts, {
      GetSecretValue: { version: '2019-09-23', handle: (p) => getSecretValue(state, p) },
      GetFederationToken: { version: '2018-08-13', handle: (p) => getFederationToken(state, p) },
      AssumeRole: { version: '2018-08-13', handle: (p) => assumeRole(state, p) },
    });
    this.state = state;
  }

  static async start(opts: TencentCloudSimOptions): Promise<TencentCloudSim> {
    const sim = new TencentCloudSim(opts);
    await sim.listen();
    return sim;
  }

  /** Store an SSM secret version: text (SecretString) or bytes (SecretBinary). */
  putSecret(name: string, value: string | Uint8Array, versionId = 'SSM_Current'): void {
    const versions = this.state.secrets.get(name) ?? new Map<string, StoredSecret>();
    versions.set(versionId, typeof value === 'string' ? { text: value } : { binary: Buffer.from(value) });
    this.state.secrets.set(name, versions);
  }

  /** STS: what was issued, in order (successful GetFederationToken / AssumeRole calls). */
  issued(): readonly StsIssue[] {
    return this.state.issued;
  }

  /** STS: the decoded policies of the successful calls, in order. */
  policies(): unknown[] {
    return this.state.issued.map((i) => i.policy);
  }

  /**
   * COS's check of an XML API request (docs/protocol.md §6), for keys this sim issued: the
   * Authorization header's sha1 signature over the listed headers and query parameters with the
   * TmpSecretKey of its q-ak, the x-cos-security-token of those keys, the signature's and the
   * keys' time on the sim clock, then the keys' policy for the request's action and object.
   * `url` is what the client requests, `https://<bucket>.cos.<region>.myqcloud.com/<key>?<query>`.
   */
  verifyCosRequest(req: {
    method: string;
    url: string;
    headers: Record<string, string>;
  }): { ok: true } | { ok: false; code: string } {
    const headers = new Map(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const auth = new Map(
      (headers.get('authorization') ?? '')
        .split('&')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const keys = this.state.keys.get(auth.get('q-ak') ?? '');
    if (auth.get('q-sign-algorithm') !== 'sha1' || !keys) return { ok: false, code: 'InvalidAccessKeyId' };
    if (headers.get('x-cos-security-token') !== keys.token) return { ok: false, code: 'InvalidToken' };
    const now = Math.floor(this.state.now() / 1000);
    const [start, end] = (auth.get('q-sign-time') ?? '').split(';').map(Number);
    if (auth.get('q-key-time') !== auth.get('q-sign-time') || !(start! <= now && now <= end!))
      return { ok: false, code: 'AccessDenied' };
    if (now >= keys.expiredTime) return { ok: false, code: 'ExpiredToken' };

    const url = new URL(req.url);
    const query = new Map<string, string>();
    for (const pair of url.search.slice(1).split('&').filter(Boolean)) {
      const i = pair.indexOf('=');
      query.set(
        decodeURIComponent(i < 0 ? pair : pair.slice(0, i)).toLowerCase(),
        i < 0 ? '' : decodeURIComponent(pair.slice(i + 1)),
      );
    }
    headers.set('host', headers.get('host') ?? url.host);
    const listed = (names: string, from: Map<string, string>) => {
      const out: string[] = [];
      for (const name of (names === '' ? [] : names.split(';')).sort()) {
        const value = from.get(decodeURIComponent(name));
        if (value === undefined) return undefined;
        out.push(`${name}=${cosEncode(value)}`);
      }
      return out.join('&');
    };
    const params = listed(auth.get('q-url-param-list') ?? '', query);
    const signedHeaders = listed(auth.get('q-header-list') ?? '', headers);
    if (params === undefined || signedHeaders === undefined) return { ok: false, code: 'SignatureDoesNotMatch' };
    const pathname = decodeURIComponent(url.pathname);
    const httpString = `${req.method.toLowerCase()}\n${pathname}\n${params}\n${signedHeaders}\n`;
    const keyTime = auth.get('q-sign-time')!;
    const signKey = createHmac('sha1', keys.tmpSecretKey).update(keyTime).digest('hex');
    const stringToSign = `sha1\n${keyTime}\n${createHash('sha1').update(httpString).digest('hex')}\n`;
    const expected = createHmac('sha1', signKey).update(stringToSign).digest('hex');
    const given = auth.get('q-signature') ?? '';
    if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected)))
      return { ok: false, code: 'SignatureDoesNotMatch' };

    const host = /^([a-z0-9-]+-(\d+))\.cos\.([a-z0-9-]+)\.myqcloud\.com$/.exec(url.hostname);
    if (!host) return { ok: false, code: 'NoSuchBucket' };
    const resource = `qcs::cos:${host[3]}:uid/${host[2]}:${host[1]}${pathname}`;
    return allows(keys.policy, cosOperation(req.method, query), resource)
      ? { ok: true }
      : { ok: false, code: 'AccessDenied' };
  }
}

/** COS's UrlEncode (docs/protocol.md §6): encodeURIComponent plus !'()*. */
function cosEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The sim's model of which CAM action an object request is: by sub-resource, then method. */
function cosOperation(method: string, query: Map<string, string>): string {
  const m = method.toUpperCase();
  const byMethod = (ops: Record<string, string>) => ops[m] ?? 'Unknown';
  let op: string;
  if (query.has('uploadid'))
    op = byMethod({
      GET: 'ListParts',
      PUT: 'UploadPart',
      POST: 'CompleteMultipartUpload',
      DELETE: 'AbortMultipartUpload',
    });
  else if (query.has('uploads')) op = byMethod({ POST: 'InitiateMultipartUpload' });
  else if (query.has('acl')) op = byMethod({ GET: 'GetObjectACL', PUT: 'PutObjectACL' });
  else if (query.has('tagging'))
    op = byMethod({ GET: 'GetObjectTagging', PUT: 'PutObjectTagging', DELETE: 'DeleteObjectTagging' });
  else
    op = byMethod({
      GET: 'GetObject',
      HEAD: 'HeadObject',
      PUT: 'PutObject',
      POST: 'PostObject',
      DELETE: 'DeleteObject',
      OPTIONS: 'OptionsObject',
    });
  return `name/cos:${op}`;
}

/** CAM: some allow statement matches and no deny does (a trailing `*` in a resource matches any rest). */
function allows(policy: unknown, action: string, resource: string): boolean {
  const statements = ((policy as { statement?: Statement[] } | undefined)?.statement ?? []).filter(
    (s) =>
      s.action.some((a) => a === action || a === 'name/cos:*') &&
      s.resource.some((r) => (r.endsWith('*') ? resource.startsWith(r.slice(0, -1)) : resource === r)),
  );
  return statements.some((s) => s.effect === 'allow') && !statements.some((s) => s.effect === 'deny');
}
