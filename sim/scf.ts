/**
 * Tencent SCF's API (2018-04-16) over the shared API 3.0 server (sim/tc3.ts): the actions a deploy
 * uses, their parameters checked as the pages cited below document them, functions that settle
 * from Creating / Updating to Active (or UpdateFailed) a few reads later, and fault injection.
 * Over 400 lines: each action's documented parameter rules are modelled whole. docs/design.md §8.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fail, type Outcome, type Params, type Tc3Options, Tc3Server } from './tc3';

export interface ScfSimOptions extends Tc3Options {
  /** GetFunction calls after a change that still see Creating / Updating (default 1). */
  settleReads?: number;
}

type Variable = { Key: string; Value: string };

/** A trigger as stored; GetFunction answers it as documented (Enable 1 / 0). */
interface StoredTrigger {
  Type: string;
  TriggerName: string;
  TriggerDesc: string;
  Enable: number;
  Qualifier: string;
}

/** What a function is: its configuration, its code and its triggers. */
export interface ScfFunction {
  FunctionName: string;
  Namespace: string;
  Type: 'Event' | 'HTTP';
  Handler: string;
  Runtime: string;
  MemorySize: number;
  Timeout: number;
  Role: string;
  Variables: Variable[];
  VpcConfig: { VpcId: string; SubnetId: string };
  PublicNetStatus: 'ENABLE' | 'DISABLE';
  EipStatus: 'ENABLE' | 'DISABLE';
  codeSha256: string;
  /** The zip's entry names. */
  files: string[];
  triggers: StoredTrigger[];
}

interface Live {
  fn: ScfFunction;
  Status: string;
  StatusReasons: { ErrorCode: string; ErrorMessage: string }[];
  /** A change accepted but not yet applied: what the function becomes, and after how many reads. */
  pending?: { next: ScfFunction; reads: number; failure?: string };
  eip?: string;
}

const VERSION = '2018-04-16';
// CreateFunction, cloud.tencent.com/document/api/583/18586: 2-60 characters, a letter first, not
// ending in - or _; "file.method" handlers; memory 64 or 128..3072 in 128 MB steps; timeout 1..900 s.
const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$/;
const HANDLER = /^[A-Za-z][A-Za-z0-9_-]*[A-Za-z]\.[A-Za-z][A-Za-z0-9_-]*[A-Za-z]$/;
const RUNTIMES = ['Nodejs12.16', 'Nodejs14.18', 'Nodejs16.13', 'Nodejs18.15', 'Nodejs20.19'];
// Timer triggers, cloud.tencent.com/document/product/583/9708: 7-field cron; names of up to 60 of
// [A-Za-z0-9_-], a letter first (CreateTrigger's own page allows 100: the stricter rule holds).
const TRIGGER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,59}$/;
const CRON = /^(\S+\s+){6}\S+$/;
/** The function's environment, names and values counted (cloud.tencent.com/document/product/583/11637). */
const ENVIRONMENT_LIMIT_BYTES = 4096;
/** Code.ZipFile (583/18586: 50 MB) and UpdateFunctionCode's ZipFile (583/18581: 20 MB), as base64 of at most. */
const ZIP_LIMIT_BYTES = { create: 50 * 1024 * 1024, update: 20 * 1024 * 1024 };

const str = (v: unknown): v is string => typeof v === 'string' && v !== '';
type Failure = { error: string; message: string };
const missing = (name: string): Failure => ({
  error: 'MissingParameter',
  message: `The request is missing a required parameter \`${name}\`.`,
});
const invalid = (name: string, why: string): Failure => ({
  error: `InvalidParameterValue.${name}`,
  message: `${name} ${why}.`,
});

export class ScfSim extends Tc3Server {
  private readonly functions = new Map<string, Live>();
  private readonly updateFailures: string[] = [];
  private readonly settleReads: number;

