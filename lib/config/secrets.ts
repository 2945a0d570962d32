/**
 * Secret references: `env:NAME`, `ssm:NAME[#VERSION]` (lib/wechat/tencent-ssm.ts) or
 * `secretsmanager:ID[#KEY]` (lib/wechat/aws-secrets.ts) in place of a literal secret. loadConfig
 * resolves them once per cold start, before parsing, each distinct one fetched once; parseConfig
 * resolves env: itself and takes the others from that. Errors name the field and the reference,
 * never a value. See docs/design.md §3.5.
 */
import { ConfigError } from './errors';
import { clientSide, SecretProblem, type ResolveContext, type SecretSources } from './secret-source';

const PREFIXES = ['env:', 'ssm:', 'secretsmanager:'] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The reference prefix of `value`, or undefined for a literal. */
export function referencePrefix(value: string): (typeof PREFIXES)[number] | undefined {
  return PREFIXES.find((prefix) => value.startsWith(prefix));
}

function fromEnv(name: string, env: NodeJS.ProcessEnv): string {
  if (!ENV_NAME.test(name)) throw new SecretProblem('env: reference must name a variable (env:NAME)');
  const value = env[name];
  if (value === undefined || value === '')
    throw new SecretProblem(`environment variable ${name} (from env:${name}) is not set or empty`);
  return value;
}

/** A value that may be a secret reference, and the field it came from (`apps[0].secret`, `WECRED_MASTER_KEY`). */
export interface SecretField {
  field: string;
  value: string;
}

/** Reference → its value: what loadConfig resolved, for parseConfig. */
export type ResolvedSecrets = ReadonlyMap<string, string>;

const NONE: ResolvedSecrets = new Map();

/**
 * The value of a secret field's text: a literal as is, a reference from `resolved`, or an env:
 * reference from `env`. Throws SecretProblem; any other reference must come through loadConfig.
 */
export function resolveText(text: string, env: NodeJS.ProcessEnv, resolved: ResolvedSecrets = NONE): string {
  const prefix = referencePrefix(text);
  if (prefix === undefined) return text;
  const known = resolved.get(text);
  if (known !== undefined) return known;
  if (prefix !== 'env:')
    throw new SecretProblem(`${text}: ${prefix} references are resolved by loadConfig, before parseConfig`);
  return fromEnv(text.slice(prefix.length), env);
}

/**
 * Resolve every reference among `fields`, concurrently, each distinct one once, the cloud ones
 * through `sources`. Fails with the ConfigError of the first field (in the order given) whose
 * reference failed.
 */
export async function resolveSecrets(
  fields: readonly SecretField[],
  env: NodeJS.ProcessEnv,
  sources: SecretSources,
): Promise<ResolvedSecrets> {
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
    const name = value.slice(prefix.length);
    pending.set(
      value,
      (async () => {
        if (prefix === 'env:') return fromEnv(name, env);
        const source = sources[prefix];
        if (source === undefined)
          throw new SecretProblem(`${value}: loadConfig was given no source for ${prefix} references`);
        return source(name, ctx);
      })(),
    );
  }
  await Promise.allSettled(pending.values());

  const resolved = new Map<string, string>();
  for (const { field, value } of fields) {
    const result = pending.get(value);
    if (result === undefined) continue;
    resolved.set(
      value,
      await result.catch((err: unknown) => {
        throw new ConfigError(
          field,
          err instanceof SecretProblem ? err.message : `${value}: cannot be resolved (${clientSide(err)})`,
        );
      }),
    );
  }
  return resolved;
}
