/**
 * The `wecred` command as `npm run build` bundles it (dist/cli.mjs, the package's bin): config
 * check gives the server's own lines (checked against the bundled server refusing the same
 * files), status renders for a demo server, calls, keygen, migrate, --json and usage errors. docs/design.md §2.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_APPS, DEMO_REALM } from '../lib/config/load';
import { parseMasterKey } from '../lib/config/master-key';
import { startProcess, type ServerProcess } from './support/processes';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'dist/cli.mjs');
let dir: string;

beforeAll(async () => {
  await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: root });
  dir = await mkdtemp(join(tmpdir(), 'wecred-cli-'));
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node dist/cli.mjs ...args` in the scratch directory, with only `env` (and PATH). */
function wecred(args: string[], env: Record<string, string> = {}, script = CLI): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd: dir, env: { PATH: process.env.PATH, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The README's configuration example, as a user would copy it. */
async function readmeConfig(): Promise<Record<string, any>> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'));
  return JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!);
}

/** What the README's env: references name, set as a deployment would set them. */
const SECRETS = {
  WX_SECRET: 'wx-app-secret-0123',
  MINA_SECRET: 'mina-app-secret-0123',
  WECOM_AGENT_SECRET: 'wecom-agent-secret-0123',
  WECRED_OAUTH_SECRET: 'oauth-result-secret-0123456789abcdef',
  COS_SECRET_ID: 'AKIDcospermanent000000000000000000000',
  COS_SECRET_KEY: 'cos-permanent-secret-key-0123456789',
  WECRED_METRICS_BEARER: 'metrics-bearer-0123456789',
  WECRED_ROBOT_URL: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key-0123',
};

describe('wecred config check', () => {
  it("accepts the README's example, listing the references it did not resolve offline", async () => {
    await writeFile(join(dir, 'wecred.json'), JSON.stringify(await readmeConfig(), null, 2));
    const bare = await wecred(['config', 'check']);
    expect(bare).toMatchObject({ code: 0, stderr: '' });
    expect(bare.stdout).toContain(`${join(dir, 'wecred.json')}: ok (2 apps, 1 WeCom agents, 2 realms, store file)`);
    expect(bare.stdout).toContain('not resolved offline: apps[0].secret: env:WX_SECRET');
    const withEnv = await wecred(['config', 'check', 'wecred.json', '--json'], SECRETS);
    expect(withEnv.code).toBe(0);
    expect(JSON.parse(withEnv.stdout)).toEqual({ ok: true, source: join(dir, 'wecred.json'), unresolved: [] });
  });

  it("refuses five typical mistakes with the server's exact line, exit code 1", async () => {
    const base = await readmeConfig();
    const mistakes: [string, (c: Record<string, any>) => unknown, string][] = [
      ['empty secret', (c) => (c.apps[1].secret = ''), 'config: apps[1].secret: must be a non-empty string'],
      [
        'short realm secret',
        (c) => (c.realms[0].secret = 'short'),
        'config: realms[0].secret: must be at least 16 characters',
      ],
      ['typo', (c) => (c.realm = c.realms), 'config: realm: unknown key (did you mean "realms"?)'],
      [
        'callbackBase without secret',
        (c) => delete c.oauth.secret,
        'config: oauth.secret: is required with oauth.callbackBase (it signs the login results)',
      ],
      ['trailing comma', () => undefined, 'not valid JSON'],
    ];
    const results = await Promise.all(
      mistakes.map(async ([name, mistake], i) => {
        const config = structuredClone(base);
        mistake(config);
        const file = join(dir, `mistake-${i}.json`);
        const text = JSON.stringify(config, null, 2);
        await writeFile(file, name === 'trailing comma' ? text.replace(/\n}$/, ',\n}') : text);
        const [cli, json, server] = await Promise.all([
          wecred(['config', 'check', file], SECRETS),
          wecred(['config', 'check', file, '--json'], SECRETS),
          wecred([], { ...SECRETS, WECRED_CONFIG: file, PORT: '0' }, join(root, 'dist/wecred-server.mjs')),
        ]);
        return { cli, json, server };
      }),
    );
    results.forEach(({ cli, json, server }, i) => {
      const line = cli.stderr.trimEnd();
      expect(line).toContain(mistakes[i]![2]);
      expect(line.split('\n')).toHaveLength(1);
      expect(cli).toMatchObject({ code: 1, stdout: '' });
      expect(server.code).toBe(1);
      expect(server.stderr.trimEnd()).toBe(line);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({ error: { message: line } });
    });
    expect(results[4]!.cli.stderr).toMatch(
      /^config: \/.*mistake-4\.json: not valid JSON \(.* at line \d+, column \d+\)\n$/,
    );
  });

  it('without any configuration says the server would run demo mode', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'wecred-cli-empty-'));
    try {
      const r = await new Promise<Run>((resolve) =>
        execFile(
          process.execPath,
          [CLI, 'config', 'check'],
          { cwd: empty, env: { PATH: process.env.PATH } },
          (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
        ),
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('the server would run demo mode');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('wecred against a demo server', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    const home = await mkdtemp(join(dir, 'demo-'));
    server = await startProcess([join(root, 'dist/wecred-server.mjs')], { PORT: '0' }, { cwd: home });
  }, 30_000);
  afterAll(() => server?.stop());
  const demo = () => ({ WECRED_URL: server.url, WECRED_REALM: DEMO_REALM.key, WECRED_REALM_SECRET: DEMO_REALM.secret });
  const [mp] = DEMO_APPS;

  it('call prints returnData; status renders a table of the credentials', async () => {
    const call = await wecred(['call', 'access_token', JSON.stringify({ appid: mp!.appid })], demo());
    expect(call.code).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ appid: mp!.appid, access_token: expect.any(String) });

    const status = await wecred(['status'], demo());
    expect(status).toMatchObject({ code: 0, stderr: '' });
    const lines = status.stdout.split('\n');
    expect(lines[0]).toMatch(/^store file, server time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(lines[2]).toMatch(/^CREDENTIAL +STATE +EXPIRES +REFRESHED +FETCHES TODAY +BUDGETS$/);
    const token = lines.find((l) => l.startsWith(`mp:${mp!.appid}:token `));
    expect(token).toMatch(/ fresh +in (1h 59m|2h) +\d+s ago +1: refresh 1 \(demo 1\) +force 0\/20$/);
    expect(lines.find((l) => l.startsWith(`mp:${mp!.appid}:ticket:jsapi `))).toMatch(/ none +- +- +0 +-$/);
    expect(status.stdout).toMatch(/\nwork:wwd00000000000000c:1000002:ticket +none .* hour 0\/100 /);

    const json = await wecred(['status', '--json'], demo());
    const data = JSON.parse(json.stdout);
    expect(data.credentials.find((c: any) => c.key === `mp:${mp!.appid}:token`)).toMatchObject({ fresh: true });
  });

  it('a refused call exits 1 with the returnCode; --json prints the error object', async () => {
    const wrong = { ...demo(), WECRED_REALM_SECRET: 'not-the-demo-secret-0123' };
    const human = await wecred(['call', 'access_token'], wrong);
    expect(human).toMatchObject({ code: 1, stdout: '' });
    expect(human.stderr).toBe('access_token: the request signature does not match (returnCode 7002)\n');
    const json = await wecred(['status', '--json'], wrong);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        message: 'status: the request signature does not match (returnCode 7002)',
        returnCode: 7002,
        code: 'bad_signature',
        status: 200,
      },
    });
    const unsigned = await wecred(['call', 'jsapi.config', '{"url":"https://example.com/p#x"}'], {
      WECRED_URL: server.url,
    });
    expect(JSON.parse(unsigned.stdout)).toMatchObject({
      appId: mp!.appid,
      signature: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
  });
});

