/**
 * `npm run deploy:scf [-- --file deploy/scf.json --name --region --type event|web --zip]`: creates
 * or updates the SCF function from dist/wecred-scf.zip through Tencent's SDK, then its timer and
 * Function URL, changing only what differs; prints the URL and the egress IP for WeChat's
 * allow-list. Credentials: TENCENTCLOUD_SECRETID / SECRETKEY (/ SESSIONTOKEN). docs/design.md §4.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { scf } from 'tencentcloud-sdk-nodejs-scf';
import * as v from 'valibot';
import { environmentTooLarge } from '../lib/config/placement';
import { parseEndpoint } from '../lib/config/secret-source';

type Client = InstanceType<typeof scf.v20180416.Client>;
type Fn = Awaited<ReturnType<Client['GetFunction']>>;

/** A failed deploy: one line saying which step and why; `code` is Tencent Cloud's error code, if any. */
export class DeployError extends Error {
  override readonly name = 'DeployError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The configuration a deploy sets, as CreateFunction and UpdateFunctionConfiguration take it. */
interface ScfConfig {
  MemorySize: number;
  Timeout: number;
  Role: string;
  Environment: { Variables: { Key: string; Value: string }[] };
  VpcConfig: { VpcId: string; SubnetId: string };
  PublicNetConfig: { PublicNetStatus: string; EipConfig: { EipStatus: string } };
}

// CreateFunction's name rule (cloud.tencent.com/document/api/583/18586).
const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$/;

/** deploy/scf.json; every field has a default but the region, which TENCENTCLOUD_REGION may give. */
const SPEC = v.strictObject({
  name: v.optional(v.pipe(v.string(), v.regex(FUNCTION_NAME, 'must be 2-60 letters, digits, - or _')), 'wecred'),
  region: v.optional(v.pipe(v.string(), v.regex(/^[a-z]+(-[a-z0-9]+)+$/, 'must be a region such as ap-guangzhou'))),
  /** event: main_handler, with the timer; web: scf_bootstrap on port 9000, refreshing on demand. */
  type: v.optional(v.picklist(['event', 'web'], 'must be "event" or "web"'), 'event'),
  zip: v.optional(v.string(), 'dist/wecred-scf.zip'),
  runtime: v.optional(v.string(), 'Nodejs20.19'),
  memorySize: v.optional(v.number(), 128),
  timeout: v.optional(v.number(), 30),
  /** The CAM role the function runs as (for ssm: references). */
  role: v.optional(v.string(), ''),
  vpc: v.optional(v.strictObject({ vpcId: v.string(), subnetId: v.string() })),
  /** Public network through one fixed egress IP: the address WeChat's allow-list needs. */
  eip: v.optional(v.boolean(), true),
  /** The function's environment; `${env:NAME}` takes NAME from the deploying machine's environment. */
  environment: v.optional(v.record(v.string(), v.string()), {}),
  timer: v.optional(v.strictObject({ name: v.string(), cron: v.string() }), {
    name: 'wecred-refresh',
    cron: '0 */5 * * * * *',
  }),
});
export type DeploySpec = v.InferOutput<typeof SPEC>;

/** The deploy file `text` (named `source` in errors) with `overrides` over it, `${env:NAME}` expanded. */
export function readSpec(
  text: string | undefined,
  source: string,
  overrides: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): DeploySpec & { region: string } {
  let raw: unknown = {};
  try {
    if (text !== undefined) raw = JSON.parse(text);
  } catch {
    throw new DeployError(`${source} is not valid JSON`);
  }
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const parsed = v.safeParse(SPEC, { ...(raw as object), ...given });
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new DeployError(`${source}: ${v.getDotPath(issue) ?? '(file)'}: ${issue.message}`);
  }
  const spec = parsed.output;
  const region = spec.region ?? env.TENCENTCLOUD_REGION;
  if (!region) throw new DeployError(`${source}: no region: set "region" or TENCENTCLOUD_REGION`);
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.environment)) {
    environment[name] = value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, from: string) => {
      const found = env[from];
      if (!found) throw new DeployError(`${source}: environment.${name}: \${env:${from}} is not set`);
      return found;
    });
  }
  return { ...spec, region, environment };
}

