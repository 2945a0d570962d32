/**
 * AWS Secrets Manager simulator: the JSON 1.1 protocol (`POST /`, X-Amz-Target), every request
 * verified as SigV4. docs/design.md §8; docs/protocol.md §9.2.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  header,
  hmacSha256,
  jsonObject,
  LoopbackServer,
  sha256Hex,
  type LoopbackRequest,
  type LoopbackResponse,
} from './loopback';

export interface AwsSecretsSimOptions {
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, requests must carry it as X-Amz-Security-Token. */
  sessionToken?: string;
  /** The region requests must be scoped to. Default us-east-1. */
  region?: string;
  /** The sim's clock, epoch ms (default Date.now): X-Amz-Date must be within 15 minutes of it. */
  now?: () => number;
}

interface StoredSecret {
  name: string;
  arn: string;
  versionId: string;
  value: { text: string } | { binary: Buffer };
}

/** What the operations work on. */
interface SmState {
  /** By name. */
  secrets: Map<string, StoredSecret>;
  now(): number;
}

type Input = Record<string, unknown>;
type Outcome = { ok: Record<string, unknown> } | { error: string; message: string };

const JSON_11 = 'application/x-amz-json-1.1';
const MAX_SKEW_MS = 15 * 60_000;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const fail = (error: string, message: string): Outcome => ({ error, message });

function getSecretValue(state: SmState, input: Input): Outcome {
  const id = input.SecretId;
  if (typeof id !== 'string' || id === '') return fail('InvalidParameterException', 'SecretId is required.');
  const secret = state.secrets.get(id) ?? [...state.secrets.values()].find((s) => s.arn === id);
  if (!secret) return fail('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  return {
    ok: {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      ...('text' in secret.value
        ? { SecretString: secret.value.text }
        : { SecretBinary: secret.value.binary.toString('base64') }),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Math.floor(state.now() / 1000),
    },
  };
}

/** Operation name (X-Amz-Target after "secretsmanager.") → handler. */
const OPERATIONS: Readonly<Record<string, (state: SmState, input: Input) => Outcome>> = {
  GetSecretValue: getSecretValue,
};

/** `GetSecretValue` from `X-Amz-Target: secretsmanager.GetSecretValue`. */
function operationOf(req: LoopbackRequest): string {
  return (header(req.headers, 'x-amz-target') ?? '').replace(/^secretsmanager\./, '');
}

export class AwsSecretsSim {
  private readonly state: SmState = { secrets: new Map(), now: () => (this.opts.now ?? Date.now)() };
  private readonly region: string;
  private server: LoopbackServer | undefined;

  private constructor(private readonly opts: AwsSecretsSimOptions) {
    this.region = opts.region ?? 'us-east-1';
  }

  static async start(opts: AwsSecretsSimOptions): Promise<AwsSecretsSim> {
    const sim = new AwsSecretsSim(opts);
    sim.server = await LoopbackServer.start(operationOf, (req) => sim.serve(req));
    return sim;
  }

  /** http://127.0.0.1:PORT, the client's endpoint. */
  get url(): string {
    return this.server!.url;
  }

  /** Store (or replace) a secret's current value; returns its ARN, which also names it in requests. */
  putSecret(name: string, value: string | Uint8Array): string {
    const arn =
      this.state.secrets.get(name)?.arn ??
      `arn:aws:secretsmanager:${this.region}:123456789012:secret:${name}-${randomBytes(3).toString('hex')}`;
    this.state.secrets.set(name, {
      name,
      arn,
      versionId: randomUUID(),
      value: typeof value === 'string' ? { text: value } : { binary: Buffer.from(value) },
    });
    return arn;
  }

  /** Requests received for `operation` (all of them when omitted), whatever their outcome. */
  calls(operation?: string): number {
    return this.server!.calls(operation);
  }

  resetCalls(): void {
    this.server!.resetCalls();
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  private serve(req: LoopbackRequest): LoopbackResponse {
    const outcome = this.dispatch(req, operationOf(req));
    const headers: Record<string, string> = { 'content-type': JSON_11, 'x-amzn-requestid': randomUUID() };
    if ('ok' in outcome) return { status: 200, headers, body: JSON.stringify(outcome.ok) };
    headers['x-amzn-errortype'] = outcome.error;
    return { status: 400, headers, body: JSON.stringify({ __type: outcome.error, message: outcome.message }) };
  }

  private dispatch(req: LoopbackRequest, operation: string): Outcome {
    const denied = this.authenticate(req);
    if (denied) return denied;
    const handle = OPERATIONS[operation];
    if (req.method !== 'POST' || !handle) return fail('UnknownOperationException', 'The operation is not supported.');
    const input = jsonObject(req.body);
    if (input === 'not JSON') return fail('SerializationException', 'The request body is not JSON.');
    if (input === 'not an object') return fail('SerializationException', 'The request body must be a JSON object.');
    return handle(this.state, input as Input);
  }

  /** Signature Version 4 verification; an error outcome, or undefined when the request is genuine. */
  private authenticate(req: LoopbackRequest): Outcome | undefined {
    const authorization = header(req.headers, 'authorization');
    if (!authorization) return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
    const auth = AUTHORIZATION.exec(authorization);
    if (!auth)
      return fail('IncompleteSignatureException', 'The Authorization header is not an AWS4-HMAC-SHA256 signature.');
    const [, accessKeyId, date, region, service, signedHeaders, signature] = auth as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (accessKeyId !== this.opts.accessKeyId)
      return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (header(req.headers, 'x-amz-security-token') !== this.opts.sessionToken) {
      return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const amzDate = header(req.headers, 'x-amz-date') ?? '';
    const signedAt = Date.parse(
      amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
    );
    if (Number.isNaN(signedAt) || Math.abs(this.state.now() - signedAt) > MAX_SKEW_MS)
      return fail('InvalidSignatureException', 'Signature expired.');
    const names = signedHeaders.split(';');
    if (
      date !== amzDate.slice(0, 8) ||
      region !== this.region ||
      service !== 'secretsmanager' ||
      !names.includes('host') ||
      !names.includes('x-amz-date')
    ) {
      return fail(
        'InvalidSignatureException',
        'Credential should be scoped to a valid date, region and service, and sign host and x-amz-date.',
      );
    }

    const canonicalHeaders = names
      .map((n) => `${n}:${(header(req.headers, n) ?? '').trim().replace(/\s+/g, ' ')}\n`)
      .join('');
    const [path = '/', query = ''] = req.path.split('?');
    const canonicalQuery = query.split('&').filter(Boolean).sort().join('&');
    // The signature covers the body through its hash: a header that does not match the body fails.
    const payloadHash = sha256Hex(req.body);
    const claimed = header(req.headers, 'x-amz-content-sha256');
    if (claimed !== undefined && claimed !== payloadHash)
      return fail(
        'InvalidSignatureException',
        'The provided x-amz-content-sha256 header does not match what was computed.',
      );
    const canonicalRequest = [req.method, path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join(
      '\n',
    );
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    let key = hmacSha256(`AWS4${this.opts.secretAccessKey}`, date);
    for (const part of [region, service, 'aws4_request']) key = hmacSha256(key, part);
    const expected = hmacSha256(key, stringToSign).toString('hex');
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      return fail(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided.',
      );
    }
    return undefined;
  }
}
