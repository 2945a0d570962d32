/**
 * Where the configuration comes from, and demo mode when there is none: WECRED_CONFIG_JSON (inline
 * JSON) → WECRED_CONFIG (a secret reference holding the JSON, or a path relative to `dir`, which
 * must exist) → wecred.json in `dir` → null (demo mode). Variables set to '' count as unset. Secret
 * references are resolved through the `sources` the caller gives (lib/wechat/secret-sources.ts).
 * See docs/design.md §3.5.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError } from './errors';
import { type Config, parseConfig, parseWith, secretFields } from './schema';
import type { SecretSources } from './secret-source';
import { referencePrefix, resolveSecrets } from './secrets';
import type { AppConfig, RealmConfig, WorkAppConfig } from './types';

export { ConfigError } from './errors';
export { parseConfig } from './schema';

/** The file a configuration is looked for under when nothing names one (`npm run package -- --config` puts it there). */
export const CONFIG_FILE = 'wecred.json';

/**
 * The configuration, or null for demo mode. `dir` is where a relative WECRED_CONFIG path and
 * wecred.json are looked for: the working directory, or a bundle's own folder.
 */
export async function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  dir: string = process.cwd(),
  sources: SecretSources = {},
): Promise<Config | null> {
  const source = await findSource(env, dir, sources);
  if (source === null) return null;
  const raw = parseJson(source.text, source.name);
  return parseConfig(raw, env, await resolveSecrets(secretFields(raw, env), env, sources));
}

/** The config text and what to call it in errors, or null when there is none. */
export async function findSource(
  env: NodeJS.ProcessEnv,
  dir: string,
  sources: SecretSources = {},
): Promise<{ text: string; name: string } | null> {
  const inline = env.WECRED_CONFIG_JSON;
  if (inline) return { text: inline, name: 'WECRED_CONFIG_JSON' };

  const named = env.WECRED_CONFIG;
  if (named && referencePrefix(named) !== undefined) {
    // The whole configuration as one secret: past the 4 KB a serverless environment holds.
    const resolved = await resolveSecrets([{ field: 'WECRED_CONFIG', value: named }], env, sources);
    return { text: resolved.get(named)!, name: named };
  }
  if (named) {
    const file = resolve(dir, named);
    const text = await readText(file);
    if (text === null) throw new ConfigError('WECRED_CONFIG', `file not found (${file})`);
    return { text, name: file };
  }

  const local = resolve(dir, CONFIG_FILE);
  const text = await readText(local);
  return text === null ? null : { text, name: local };
}

/** The file's text, or null when it does not exist. */
async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new ConfigError(file, `cannot read (${code ?? String(err)})`);
  }
}

/** `text` as JSON, or the ConfigError naming `source` (without quoting the text). */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError(source, `not valid JSON (${jsonProblem(err, text)})`);
  }
}

/**
 * V8's JSON errors may quote a slice of the input, which can hold a secret: keep the kind of
 * error and where it is, drop the quote (and an offending character that is not punctuation).
 */
export function jsonProblem(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const position = /at position (\d+)/.exec(message)?.[1];
  let problem = (message.split('"')[0] ?? '')
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/\s*in JSON at position \d+|\s*at position \d+/, '')
    .replace(/[\s,.]+$/, '')
    .replace(/token '[^{}[\],:]'/, 'token');
  if (position !== undefined) {
    const before = text.replace(/^\uFEFF/, '').slice(0, Number(position));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    problem += ` at line ${line}, column ${column}`;
  }
  problem = problem || 'syntax error';
  return problem.charAt(0).toLowerCase() + problem.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Demo mode: the in-process simulator stands in for WeChat. These secrets exist nowhere else.

export const DEMO_APPS: readonly Readonly<AppConfig>[] = [
  {
    appid: 'wxd0000000000000a1',
    secret: 'demo0secret0000000000000000000a1',
    type: 'mp',
    tokenMode: 'stable',
    token: 'demotoken',
    default: true,
  },
  {
    appid: 'wxd0000000000000b2',
    secret: 'demo0secret0000000000000000000b2',
    type: 'mina',
    tokenMode: 'stable',
    default: false,
  },
];

/** One WeCom app (agent) of a demo corp. */
export const DEMO_WORK: readonly Readonly<WorkAppConfig>[] = [
  { corpid: 'wwd00000000000000c', kind: 'agent', agentid: '1000002', secret: 'demo0work0secret000000000000000c' },
];

/**
 * Seals demo sessions and registered demo agents. Public like every demo secret (there is nothing
 * real to protect), and fixed, so what the file store keeps still opens after a restart.
 */
const DEMO_MASTER_KEY = createHash('sha256').update('wecred demo master key').digest();

export const DEMO_REALM: Readonly<RealmConfig> = {
  key: 'demo',
  secret: 'demo0realm0secret000000000000000',
  apps: [],
  interfaces: [],
  admin: true,
  legacyMd5: true,
  forceAllowance: null,
};

/** The demo configuration file, but for the upstream URLs (demoConfig). */
const DEMO_FILE = {
  apps: DEMO_APPS,
  work: DEMO_WORK,
  realms: [DEMO_REALM],
  // OAuth in demo mode may only send the browser back to this machine (any path). No
  // callbackBase: the /oauth routes stay off, oauth.authorize_url works.
  oauth: { redirects: ['^https?://(localhost|127\\.0\\.0\\.1)(:\\d+)?/.*'] },
};

/**
 * Settings only a real deployment has: demo mode, whose secrets are public, refuses to run against
 * them (its realm would open the real store, its key would seal real data).
 */
const PRODUCTION_SETTINGS = ['WECRED_STORE', 'WECRED_MASTER_KEY'] as const;

/** The ConfigError that stops demo mode when `env` has production settings; undefined when the demo may start. */
export function demoRefusal(env: NodeJS.ProcessEnv): ConfigError | undefined {
  const set = PRODUCTION_SETTINGS.filter((name) => env[name]);
  if (set.length === 0) return undefined;
  return new ConfigError(
    set.join(' and '),
    `set, but no configuration was found (wecred.json, WECRED_CONFIG or WECRED_CONFIG_JSON): demo mode refuses to start against production settings; give the configuration, or unset ${set.length > 1 ? 'them' : 'it'} for the demo`,
  );
}

/** Demo configuration: every upstream (authorize pages included) points at the simulator; WECRED_BASE_PATH and WECRED_TRUST_GATEWAY still apply. */
export function demoConfig(simUrl: string, env: NodeJS.ProcessEnv = process.env): Config {
  const upstream = { mp: simUrl, work: simUrl, showqrcode: simUrl, open: simUrl };
  return { ...parseWith({ ...DEMO_FILE, upstream }, env, undefined, true), masterKey: DEMO_MASTER_KEY };
}