  private constructor(opts: ScfSimOptions) {
    const self = (): ScfSim => this;
    super(opts, {
      CreateFunction: { version: VERSION, handle: (p) => self().create(p) },
      GetFunction: { version: VERSION, handle: (p) => self().get(p) },
      GetFunctionAddress: { version: VERSION, handle: (p) => self().address(p) },
      UpdateFunctionCode: { version: VERSION, handle: (p) => self().update(p, 'code') },
      UpdateFunctionConfiguration: { version: VERSION, handle: (p) => self().update(p, 'configuration') },
      CreateTrigger: { version: VERSION, handle: (p) => self().createTrigger(p) },
    });
    this.settleReads = opts.settleReads ?? 1;
  }

  static async start(opts: ScfSimOptions): Promise<ScfSim> {
    const sim = new ScfSim(opts);
    await sim.listen();
    return sim;
  }

  /** The function as it is applied (not what a pending change would make it), or undefined. */
  fn(name: string, namespace = 'default'): ScfFunction | undefined {
    const live = this.functions.get(`${namespace}/${name}`);
    return live && structuredClone(live.fn);
  }

  /** Its status as GetFunction would answer it now. */
  status(name: string, namespace = 'default'): string | undefined {
    return this.functions.get(`${namespace}/${name}`)?.Status;
  }

  /** The function's fixed egress IP, once its EIP is enabled. */
  egressIp(name: string, namespace = 'default'): string | undefined {
    return this.functions.get(`${namespace}/${name}`)?.eip;
  }

  /** The next accepted change settles as UpdateFailed with `reason`, leaving the function as it was. */
  failNextUpdate(reason: string): void {
    this.updateFailures.push(reason);
  }

  private find(p: Params): Live | Outcome {
    if (!str(p.FunctionName)) return missing('FunctionName');
    const namespace = p.Namespace ?? 'default';
    if (namespace !== 'default')
      return fail('ResourceNotFound.Namespace', `Namespace ${String(namespace)} does not exist.`);
    return (
      this.functions.get(`default/${p.FunctionName}`) ??
      fail('ResourceNotFound.FunctionName', `Function ${p.FunctionName} does not exist.`)
    );
  }

  private create(p: Params): Outcome {
    if (!str(p.FunctionName)) return missing('FunctionName');
    if (!FUNCTION_NAME.test(p.FunctionName))
      return invalid('FunctionName', 'must be 2-60 letters, digits, - or _, a letter first');
    if ((p.Namespace ?? 'default') !== 'default')
      return fail('ResourceNotFound.Namespace', 'The namespace does not exist.');
    if (this.functions.has(`default/${p.FunctionName}`))
      return fail('ResourceInUse.FunctionName', `Function ${p.FunctionName} already exists.`);
    const code = p.Code as Params | undefined;
    if (typeof code !== 'object' || code === null) return missing('Code');
    const type = p.Type ?? 'Event';
    if (type !== 'Event' && type !== 'HTTP') return invalid('Type', 'must be Event or HTTP');
    const files = unzipNames(code.ZipFile, ZIP_LIMIT_BYTES.create);
    if (typeof files === 'string') return invalid('Code', files);
    if (!str(p.Runtime) || !RUNTIMES.includes(p.Runtime))
      return invalid('Runtime', `must be one of ${RUNTIMES.join(', ')}`);
    const fn: ScfFunction = {
      FunctionName: p.FunctionName,
      Namespace: 'default',
      Type: type,
      Handler: '',
      Runtime: p.Runtime,
      MemorySize: 128,
      Timeout: 3,
      Role: '',
      Variables: [],
      VpcConfig: { VpcId: '', SubnetId: '' },
      PublicNetStatus: 'ENABLE',
      EipStatus: 'DISABLE',
      codeSha256: sha256(code.ZipFile as string),
      files,
      triggers: [],
    };
    const configured = configure(fn, {
      ...p,
      Handler: p.Handler ?? (type === 'HTTP' ? undefined : 'index.main_handler'),
    });
    if ('error' in configured) return configured;
    const problem = checkCode(configured);
    if (problem) return problem;
    const live: Live = { fn: configured, Status: 'Creating', StatusReasons: [] };
    this.functions.set(`default/${fn.FunctionName}`, live);
    // A new function exists at once (GetFunction finds it) but settles like an update.
    live.pending = { next: configured, reads: this.settleReads, failure: this.updateFailures.shift() };
    return { ok: {} };
  }

