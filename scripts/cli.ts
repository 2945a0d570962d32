#!/usr/bin/env node
/**
 * `wecred`, the command line (README "Command line"): call an interface, read the credentials'
 * status, check a configuration offline, make a master key, migrate the store. `npm run build`
 * bundles it into dist/cli.mjs, the package's bin. Exit codes: 0 done, 1 refused or failed, 2 usage.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { WecredClient, WecredError } from '../client/src/index';
import { ConfigError } from '../lib/config/errors';
import { checkConfig } from './cli/config-check';
import { migrateStore } from './cli/migrate';
import { renderStatus } from './cli/status';

const HELP = `wecred: the command line of a wecred credential server

Usage:
  wecred call INTERFACE [PARA-JSON]   call an interface of the envelope API and print its returnData
  wecred status                       each credential: state, expiry, last refresh, fetches today, budgets
  wecred config check [FILE]          check a configuration offline, as the server does at start-up
  wecred keygen                       a new WECRED_MASTER_KEY: 32 random bytes, base64
  wecred migrate                      prepare the store (what npm run db:migrate does)

Options:
  --json        one JSON document on stdout, failures too ({"error": {...}})
  -h, --help    this help

Environment (call, status):
  WECRED_URL            the server, with any base path (default http://127.0.0.1:3030)
  WECRED_REALM          the realm key that signs the calls (status needs an admin realm)
  WECRED_REALM_SECRET   its secret
config check reads FILE, else what the server reads: WECRED_CONFIG_JSON, WECRED_CONFIG, ./wecred.json.
migrate prepares the store WECRED_STORE names, else the configuration's "store".

Examples:
  WECRED_REALM=biz WECRED_REALM_SECRET=… wecred call access_token '{"appid":"wx0123456789abcdef"}'
  WECRED_REALM=ops WECRED_REALM_SECRET=… wecred status
  wecred config check wecred.json && echo ok
  export WECRED_MASTER_KEY=$(wecred keygen)
`;

class UsageError extends Error {}

interface Output {
  json: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Runs one command; its exit code. */
async function main(argv: string[], env: NodeJS.ProcessEnv, cwd: string, out: Output): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
    out.json = values.json === true;
    if (values.help || positionals[0] === 'help') {
      out.stdout(HELP);
      return 0;
    }
    const [command, ...args] = positionals;
    const done = (data: unknown, human: string) => out.stdout(out.json ? `${JSON.stringify(data)}\n` : human);
    switch (command) {
      case 'call': {
        const [name, para = '{}', ...rest] = args;
        if (!name || rest.length) throw new UsageError('usage: wecred call INTERFACE [PARA-JSON]');
        const data = await client(env).call(name, paraObject(para));
        done(data, `${JSON.stringify(data, null, 2)}\n`);
        return 0;
      }
      case 'status': {
        if (args.length) throw new UsageError('usage: wecred status');
        const data = await client(env).status();
        done(data, renderStatus(data));
        return 0;
      }
      case 'config': {
        const [sub, file, ...rest] = args;
        if (sub !== 'check' || rest.length) throw new UsageError('usage: wecred config check [FILE]');
        const check = await checkConfig(file, env, cwd);
        if (!check.config) {
          fail(
            out,
            'no configuration found (FILE, WECRED_CONFIG_JSON, WECRED_CONFIG or ./wecred.json): the server would run demo mode',
          );
          return 1;
        }
        const c = check.config;
        const summary = `${check.source}: ok (${c.apps.length} apps, ${c.work.length} WeCom agents, ${c.realms.length} realms, store ${c.store.split(':')[0]})`;
        const notes = check.unresolved.map((u) => `  not resolved offline: ${u}\n`).join('');
        done({ ok: true, source: check.source, unresolved: check.unresolved }, `${summary}\n${notes}`);
        return 0;
      }
      case 'keygen': {
        if (args.length) throw new UsageError('usage: wecred keygen');
        const key = randomBytes(32).toString('base64');
        done({ masterKey: key }, `${key}\n`);
        return 0;
      }
      case 'migrate': {
        if (args.length) throw new UsageError('usage: wecred migrate');
        const message = await migrateStore(env).catch((err: Error) => {
          throw new Error(`db:migrate failed: ${err.message}`);
        });
        done({ ok: true, message }, `${message}\n`);
        return 0;
      }
      default:
        throw new UsageError(command ? `unknown command ${command}` : 'no command');
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.stderr(`wecred: ${(err as Error).message}\n\n${HELP}`);
      return 2;
    }
    if (err instanceof WecredError) {
      const { returnCode, code, status, errcode } = err;
      fail(out, err.message, { returnCode, code, status, ...(errcode === undefined ? {} : { errcode }) });
    } else if (err instanceof ConfigError) fail(out, err.message);
    else fail(out, (err as Error).message ?? String(err));
    return 1;
  }
}

function fail(out: Output, message: string, fields: Record<string, unknown> = {}): void {
  if (out.json) out.stdout(`${JSON.stringify({ error: { message, ...fields } })}\n`);
  else out.stderr(`${message}\n`);
}

function client(env: NodeJS.ProcessEnv): WecredClient {
  const realm = env.WECRED_REALM || undefined;
  const secret = env.WECRED_REALM_SECRET || undefined;
  if ((realm === undefined) !== (secret === undefined))
    throw new UsageError('set both WECRED_REALM and WECRED_REALM_SECRET, or neither (public interfaces only)');
  return new WecredClient({ url: env.WECRED_URL || 'http://127.0.0.1:3030', ...(realm ? { realm, secret } : {}) });
}

function paraObject(text: string): Record<string, unknown> {
  let para: unknown;
  try {
    para = JSON.parse(text);
  } catch {
    throw new UsageError(`PARA-JSON is not JSON: ${text.slice(0, 80)}`);
  }
  if (typeof para !== 'object' || para === null || Array.isArray(para))
    throw new UsageError('PARA-JSON must be a JSON object, e.g. \'{"appid":"wx0123456789abcdef"}\'');
  return para as Record<string, unknown>;
}

const output: Output = {
  json: false,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};
main(process.argv.slice(2), process.env, process.cwd(), output).then((code) => {
  process.exitCode = code;
});
