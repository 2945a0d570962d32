/**
 * `secretsmanager:ID` and `secretsmanager:ID#KEY`: a text secret from AWS Secrets Manager
 * (GetSecretValue, AWSCURRENT, through @aws-sdk/client-secrets-manager and its default credential
 * chain); ID a name or ARN, KEY one key of a JSON secret. WECRED_SECRETSMANAGER_ENDPOINT replaces the
 * regional endpoint. The SCF bundle stubs @aws-sdk/* out: such a reference fails there, saying so.
 * See docs/design.md §3.5.
 */
import {
  clientSide,
  endpointOverride,
  FETCH_TIMEOUT_MS,
  loadClient,
  SecretProblem,
  type ResolveContext,
} from '../config/secret-source';

// Names are letters, digits and /_+=.@- ; an ARN adds ':'.
const ID = /^[A-Za-z0-9/_+=.@:-]{1,2048}$/;

export async function fromAwsSecretsManager(name: string, ctx: ResolveContext): Promise<string> {
  const ref = `secretsmanager:${name}`;
  const hash = name.indexOf('#');
  const id = hash < 0 ? name : name.slice(0, hash);
  const key = hash < 0 ? undefined : name.slice(hash + 1);
  if (!ID.test(id) || key === '')
    throw new SecretProblem(`${ref}: must be secretsmanager:ID or secretsmanager:ID#KEY (ID a secret name or ARN)`);
  // #KEY lets one secret hold several values (the console's key/value secrets), fetched once:
  // keyed by secret, not by reference: ID#a and ID#b share one call (and the first one's
  // failure, which names the first reference: the one reported, as references resolve in order).
  const text = await ctx.once(`secretsmanager:${id}`, () => fetchSecret(id, ref, ctx.env));
  return key === undefined ? text : jsonKey(text, key, ref);
}

async function fetchSecret(id: string, ref: string, env: NodeJS.ProcessEnv): Promise<string> {
  const endpoint = endpointOverride(env, 'WECRED_SECRETSMANAGER_ENDPOINT', ref);
  const { client, GetSecretValueCommand } = await loadClient(ref, 'AWS Secrets Manager', async () => {
    const sdk = await import('@aws-sdk/client-secrets-manager');
    const client = new sdk.SecretsManagerClient({
      ...(endpoint ? { endpoint: `${endpoint.protocol}//${endpoint.host}` } : {}),
      requestHandler: { connectionTimeout: FETCH_TIMEOUT_MS, requestTimeout: FETCH_TIMEOUT_MS },
    });
    return { client, GetSecretValueCommand: sdk.GetSecretValueCommand };
  });
  let reply: { SecretString?: string; SecretBinary?: unknown };
  try {
    reply = await client.send(new GetSecretValueCommand({ SecretId: id }));
  } catch (err) {
    throw new SecretProblem(`${ref}: ${awsProblem(err)}`);
  } finally {
    client.destroy();
  }
  if (reply.SecretString) return reply.SecretString;
  if (reply.SecretBinary) throw new SecretProblem(`${ref}: the secret holds binary data (SecretBinary), not text`);
  throw new SecretProblem(`${ref}: the secret is empty`);
}

function jsonKey(text: string, key: string, ref: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SecretProblem(`${ref}: #${key} needs a secret whose text is a JSON object`);
  }
  const picked = Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
  if (typeof picked !== 'string' || picked === '')
    throw new SecretProblem(`${ref}: the secret has no non-empty text under "${key}"`);
  return picked;
}

/** By error name for the service's answers: their messages may quote the signed request. */
function awsProblem(err: unknown): string {
  const { name, $fault } = err as { name?: string; $fault?: string };
  if ($fault === undefined) {
    if (name === 'CredentialsProviderError')
      return 'no AWS credentials found (AWS_* variables, a profile or the function role)';
    return `cannot fetch it (${clientSide(err)})`;
  }
  switch (name) {
    case 'ResourceNotFoundException':
      return `no such secret in AWS Secrets Manager (${name})`;
    case 'AccessDeniedException':
      return `not allowed to read this secret (${name}): grant secretsmanager:GetSecretValue (and kms:Decrypt for a customer-managed key) to the function's role`;
    case 'DecryptionFailure':
      return `AWS could not decrypt the secret (${name}): check the KMS key's permissions`;
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'IncompleteSignature':
      return `AWS refused the credentials (${name})`;
    default:
      return `AWS Secrets Manager answered ${name ?? 'an error'}`;
  }
}