  private update(p: Params, what: 'code' | 'configuration'): Outcome {
    const live = this.find(p);
    if (!('fn' in live)) return live;
    // Function status, cloud.tencent.com/document/api/583/47175: changes wait for Active.
    if (live.Status !== 'Active' && live.Status !== 'UpdateFailed') {
      return fail(
        what === 'code' ? 'FailedOperation.UpdateFunctionCode' : 'FailedOperation.UpdateFunctionConfiguration',
        `The function is ${live.Status}: this operation cannot be done now, try again later.`,
      );
    }
    let next: ScfFunction | Failure;
    if (what === 'code') {
      // UpdateFunctionCode, cloud.tencent.com/document/api/583/18581.
      const zip = p.ZipFile ?? (p.Code as Params | undefined)?.ZipFile;
      const files = unzipNames(zip, ZIP_LIMIT_BYTES.update);
      if (typeof files === 'string') return invalid('ZipFile', files);
      next = { ...structuredClone(live.fn), codeSha256: sha256(zip as string), files };
      if (p.Handler !== undefined) next = configure(next, { Handler: p.Handler });
    } else {
      // UpdateFunctionConfiguration, cloud.tencent.com/document/api/583/18580: the runtime is set at creation.
      if (p.Runtime !== undefined && p.Runtime !== live.fn.Runtime)
        return invalid('Runtime', 'cannot be changed after the function is created');
      next = configure(structuredClone(live.fn), p);
    }
    if ('error' in next) return next;
    const problem = checkCode(next);
    if (problem) return problem;
    live.Status = 'Updating';
    live.pending = { next, reads: this.settleReads, failure: this.updateFailures.shift() };
    return { ok: {} };
  }

  /** GetFunction, cloud.tencent.com/document/api/583/18584. */
  private get(p: Params): Outcome {
    const live = this.find(p);
    if (!('fn' in live)) return live;
    this.settle(live);
    const { fn } = live;
    const eips = live.eip ? [live.eip] : [];
    return {
      ok: {
        FunctionName: fn.FunctionName,
        Namespace: fn.Namespace,
        Status: live.Status,
        StatusReasons: live.StatusReasons,
        Type: fn.Type,
        Handler: fn.Handler,
        Runtime: fn.Runtime,
        MemorySize: fn.MemorySize,
        Timeout: fn.Timeout,
        Role: fn.Role,
        Environment: { Variables: fn.Variables },
        VpcConfig: fn.VpcConfig,
        PublicNetConfig: {
          PublicNetStatus: fn.PublicNetStatus,
          EipConfig: { EipStatus: fn.EipStatus, EipAddress: eips },
        },
        EipConfig: { EipFixed: fn.EipStatus === 'ENABLE' ? 'TRUE' : 'FALSE', Eips: eips },
        Triggers: fn.triggers.map((t) => ({ ...t, AvailableStatus: 'Available' })),
      },
    };
  }

  /** GetFunctionAddress, cloud.tencent.com/document/api/583/37164: the code's SHA-256 in hex. */
  private address(p: Params): Outcome {
    const live = this.find(p);
    if (!('fn' in live)) return live;
    return { ok: { Url: `https://code.sim.invalid/${live.fn.FunctionName}.zip`, CodeSha256: live.fn.codeSha256 } };
  }