export interface DeployResult {
  /** What changed, one short line each. */
  steps: string[];
  url?: string;
  egressIp?: string;
}

/**
 * Create or update the function `spec` describes with the zip's bytes. Each change waits for the
 * function to be Active again (cloud.tencent.com/document/api/583/47175); a failed step throws a
 * DeployError and leaves the rest undone (SCF keeps serving what it had).
 */
export async function deployScf(
  spec: DeploySpec & { region: string },
  zip: Buffer,
  client: Client,
  opts: { pollMs?: number } = {},
): Promise<DeployResult> {
  const tooLarge = environmentTooLarge(spec.environment);
  if (tooLarge) throw new DeployError(tooLarge);
  const secrets = Object.values(spec.environment).filter((value) => value.length >= 8);
  const step = stepper(secrets);
  const FunctionName = spec.name;
  const Namespace = 'default';
  const steps: string[] = [];
  const web = spec.type === 'web';
  const config: ScfConfig = {
    MemorySize: spec.memorySize,
    Timeout: spec.timeout,
    Role: spec.role,
    Environment: { Variables: Object.entries(spec.environment).map(([Key, Value]) => ({ Key, Value })) },
    VpcConfig: { VpcId: spec.vpc?.vpcId ?? '', SubnetId: spec.vpc?.subnetId ?? '' },
    PublicNetConfig: { PublicNetStatus: 'ENABLE', EipConfig: { EipStatus: spec.eip ? 'ENABLE' : 'DISABLE' } },
  };
  const zipFile = zip.toString('base64');
  const sha = createHash('sha256').update(zip).digest('hex');
  const waitActive = (what: string) => waitForActive(client, FunctionName, what, step, opts.pollMs ?? 1000);

  let fn = await step('GetFunction', () => client.GetFunction({ FunctionName, Namespace })).catch((err) => {
    if (err instanceof DeployError && err.code === 'ResourceNotFound.FunctionName') return undefined;
    throw err;
  });
  if (fn === undefined) {
    // CreateFunction, cloud.tencent.com/document/api/583/18586; Type HTTP is a web function.
    await step('CreateFunction', () =>
      client.CreateFunction({
        FunctionName,
        Namespace,
        Type: web ? 'HTTP' : 'Event',
        ...(web ? {} : { Handler: 'index.main_handler' }),
        Runtime: spec.runtime,
        Code: { ZipFile: zipFile },
        ...config,
      }),
    );
    fn = await waitActive('CreateFunction');
    steps.push(`created ${web ? 'web' : 'event'} function ${FunctionName} in ${spec.region}`);
  } else {
    if ((fn.Type === 'HTTP') !== web)
      throw new DeployError(
        `${FunctionName} is ${fn.Type === 'HTTP' ? 'a web' : 'an event'} function: SCF cannot change a function's type; deploy under another name`,
      );
    if (fn.Runtime !== spec.runtime)
      throw new DeployError(`${FunctionName} runs ${fn.Runtime}: SCF sets the runtime at creation only (583/18580)`);
    fn = await waitActive('the previous change');
    // GetFunctionAddress (583/37164) gives the deployed code's SHA-256.
    const deployed = await step('GetFunctionAddress', () => client.GetFunctionAddress({ FunctionName, Namespace }));
    if (deployed.CodeSha256?.toLowerCase() !== sha) {
      // UpdateFunctionCode, cloud.tencent.com/document/api/583/18581.
      await step('UpdateFunctionCode', () =>
        client.UpdateFunctionCode({
          FunctionName,
          Namespace,
          ZipFile: zipFile,
          ...(web ? {} : { Handler: 'index.main_handler' }),
        }),
      );
      fn = await waitActive('UpdateFunctionCode');
      steps.push('code updated');
    } else steps.push('code unchanged');
    const changed = configChanges(fn, config);
    if (changed.length > 0) {
      // UpdateFunctionConfiguration, cloud.tencent.com/document/api/583/18580: the whole wanted configuration.
      await step('UpdateFunctionConfiguration', () =>
        client.UpdateFunctionConfiguration({ FunctionName, Namespace, ...config }),
      );
      fn = await waitActive('UpdateFunctionConfiguration');
      steps.push(`configuration updated (${changed.join(', ')})`);
    } else steps.push('configuration unchanged');
  }

  const triggers = fn.Triggers ?? [];
  // CreateTrigger, cloud.tencent.com/document/api/583/18589. SCF web functions take no timer
  // (583/40691): they refresh on demand. An existing trigger is left as it is.
  if (!web) {
    if (triggers.some((t) => t.Type === 'timer' && t.TriggerName === spec.timer.name)) {
      steps.push(`timer ${spec.timer.name} kept`);
    } else {
      await step('CreateTrigger (timer)', () =>
        client.CreateTrigger({
          FunctionName,
          Namespace,
          TriggerName: spec.timer.name,
          Type: 'timer',
          // Timer triggers (583/9708): a 7-field cron, seconds first.
          TriggerDesc: spec.timer.cron,
          Qualifier: '$DEFAULT',
          Enable: 'OPEN',
        }),
      );
      steps.push(`timer ${spec.timer.name} created (${spec.timer.cron})`);
    }
  }
  if (triggers.some((t) => t.Type === 'http')) {
    steps.push('function URL kept');
  } else {
    // The Function URL (583/100227): CreateTrigger with Type http, open to the internet; callers are
    // authenticated by wecred itself.
    await step('CreateTrigger (function URL)', () =>
      client.CreateTrigger({
        FunctionName,
        Namespace,
        TriggerName: 'wecred-url',
        Type: 'http',
        TriggerDesc: JSON.stringify({ AuthType: 'NONE', NetConfig: { EnableIntranet: false, EnableExtranet: true } }),
        Qualifier: '$DEFAULT',
      }),
    );
    steps.push('function URL created');
  }

  const final = await step('GetFunction', () => client.GetFunction({ FunctionName, Namespace }));
  return { steps, url: functionUrl(final), egressIp: egressIp(final) };
}

