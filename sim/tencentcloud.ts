/**
 * Tencent Cloud API 3.0 simulator (reference §7): `POST /` with a JSON body, the action in
 * X-TC-Action and its API version in X-TC-Version, signed with TC3-HMAC-SHA256. It verifies the
 * signature against the one secret id/key it was given, as the real API does, and answers like
 * it: always HTTP 200, `{"Response":{…,"RequestId"}}`, errors as
 * `{"Response":{"Error":{"Code","Message"},"RequestId"}}`.
 *
 * Actions are a table: SSM's GetSecretValue today, STS's later.
 * Point an SDK client at it with httpProfile `{ endpoint: sim.host, protocol: 'http://' }`.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { header, hmacSha256, LoopbackServer, sha256Hex, type LoopbackRequest, type LoopbackResponse } from './loopback';

export interface TencentCloudSimOptions {
  secretId: string;
  secretKey: string;
  /** When set, requests must carry it as X-TC-Token (temporary credentials); when not, they must not. */
  token?: string;
  /** The sim's clock, epoch ms (default Date.now): X-TC-Timestamp must be within 5 minutes of it. */
  now?: () => number;
}

type StoredSecret = { text: string } | { binary: Buffer };

/** What the actions work on. */
interface TcState {
  /** SSM: secret name → version id → value. */
  secrets: Map<string, Map<string, StoredSecret>>;
}

type Params = Record<string, unknown>;
type Outcome = { ok: Record<string, unknown> } | { error: string; message: string };

interface Action {
  /** The API version the action belongs to (X-TC-Version). */
  version: string;
  handle(state: TcState, params: Params): Outcome;
}

const MAX_SKEW_SECONDS = 300;
const AUTHORIZATION = /^TC3-HMAC-SHA256 Credential=([^/\s]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

const fail = (error: string, message: string): Outcome => ({ error, message });

function getSecretValue(state: TcState, p: Params): Outcome {
  if (typeof p.SecretName !== 'string' || p.SecretName === '') return fail('MissingParameter', 'The request is missing a required parameter `SecretName`.');
  if (typeof p.VersionId !== 'string' || p.VersionId === '') return fail('MissingParameter', 'The request is missing a required parameter `VersionId`.');
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

/** Action name → handler. */
const ACTIONS: Readonly<Record<string, Action>> = {
  GetSecretValue: { version: '2019-09-23', handle: getSecretValue },
};

export class TencentCloudSim {
  private readonly state: TcState = { secrets: new Map() };
  private server: LoopbackServer | undefined;

  private constructor(private readonly opts: TencentCloudSimOptions) {}

  static async start(opts: TencentCloudSimOptions): Promise<TencentCloudSim> {
    const sim = new TencentCloudSim(opts);
    sim.server = await LoopbackServer.start((req) => header(req.headers, 'x-tc-action') ?? '', (req) => sim.serve(req));
    return sim;
  }

  /** 127.0.0.1:PORT, the SDK's httpProfile.endpoint. */
  get host(): string {
    return this.server!.host;
  }

  /** http://127.0.0.1:PORT */
  get url(): string {
    return this.server!.url;
  }

  /** Store an SSM secret version: text (SecretString) or bytes (SecretBinary). */
  putSecret(name: string, value: string | Uint8Array, versionId = 'SSM_Current'): void {
    const versions = this.state.secrets.get(name) ?? new Map<string, StoredSecret>();
    versions.set(versionId, typeof value === 'string' ? { text: value } : { binary: Buffer.from(value) });
    this.state.secrets.set(name, versions);
  }

  /** Requests received for `action` (all of them when omitted), whatever their outcome. */
  calls(action?: string): number {
    return this.server!.calls(action);
  }

  resetCalls(): void {
    this.server!.resetCalls();
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  private serve(req: LoopbackRequest): LoopbackResponse {
    const action = header(req.headers, 'x-tc-action') ?? '';
    const outcome = this.dispatch(req, action);
    const body = 'ok' in outcome ? outcome.ok : { Error: { Code: outcome.error, Message: outcome.message } };
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Response: { ...body, RequestId: randomUUID() } }),
    };
  }

  private dispatch(req: LoopbackRequest, name: string): Outcome {
    const denied = this.authenticate(req);
    if (denied) return denied;
    const action = ACTIONS[name];
    if (!action) return fail('InvalidAction', `The action \`${name}\` does not exist.`);
    if (header(req.headers, 'x-tc-version') !== action.version) return fail('NoSuchVersion', `The API version of \`${name}\` must be ${action.version}.`);
    if (!header(req.headers, 'x-tc-region')) return fail('MissingParameter', 'The request is missing a required parameter `Region`.');
    let params: unknown;
    try {
      params = JSON.parse(req.body.toString('utf8') || '{}');
    } catch {
      return fail('InvalidParameter', 'The request body is not JSON.');
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params)) return fail('InvalidParameter', 'The request body must be a JSON object.');
    return action.handle(this.state, params as Params);
  }

  /** TC3-HMAC-SHA256 verification; an AuthFailure outcome, or undefined when the request is genuine. */
  private authenticate(req: LoopbackRequest): Outcome | undefined {
    const auth = AUTHORIZATION.exec(header(req.headers, 'authorization') ?? '');
    if (!auth) return fail('AuthFailure.InvalidAuthorization', 'The Authorization header is not a TC3-HMAC-SHA256 signature.');
    const [, secretId, date, service, signedHeaders, signature] = auth as unknown as [string, string, string, string, string, string];
    const timestamp = Number(header(req.headers, 'x-tc-timestamp'));
    const now = Math.floor((this.opts.now ?? Date.now)() / 1000);
    if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > MAX_SKEW_SECONDS) {
      return fail('AuthFailure.SignatureExpire', 'The signature has expired: X-TC-Timestamp is more than 5 minutes from the server time.');
    }
    if (secretId !== this.opts.secretId) return fail('AuthFailure.SecretIdNotFound', 'The SecretId does not exist.');
    const token = header(req.headers, 'x-tc-token');
    if (token !== this.opts.token) return fail('AuthFailure.TokenFailure', 'The token is invalid.');

    const names = signedHeaders.split(';');
    const hostHeader = header(req.headers, 'host') ?? '';
    // The SDK signs the host without its port and names the service after the endpoint's first
    // label ("ssm" for ssm.tencentcloudapi.com, "127" for 127.0.0.1:PORT): check the same way.
    const hostname = hostHeader.replace(/:\d+$/, '');
    if (!names.includes('host') || !names.includes('content-type') || service !== hostHeader.split('.')[0] || date !== utcDate(timestamp)) {
      return fail('AuthFailure.SignatureFailure', 'The provided credentials could not be validated.');
    }
    const canonicalHeaders = names.map((n) => `${n}:${(n === 'host' ? hostname : (header(req.headers, n) ?? '')).trim().toLowerCase()}\n`).join('');
    const [path = '/', query = ''] = req.path.split('?');
    const canonicalRequest = [req.method, path, query, canonicalHeaders, signedHeaders, sha256Hex(req.body)].join('\n');
    const stringToSign = ['TC3-HMAC-SHA256', String(timestamp), `${date}/${service}/tc3_request`, sha256Hex(canonicalRequest)].join('\n');
    const kDate = hmacSha256(`TC3${this.opts.secretKey}`, date);
    const kSigning = hmacSha256(hmacSha256(kDate, service), 'tc3_request');
    const expected = hmacSha256(kSigning, stringToSign).toString('hex');
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      return fail('AuthFailure.SignatureFailure', 'The provided credentials could not be validated.');
    }
    return undefined;
  }
}

function utcDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}