  /** CreateTrigger, cloud.tencent.com/document/api/583/18589 (timer: 583/9708; Function URL: 583/100227). */
  private createTrigger(p: Params): Outcome {
    const live = this.find(p);
    if (!('fn' in live)) return live;
    if (!str(p.TriggerName)) return missing('TriggerName');
    if (!str(p.Type)) return missing('Type');
    const qualifier = p.Qualifier ?? '$LATEST';
    if (qualifier !== '$LATEST' && qualifier !== '$DEFAULT') return invalid('Qualifier', 'must be $LATEST or $DEFAULT');
    if (p.Enable !== undefined && p.Enable !== 'OPEN' && p.Enable !== 'CLOSE')
      return invalid('Enable', 'must be OPEN or CLOSE');
    if (live.fn.triggers.some((t) => t.TriggerName === p.TriggerName && t.Type === p.Type))
      return fail('ResourceInUse.Trigger', `Trigger ${p.TriggerName} already exists.`);
    let desc: string;
    if (p.Type === 'timer') {
      // Web functions take API gateway (and URL) triggers only (cloud.tencent.com/document/product/583/40691).
      if (live.fn.Type === 'HTTP') return invalid('Type', 'timer cannot trigger a web (HTTP) function');
      if (!TRIGGER_NAME.test(p.TriggerName))
        return invalid('TriggerName', 'must be 1-60 letters, digits, - or _, a letter first');
      if (!str(p.TriggerDesc) || !CRON.test(p.TriggerDesc.trim()))
        return invalid('TriggerDesc', 'must be a 7-field cron expression');
      // Sent as the bare expression, answered as {"cron": …}.
      desc = JSON.stringify({ cron: p.TriggerDesc.trim() });
    } else if (p.Type === 'http') {
      let d: { AuthType?: unknown; NetConfig?: { EnableIntranet?: unknown; EnableExtranet?: unknown } };
      try {
        d = JSON.parse(String(p.TriggerDesc));
      } catch {
        return invalid('TriggerDesc', 'must be JSON');
      }
      if (d.AuthType !== 'CAM' && d.AuthType !== 'NONE') return invalid('TriggerDesc', 'AuthType must be CAM or NONE');
      const net = d.NetConfig;
      if (typeof net?.EnableIntranet !== 'boolean' || typeof net.EnableExtranet !== 'boolean')
        return invalid('TriggerDesc', 'NetConfig needs EnableIntranet and EnableExtranet (booleans)');
      // One URL per version or alias.
      if (live.fn.triggers.some((t) => t.Type === 'http' && t.Qualifier === qualifier))
        return fail('ResourceInUse.Trigger', `${qualifier} already has a function URL.`);
      // The pages do not show where the URL comes back; a real TriggerDesc carries it in NetConfig.
      const host = `${randomBytes(6).toString('hex')}-${live.fn.FunctionName}.sim.tencentscf.com`;
      desc = JSON.stringify({
        ...d,
        NetConfig: { ...net, ...(net.EnableExtranet ? { ExtranetUrl: `https://${host}` } : {}) },
      });
    } else {
      return invalid('Type', 'is not a trigger type this sim models (timer, http)');
    }
    const trigger = {
      Type: p.Type,
      TriggerName: p.TriggerName,
      TriggerDesc: desc,
      Enable: p.Enable === 'CLOSE' ? 0 : 1,
      Qualifier: qualifier,
    };
    live.fn.triggers.push(trigger);
    return { ok: { TriggerInfo: trigger } };
  }

  /** A read of a function with a pending change: after `reads` of them it lands, or fails and leaves it as it was. */
  private settle(live: Live): void {
    const pending = live.pending;
    if (!pending || pending.reads-- > 0) return;
    live.pending = undefined;
    if (pending.failure !== undefined) {
      live.Status = live.Status === 'Creating' ? 'CreateFailed' : 'UpdateFailed';
      live.StatusReasons = [{ ErrorCode: 'UpdateFailed', ErrorMessage: pending.failure }];
      return;
    }
    live.fn = pending.next;
    live.Status = 'Active';
    live.StatusReasons = [];
    if (live.fn.EipStatus === 'ENABLE') live.eip ??= `203.0.113.${1 + (this.functions.size % 254)}`;
  }
}

