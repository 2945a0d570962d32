/**
 * What the secret sources (lib/wechat/secret-sources.ts, given to loadConfig) and the config share:
 * the context a source runs in, how it fails (SecretProblem, a text naming the reference and never a
 * value, a credential or a cloud service's own message), and the endpoint override for a simulator.
 * See docs/design.md §3.5.
 */

export interface ResolveContext {
  env: NodeJS.ProcessEnv;
  /** Runs `fetch` for the first caller of `key` and hands its promise to every later one. */
  once(key: string, fetch: () => Promise<string>): Promise<string>;
}

/** Resolves the part of a reference after its prefix. */
export type SecretResolver = (name: string, ctx: ResolveContext) => string | Promise<string>;

/** The cloud secret stores a reference may name, by prefix (secrets.ts). */
export interface SecretSources {
  'ssm:'?: SecretResolver;
  'secretsmanager:'?: SecretResolver;
}

export class SecretProblem extends Error {
  override readonly name = 'SecretProblem';
}

/** Per upstream call: a cold start should fail with a message, not hang until the platform kills it. */
export const FETCH_TIMEOUT_MS = 10_000;

export interface Endpoint {
  protocol: 'http:' | 'https:';
  /** host[:port] */
  host: string;
}

/**
 * The endpoint named by the variable `name`, if set: `host[:port]` (https) or
 * `http(s)://host[:port]`. Plain http is only ever used when asked for here.
 */
export function endpointOverride(env: NodeJS.ProcessEnv, name: string, ref: string): Endpoint | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const endpoint = parseEndpoint(value);
  if (!endpoint) throw new SecretProblem(`${ref}: ${name} must be host[:port] or http(s)://host[:port]`);
  return endpoint;
}

/** `host[:port]` (https) or `http(s)://host[:port]` and nothing more, as the Tencent SDKs take it; undefined otherwise. */
export function parseEndpoint(value: string): Endpoint | undefined {
  let url: URL | undefined;
  try {
    url = new URL(value.includes('://') ? value : `https://${value}`);
  } catch {
    return undefined;
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.pathname !== '/' ||
    url.search ||
    url.hash ||
    url.username
  )
    return undefined;
  return { protocol: url.protocol, host: url.host };
}

/** Import and construct an SDK client; a bundle built without it (AWS's SDK on SCF) says so. */
export async function loadClient<T>(ref: string, service: string, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (err) {
    throw new SecretProblem(`${ref}: the ${service} client cannot be loaded in this bundle (${clientSide(err)})`);
  }
}

/** Name and first line of a client-side error (module loading, network, missing region). */
export function clientSide(err: unknown): string {
  if (!(err instanceof Error)) return String(err).split('\n')[0]!.slice(0, 200);
  const first = (err.message.split('\n')[0] ?? '').slice(0, 200);
  return first ? `${err.name}: ${first}` : err.name;
}
