/**
 * `wecred config check [FILE]`: the server's own reading and validation of a configuration
 * (lib/config), offline. References the server would fetch (ssm:, secretsmanager:, and env:
 * variables not set here) are not resolved: a stand-in of the right form takes their place and
 * they are listed, so the file's shape is checked without reaching any secret store. docs/design.md §3.5.
 */
import { findSource, parseConfig, parseJson } from '../../lib/config/load';
import { referencePrefix, type SecretField } from '../../lib/config/secrets';
import { secretFields } from '../../lib/config/schema';
import type { Config } from '../../lib/config/types';

export interface ConfigCheck {
  /** Where the configuration came from: a file path or WECRED_CONFIG_JSON; null when there is none (demo mode). */
  source: string | null;
  config?: Config;
  /** Fields whose reference was not resolved offline, e.g. `apps[0].secret: env:WX_SECRET`. */
  unresolved: string[];
}

/** Throws the server's ConfigError (one line, `config: <field>: <problem>`) when the configuration is refused. */
export async function checkConfig(file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): Promise<ConfigCheck> {
  const sourceEnv = file === undefined ? env : { ...env, WECRED_CONFIG: file, WECRED_CONFIG_JSON: '' };
  const source = await findSource(sourceEnv, cwd);
  if (!source) return { source: null, unresolved: [] };
  const raw = parseJson(source.text, source.name);
  const offline = standIns(secretFields(raw, env), env);
  return {
    source: source.name,
    config: parseConfig(raw, env, offline.resolved),
    unresolved: offline.unresolved,
  };
}

/** A value of the form each field needs, for references that are not resolved here. */
function standIns(fields: SecretField[], env: NodeJS.ProcessEnv) {
  const resolved = new Map<string, string>();
  const unresolved: string[] = [];
  for (const { field, value } of fields) {
    const prefix = referencePrefix(value);
    if (prefix === undefined || (prefix === 'env:' && env[value.slice(prefix.length)])) continue;
    unresolved.push(`${field}: ${value}`);
    resolved.set(
      value,
      field === 'store' || field === 'WECRED_STORE'
        ? 'memory:'
        : field === 'WECRED_MASTER_KEY'
          ? Buffer.alloc(32).toString('base64')
          : field.endsWith('.encodingAESKey')
            ? 'a'.repeat(43)
            : field.startsWith('alerts.')
              ? 'https://stand-in.invalid/unresolved-webhook'
              : 'stand-in-for-an-unresolved-secret-reference-0123456789',
    );
  }
  return { resolved, unresolved };
}