/** The configuration parameters CreateFunction and UpdateFunctionConfiguration share, applied to `fn`. */
function configure(fn: ScfFunction, p: Params): ScfFunction | Failure {
  const out = { ...fn };
  if (p.Handler !== undefined) {
    if (!str(p.Handler) || !HANDLER.test(p.Handler)) return invalid('Handler', 'must be "file.method"');
    out.Handler = p.Handler;
  }
  if (p.MemorySize !== undefined) {
    const m = p.MemorySize;
    if (typeof m !== 'number' || !(m === 64 || (m >= 128 && m <= 3072 && m % 128 === 0)))
      return invalid('MemorySize', 'must be 64 or 128-3072 in steps of 128');
    out.MemorySize = m;
  }
  if (p.Timeout !== undefined) {
    if (typeof p.Timeout !== 'number' || !Number.isInteger(p.Timeout) || p.Timeout < 1 || p.Timeout > 900)
      return invalid('Timeout', 'must be 1-900 seconds');
    out.Timeout = p.Timeout;
  }
  if (p.Role !== undefined) {
    if (typeof p.Role !== 'string') return invalid('Role', 'must be a role name');
    out.Role = p.Role;
  }
  if (p.Environment !== undefined) {
    const vars = (p.Environment as { Variables?: unknown } | null)?.Variables;
    // Variable: "变量的名称/值，不可为空字符" (neither may be empty).
    if (!Array.isArray(vars) || !vars.every((v) => str(v?.Key) && str(v?.Value)))
      return invalid('Environment', 'Variables must be {Key, Value} pairs of non-empty strings');
    let bytes = 0;
    for (const v of vars as Variable[]) bytes += Buffer.byteLength(v.Key) + Buffer.byteLength(v.Value);
    if (bytes > ENVIRONMENT_LIMIT_BYTES)
      return invalid('Environment', `is ${bytes} bytes, over the 4 KB a function may have`);
    out.Variables = (vars as Variable[]).map(({ Key, Value }) => ({ Key, Value }));
  }
  if (p.VpcConfig !== undefined) {
    const vpc = p.VpcConfig as { VpcId?: unknown; SubnetId?: unknown } | null;
    if (
      typeof vpc?.VpcId !== 'string' ||
      typeof vpc.SubnetId !== 'string' ||
      (vpc.VpcId === '') !== (vpc.SubnetId === '')
    )
      return invalid('VpcConfig', 'needs VpcId and SubnetId together');
    out.VpcConfig = { VpcId: vpc.VpcId, SubnetId: vpc.SubnetId };
  }
  if (p.PublicNetConfig !== undefined) {
    const net = p.PublicNetConfig as { PublicNetStatus?: unknown; EipConfig?: { EipStatus?: unknown } } | null;
    const eip = net?.EipConfig?.EipStatus ?? 'DISABLE';
    if (
      (net?.PublicNetStatus !== 'ENABLE' && net?.PublicNetStatus !== 'DISABLE') ||
      (eip !== 'ENABLE' && eip !== 'DISABLE')
    )
      return invalid('PublicNetConfig', 'PublicNetStatus and EipConfig.EipStatus must be ENABLE or DISABLE');
    if (eip === 'ENABLE' && net.PublicNetStatus !== 'ENABLE')
      return invalid('PublicNetConfig', 'a fixed EIP needs public network access');
    out.PublicNetStatus = net.PublicNetStatus;
    out.EipStatus = eip;
  }
  return out;
}

/** The code must hold what the function runs: the handler's file, or a web function's scf_bootstrap. */
function checkCode(fn: ScfFunction): Failure | undefined {
  // Web functions start from scf_bootstrap (cloud.tencent.com/document/product/583/56126).
  if (fn.Type === 'HTTP')
    return fn.files.includes('scf_bootstrap') ? undefined : invalid('Code', 'of a web function needs scf_bootstrap');
  const file = `${fn.Handler.split('.')[0]}.js`;
  return fn.files.includes(file) ? undefined : invalid('Handler', `names ${file}, which the code does not hold`);
}

function sha256(base64: string): string {
  return createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
}

/** The entry names of a base64 zip (its central directory), or what is wrong with it. */
function unzipNames(base64: unknown, limit: number): string[] | string {
  if (!str(base64)) return 'must be a base64 zip file';
  const zip = Buffer.from(base64, 'base64');
  if (zip.length > limit) return `is over ${limit / 1024 / 1024} MB`;
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > zip.length) return 'is not a zip file';
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) return 'is not a zip file';
    const nameLength = zip.readUInt16LE(at + 28);
    names.push(zip.toString('utf8', at + 46, at + 46 + nameLength));
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return names;
}