/** Runs one API call; a failure becomes a DeployError naming the step (and no value we sent). */
function stepper(secrets: string[]) {
  return async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      const e = err as { code?: string; message?: string; requestId?: string };
      let message = (e.message ?? String(err)).split('\n')[0]!;
      for (const secret of secrets) message = message.replaceAll(secret, '***');
      throw new DeployError(
        `${what} failed: ${e.code ? `${e.code}: ` : ''}${message}${e.requestId ? ` (RequestId ${e.requestId})` : ''}`,
        e.code,
      );
    }
  };
}

async function waitForActive(
  client: Client,
  FunctionName: string,
  what: string,
  step: ReturnType<typeof stepper>,
  pollMs: number,
): Promise<Fn> {
  const deadline = Date.now() + 5 * 60_000;
  for (let delay = pollMs; ; delay = Math.min(delay * 2, 5000)) {
    const fn = await step('GetFunction', () => client.GetFunction({ FunctionName, Namespace: 'default' }));
    // UpdateFailed after a finished update is a function one may update again.
    if (fn.Status === 'Active' || (fn.Status === 'UpdateFailed' && what === 'the previous change')) return fn;
    if (fn.Status?.endsWith('Failed')) {
      const why = (fn.StatusReasons ?? []).map((r) => `${r.ErrorCode}: ${r.ErrorMessage}`).join('; ');
      throw new DeployError(
        `${what} ended ${fn.Status}${why ? ` (${why})` : ''}; SCF keeps serving the code and configuration it had`,
      );
    }
    if (Date.now() > deadline) throw new DeployError(`${what}: ${FunctionName} is still ${fn.Status} after 5 minutes`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** The configuration fields whose deployed value differs from the wanted one. */
function configChanges(fn: Fn, want: ScfConfig): string[] {
  const vars = (list: { Key?: string; Value?: string }[] | undefined) =>
    JSON.stringify((list ?? []).map((x) => `${x.Key}=${x.Value}`).sort());
  const changed: string[] = [];
  if (fn.MemorySize !== want.MemorySize) changed.push('MemorySize');
  if (fn.Timeout !== want.Timeout) changed.push('Timeout');
  if ((fn.Role ?? '') !== want.Role) changed.push('Role');
  if (vars(fn.Environment?.Variables) !== vars(want.Environment.Variables)) changed.push('Environment');
  if (
    (fn.VpcConfig?.VpcId ?? '') !== want.VpcConfig.VpcId ||
    (fn.VpcConfig?.SubnetId ?? '') !== want.VpcConfig.SubnetId
  )
    changed.push('VpcConfig');
  const net = fn.PublicNetConfig;
  if (
    net?.PublicNetStatus !== want.PublicNetConfig.PublicNetStatus ||
    (net.EipConfig?.EipStatus ?? 'DISABLE') !== want.PublicNetConfig.EipConfig.EipStatus
  )
    changed.push('PublicNetConfig');
  return changed;
}
/**
 * The Function URL. Its API page (583/100227) does not show where the address comes back; the
 * http trigger's TriggerDesc carries it as NetConfig.ExtranetUrl.
 */
function functionUrl(fn: Fn): string | undefined {
  for (const t of fn.Triggers ?? []) {
    if (t.Type !== 'http') continue;
    try {
      const url = JSON.parse(t.TriggerDesc ?? '{}')?.NetConfig?.ExtranetUrl;
      if (typeof url === 'string' && url) return url;
    } catch {
      // A description we cannot read: no URL to print.
    }
  }
  return undefined;
}

/** The fixed egress IP (GetFunction's PublicNetConfig.EipConfig, else EipConfig). */
function egressIp(fn: Fn): string | undefined {
  return fn.PublicNetConfig?.EipConfig?.EipAddress?.[0] ?? fn.EipConfig?.Eips?.[0];
}

/** The SDK client; WECRED_SCF_ENDPOINT (host[:port] or http(s)://host[:port]) replaces scf.tencentcloudapi.com. */
export function scfClient(region: string, env: NodeJS.ProcessEnv): Client {
  const secretId = env.TENCENTCLOUD_SECRETID;
  const secretKey = env.TENCENTCLOUD_SECRETKEY;
  if (!secretId || !secretKey) throw new DeployError('set TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY');
  const override = env.WECRED_SCF_ENDPOINT ? parseEndpoint(env.WECRED_SCF_ENDPOINT) : undefined;
  if (env.WECRED_SCF_ENDPOINT && !override)
    throw new DeployError('WECRED_SCF_ENDPOINT must be host[:port] or http(s)://host[:port]');
  return new scf.v20180416.Client({
    credential: {
      secretId,
      secretKey,
      ...(env.TENCENTCLOUD_SESSIONTOKEN ? { token: env.TENCENTCLOUD_SESSIONTOKEN } : {}),
    },
    region,
    profile: {
      httpProfile: override ? { endpoint: override.host, protocol: `${override.protocol}//` } : {},
    },
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      name: { type: 'string' },
      region: { type: 'string' },
      type: { type: 'string' },
      zip: { type: 'string' },
    },
  });
  const file = values.file ?? 'deploy/scf.json';
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && values.file === undefined) return undefined;
    throw new DeployError(`${file}: cannot read (${err.code ?? err.message})`);
  });
  const { file: _, ...overrides } = values;
  const spec = readSpec(text, file, overrides, process.env);
  const zip = await readFile(spec.zip).catch(() => {
    throw new DeployError(`${spec.zip} not found: run npm run package first`);
  });
  const result = await deployScf(spec, zip, scfClient(spec.region, process.env));
  for (const s of result.steps) console.log(`deploy:scf: ${s}`);
  console.log(`Function URL: ${result.url ?? '(not reported: see the function URL page of the SCF console)'}`);
  console.log(
    result.egressIp
      ? `Egress IP (put it on each app's IP allow-list in the WeChat console): ${result.egressIp}`
      : 'Egress IP: none fixed (eip is off): WeChat will see changing addresses and answer 40164',
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`deploy:scf: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
