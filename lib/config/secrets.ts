/**
 * Secret references: a secret may be written as `PREFIX:NAME` instead of a literal, and is
 * replaced by the value the resolver for PREFIX finds. Strings without a known prefix are literals.
 *
 * To add a source (Tencent SSM, AWS Secrets Manager), add one entry to SECRET_RESOLVERS.
 * Errors name the field and the reference, never a value.
 */
import { ConfigError } from './errors';

export type SecretResolver = (name: string, field: string, env: NodeJS.ProcessEnv) => string;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fromEnv(name: string, field: string, env: NodeJS.ProcessEnv): string {
  if (!ENV_NAME.test(name)) throw new ConfigError(field, 'env: reference must name a variable (env:NAME)');
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(field, `environment variable ${name} (from env:${name}) is not set or empty`);
  return value;
}

/** Reference prefix → resolver. */
export const SECRET_RESOLVERS: Readonly<Record<string, SecretResolver>> = {
  'env:': fromEnv,
};

/** The resolver prefix of a reference, or undefined for a literal. */
export function referencePrefix(value: string): string | undefined {
  return Object.keys(SECRET_RESOLVERS).find((prefix) => value.startsWith(prefix));
}

/** Resolve `value` (a literal or a reference) for the config field `field`. */
export function resolveSecret(value: string, field: string, env: NodeJS.ProcessEnv = process.env): string {
  const prefix = referencePrefix(value);
  if (prefix === undefined) return value;
  const resolve = SECRET_RESOLVERS[prefix]!;
  return resolve(value.slice(prefix.length), field, env);
}
