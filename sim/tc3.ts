/**
 * The Tencent Cloud API 3.0 server the cloud simulators share (sim/tencentcloud.ts, sim/scf.ts):
 * `POST /`, the action in X-TC-Action and its version in X-TC-Version, TC3-HMAC-SHA256 verified
 * against the one key it was given; answers always HTTP 200, `{"Response": {…, "RequestId"}}`,
 * errors as `{"Error": {"Code", "Message"}}`; per-action fault injection. docs/design.md §8.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import {
  header,
  hmacSha256,
  jsonObject,
  LoopbackServer,
  sha256Hex,
  type LoopbackRequest,
  type LoopbackResponse,
} from './loopback';

export interface Tc3Options {
  secretId: string;
  secretKey: string;
  /** When set, requests must carry it as X-TC-Token (temporary credentials); when not, they must not. */
  token?: string;
  /** The sim's clock, epoch ms (default Date.now): X-TC-Timestamp must be within 5 minutes of it. */
  now?: () => number;
  /**
   * The clock X-TC-Timestamp is checked against, when not `now`: the SDK signs with the machine's
   * clock, so a test that moves `now` ahead passes Date.now here.
   */
  signatureNow?: () => number;
}

export type Params = Record<string, unknown>;
export type Outcome = { ok: Record<string, unknown> } | { error: string; message: string };

export const fail = (error: string, message: string): Outcome => ({ error, message });

/** The next answer of an action: a Tencent error code, no answer for a while, or a dropped connection. */
export type TcFault = { code: string; message?: string } | { delayMs: number } | { drop: true };

export interface TcAction {
  /** The API version the action belongs to (X-TC-Version). */
  version: string;
  handle(params: Params): Outcome;
}

const MAX_SKEW_SECONDS = 300;
const AUTHORIZATION =
  /^TC3-HMAC-SHA256 Credential=([^/\s]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

export class Tc3Server {
  private server: LoopbackServer | undefined;
  private readonly faults = new Map<string, TcFault[]>();
  /** Pending delays: timer → answer now. */
  private readonly delays = new Map<NodeJS.Timeout, () => void>();

  protected constructor(
    private readonly opts: Tc3Options,
    private readonly actions: Readonly<Record<string, TcAction>>,
  ) {}

  protected async listen(): Promise<void> {
    this.server = await LoopbackServer.start(
      (req) => header(req.headers, 'x-tc-action') ?? '',
      (req) => this.serve(req),
    );
  }

  /** 127.0.0.1:PORT, the SDK's httpProfile.endpoint. */
  get host(): string {
    return this.server!.host;
  }

  /** http://127.0.0.1:PORT */
  get url(): string {
    return this.server!.url;
  }

  /** Requests received for `action` (all of them when omitted), whatever their outcome. */
  calls(action?: string): number {
    return this.server!.calls(action);
  }

  resetCalls(): void {
    this.server!.resetCalls();
  }

  /** The next `times` calls of `action`, however they are signed, meet `fault` instead of an answer. */
  fault(action: string, fault: TcFault, times = 1): void {
    const queue = this.faults.get(action) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.faults.set(action, queue);
  }

  async close(): Promise<void> {
    for (const [timer, answer] of this.delays) {
      clearTimeout(timer);
      answer();
    }
    this.delays.clear();
    await this.server?.close();
    this.server = undefined;
  }

  private async serve(req: LoopbackRequest): Promise<LoopbackResponse | 'drop'> {
    const action = header(req.headers, 'x-tc-action') ?? '';
    const fault = this.faults.get(action)?.shift();
    if (fault && 'drop' in fault) return 'drop';
    if (fault && 'delayMs' in fault) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.delays.delete(timer);
          resolve();
        }, fault.delayMs);
        this.delays.set(timer, resolve);
      });
    }
    const outcome =
      fault && 'code' in fault
        ? fail(fault.code, fault.message ?? `The sim was told to answer ${fault.code}.`)
        : this.dispatch(req, action);
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
    const action = this.actions[name];
    if (!action) return fail('InvalidAction', `The action \`${name}\` does not exist.`);
    if (header(req.headers, 'x-tc-version') !== action.version)
      return fail('NoSuchVersion', `The API version of \`${name}\` must be ${action.version}.`);
    if (!header(req.headers, 'x-tc-region'))
      return fail('MissingParameter', 'The request is missing a required parameter `Region`.');
    const params = jsonObject(req.body);
    if (params === 'not JSON') return fail('InvalidParameter', 'The request body is not JSON.');
    if (params === 'not an object') return fail('InvalidParameter', 'The request body must be a JSON object.');
    return action.handle(params);
  }

  /** TC3-HMAC-SHA256 verification; an AuthFailure outcome, or undefined when the request is genuine. */
  private authenticate(req: LoopbackRequest): Outcome | undefined {
    const auth = AUTHORIZATION.exec(header(req.headers, 'authorization') ?? '');
    if (!auth)
      return fail('AuthFailure.InvalidAuthorization', 'The Authorization header is not a TC3-HMAC-SHA256 signature.');
    const [, secretId, date, service, signedHeaders, signature] = auth as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const timestamp = Number(header(req.headers, 'x-tc-timestamp'));
    const now = Math.floor((this.opts.signatureNow ?? this.opts.now ?? Date.now)() / 1000);
    if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > MAX_SKEW_SECONDS) {
      return fail(
        'AuthFailure.SignatureExpire',
        'The signature has expired: X-TC-Timestamp is more than 5 minutes from the server time.',
      );
    }
    if (secretId !== this.opts.secretId) return fail('AuthFailure.SecretIdNotFound', 'The SecretId does not exist.');
    const token = header(req.headers, 'x-tc-token');
    if (token !== this.opts.token) return fail('AuthFailure.TokenFailure', 'The token is invalid.');

    const names = signedHeaders.split(';');
    const hostHeader = header(req.headers, 'host') ?? '';
    // The SDK signs the host without its port and names the service after the endpoint's first
    // label ("ssm" for ssm.tencentcloudapi.com, "127" for 127.0.0.1:PORT): check the same way.
    const hostname = hostHeader.replace(/:\d+$/, '');
    if (
      !names.includes('host') ||
      !names.includes('content-type') ||
      service !== hostHeader.split('.')[0] ||
      date !== utcDate(timestamp)
    ) {
      return fail('AuthFailure.SignatureFailure', 'The provided credentials could not be validated.');
    }
    const canonicalHeaders = names
      .map((n) => `${n}:${(n === 'host' ? hostname : (header(req.headers, n) ?? '')).trim().toLowerCase()}\n`)
      .join('');
    const [path = '/', query = ''] = req.path.split('?');
    const canonicalRequest = [req.method, path, query, canonicalHeaders, signedHeaders, sha256Hex(req.body)].join('\n');
    const stringToSign = [
      'TC3-HMAC-SHA256',
      String(timestamp),
      `${date}/${service}/tc3_request`,
      sha256Hex(canonicalRequest),
    ].join('\n');
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