describe('wecred keygen, migrate and usage', () => {
  it('keygen gives a new master key the server accepts', async () => {
    const [a, b] = await Promise.all([wecred(['keygen']), wecred(['keygen', '--json'])]);
    expect(a.code).toBe(0);
    expect(parseMasterKey(a.stdout.trim())).toHaveLength(32);
    expect(JSON.parse(b.stdout).masterKey).not.toBe(a.stdout.trim());
  });

  it('migrate says what it did to the store, and why it failed', async () => {
    const memory = await wecred(['migrate'], { WECRED_STORE: 'memory:' });
    expect(memory).toMatchObject({ code: 0, stdout: 'store "memory:" keeps no schema: nothing to migrate\n' });
    const gone = await wecred(['migrate', '--json'], { WECRED_STORE: 'mysql://root:pw@127.0.0.1:1/wecred' });
    expect(gone.code).toBe(1);
    expect(JSON.parse(gone.stdout).error.message).toMatch(/^db:migrate failed: /);
    expect(gone.stdout).not.toContain(':pw@');
  });

  it('--help reads as help; a wrong command or para is a usage error (exit 2)', async () => {
    const help = await wecred(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['call INTERFACE', 'status', 'config check [FILE]', 'keygen', 'migrate', '--json'])
      expect(help.stdout).toContain(command);
    const wrong = [[], ['bogus'], ['call'], ['call', 'access_token', '[1]'], ['config'], ['status', '--nope']];
    const runs = await Promise.all(wrong.map((args) => wecred(args)));
    runs.forEach((r, i) => {
      expect(r.code, wrong[i]!.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^wecred: .+\n\nwecred: the command line/);
    });
  });
});
