/**
 * Secret references: a secret may be written as `PREFIX:NAME` instead of a literal, and is
 * replaced by the value the resolver for PREFIX finds. Strings without a known prefix are literals.
 *
 *   env:NAME                   the environment variable NAME
 *   ssm:NAME[#VERSION]         Tencent Cloud Secrets Manager (tencent-ssm.ts; VERSION defaults to SSM_Current)
 *   secretsmanager:ID[#KEY]    AWS Secrets Manager, ID a name or ARN, KEY a key of a JSON secret (aws-secrets.ts)
 *
 * loadConfig resolves them all once per cold start, before parseConfig (resolveSecrets): at the
 * same time, each distinct reference (and each AWS secret) fetched once. parseConfig resolves
 * env: itself, which needs no I/O, and takes the others from what loadConfig resolved. The cloud
 * SDKs are imported on first use, so a config without such references never loads them.
 *
 * To add a source, add one entry to SECRET_RESOLVERS. Errors name the field and the reference,
 * never a value.
 */
import { fromAwsSecretsManager } from './aws-secrets';
import { ConfigError } from './errors';
import { clientSide, SecretProblem, type ResolveContext, type SecretResolver } from './secret-source';
import { fromTencentSsm } from './tencent-ssm';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fromEnv(name: string, env: NodeJS.ProcessEnv): string {
  if (!ENV_NAME.test(name)) throw new SecretProblem('env: reference must name a variable (env:NAME)');
  const value = env[name];
  if (value === undefined || value === '')
    throw new SecretProblem(`environment variable ${name} (from env:${name}) is not set or empty`);
  return value;
}

/** Reference prefix → resolver. */
export const SECRET_RESOLVERS: Readonly<Record<string, SecretResolver>> = {
  'env:': (name, ctx) => fromEnv(name, ctx.env),
  'ssm:': fromTencentSsm,
  'secretsmanager:': fromAwsSecretsManager,
};

/** The resolver prefix of a reference, or undefined for a literal. */
export function referencePrefix(value: string): string | undefined {
  return Object.keys(SECRET_RESOLVERS).find((prefix) => value.startsWith(prefix));
}

/** A value that may be a secret reference, and the field it came from (`apps[0].secret`, `WECRED_MASTER_KEY`). */
export interface SecretField {
  field: string;
  value: string;
}

/** Reference → its value: what loadConfig resolved, for parseConfig. */
export type ResolvedSecrets = ReadonlyMap<string, string>;

const NONE: ResolvedSecrets = new Map();

function configError(field: string, ref: string, err: unknown): ConfigError {
  return new ConfigError(
    field,
    err instanceof SecretProblem ? err.message : `${ref}: cannot be resolved (${clientSide(err)})`,
  );
}

/**
 * Resolve every reference among `fields`, concurrently, each distinct one once. Fails with the
 * ConfigError of the first field (in the order given) whose reference failed.
 */
export async function resolveSecrets(fields: readonly SecretField[], env: NodeJS.ProcessEnv): Promise<ResolvedSecrets> {
  const fetches = new Map<string, Promise<string>>();
  const ctx: ResolveContext = {
    env,
    once(key, fetch) {
      let pending = fetches.get(key);
      if (pending === undefined) {
        pending = fetch();
        fetches.set(key, pending);
      }
      return pending;
    },
  };
  // Started in field order, so a fetch shared through `once` belongs to the first field using it.
  const pending = new Map<string, Promise<string>>();
  for (const { value } of fields) {
    const prefix = referencePrefix(value);
    if (prefix === undefined || pending.has(value)) continue;
    const resolve = SECRET_RESOLVERS[prefix]!;
    pending.set(value, (async () => resolve(value.slice(prefix.length), ctx))());
  }
  await Promise.allSettled(pending.values());

  const resolved = new Map<string, string>();
  for (const { field, value } of fields) {
    const result = pending.get(value);
    if (result === undefined) continue;
    resolved.set(
      value,
      await result.catch((err: unknown) => {
        throw configError(field, value, err);
      }),
    );
  }
  return resolved;
}

/**
 * The value of `value` for the field `field`, synchronously: a literal as is, a reference from
 * `resolved`, or an env: reference from `env`. Any other reference must come through loadConfig.
 */
export function resolveSecret(
  value: string,
  field: string,
  env: NodeJS.ProcessEnv = process.env,
  resolved: ResolvedSecrets = NONE,
): string {
  const prefix = referencePrefix(value);
  if (prefix === undefined) return value;
  const known = resolved.get(value);
  if (known !== undefined) return known;
  if (prefix !== 'env:')
    throw new ConfigError(field, `${value}: ${prefix} references are resolved by loadConfig, before parseConfig`);
  try {
    return fromEnv(value.slice(prefix.length), env);
  } catch (err) {
    throw configError(field, value, err);
  }
}
