/**
 * The Dockerfile's steps replayed without a docker engine: each stage in its own scratch folder
 * (absolute paths inside it), COPY from the build context (less .dockerignore) or an earlier stage,
 * RUN through sh in the stage's WORKDIR with its ENV; then the final CMD started from the final
 * stage's folder with a mounted wecred.json, its HEALTHCHECK run, and a request served. docs/design.md §9.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WechatSim } from '../sim';
import { freePort } from './support/oauth-stack';
import { MP } from './support/stack';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Stage {
  name?: string;
  /** The stage's filesystem root, a scratch folder. */
  dir: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  volumes: string[];
  /** COPY --chown owners, by destination path. */
  owners: Record<string, string>;
  healthcheck?: string[];
  cmd?: string[];
}

let scratch: string;
let stages: Stage[];
let sim: WechatSim;

/** The build context: files git knows of or would add, less .dockerignore's names. */
async function contextFiles(): Promise<string[]> {
  const ignored = (await readFile(join(root, '.dockerignore'), 'utf8'))
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root })
    .toString()
    .split('\n')
    .filter(Boolean);
  const matches = (file: string, pattern: string) =>
    pattern.startsWith('*')
      ? file.endsWith(pattern.slice(1))
      : file === pattern || file.startsWith(`${pattern}/`) || file.split('/').includes(pattern);
  return listed.filter((f) => !ignored.some((p) => matches(f, p)));
}

/** Instructions, continuation lines joined, comments dropped. */
function instructions(text: string): [string, string][] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const op = l.split(/\s+/)[0] ?? '';
      return [op.toUpperCase(), l.slice(op.length).trim()];
    });
}

async function replay(): Promise<Stage[]> {
  const done: Stage[] = [];
  let stage: Stage | undefined;
  const at = (s: Stage, path: string) => join(s.dir, posix.resolve(s.workdir, path));
  for (const [op, args] of instructions(await readFile(join(root, 'Dockerfile'), 'utf8'))) {
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)?.[1];
      stage = { name, dir: join(scratch, `stage${done.length}`), workdir: '/', env: {}, volumes: [], owners: {} };
      await mkdir(stage.dir, { recursive: true });
      done.push(stage);
      continue;
    }
    if (!stage) throw new Error(`${op} before FROM`);
    const words = args.split(/\s+/);
    switch (op) {
      case 'WORKDIR':
        stage.workdir = posix.resolve(stage.workdir, args);
        await mkdir(at(stage, '.'), { recursive: true });
        break;
      case 'COPY': {
        const flags = Object.fromEntries(
          words.filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=') as [string, string]),
        );
        const [dest = '', ...sources] = words.filter((w) => !w.startsWith('--')).reverse();
        const target = at(stage, dest);
        if (flags.chown) stage.owners[posix.resolve(stage.workdir, dest)] = flags.chown;
        for (const src of sources.reverse()) {
          if (flags.from) {
            const from = done.find((s) => s.name === flags.from)!;
            await cp(join(from.dir, src), target, { recursive: true });
          } else if (src === '.') {
            for (const f of await contextFiles()) {
              await mkdir(dirname(join(target, f)), { recursive: true });
              await cp(join(root, f), join(target, f));
            }
          } else {
            await mkdir(target, { recursive: true });
            await cp(join(root, src), join(target, posix.basename(src)));
          }
        }
        break;
      }
      case 'RUN':
        await promisify(execFile)('sh', ['-c', args], {
          cwd: at(stage, '.'),
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...stage.env },
          maxBuffer: 64 * 1024 * 1024,
        });
        break;
      case 'ENV':
        for (const pair of words) {
          const [k = '', ...v] = pair.split('=');
          stage.env[k] = v.join('=');
        }
        break;
      case 'USER':
        stage.user = args;
        break;
      case 'VOLUME':
        stage.volumes.push(...words);
        break;
      case 'HEALTHCHECK':
        stage.healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3));
        break;
      case 'CMD':
        stage.cmd = JSON.parse(args);
        break;
      case 'EXPOSE':
        break;
      default:
        throw new Error(`the replay does not know ${op}`);
    }
  }
  return done;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'wecred-docker-'));
  stages = await replay();
  sim = await WechatSim.start();
  sim.addApp(MP.appid, MP.secret);
}, 600_000);

afterAll(async () => {
  await sim?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the Dockerfile, replayed', () => {
  it('runs one self-contained file as a non-root user, the store folder on a volume it owns', async () => {
    const run = stages.at(-1)!;
    expect(stages).toHaveLength(2);
    expect(run.user).toBe('node');
    expect(run.owners['/app']).toBe('node:node');
    expect(run.volumes).toEqual(['/app/.wecred']);
    expect((await stat(join(run.dir, 'app/.wecred'))).isDirectory()).toBe(true);
    expect((await readdir(join(run.dir, 'app'))).sort()).toEqual(['.wecred', 'wecred-server.mjs']);
    expect(run.cmd).toEqual(['node', 'wecred-server.mjs']);
  });

  it('its CMD serves from a mounted wecred.json, its HEALTHCHECK passes, and the file store fills the volume', async () => {
    const run = stages.at(-1)!;
    const app = join(run.dir, 'app');
    await writeFile(
      join(app, 'wecred.json'),
      JSON.stringify({ apps: [{ ...MP, type: 'mp' }], upstream: { mp: sim.url } }),
    );
    const env = { PATH: process.env.PATH ?? '', ...run.env, PORT: String(await freePort()) };
    const [command, ...args] = run.cmd!;
    const server = spawn(command!, args, { cwd: app, env, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      await new Promise<void>((resolve, reject) => {
        server.stderr.on('data', (c: Buffer) => {
          err += c;
          if (/listening on/.test(err)) resolve();
        });
        server.once('exit', (code) => reject(new Error(`CMD exited ${code}: ${err}`)));
      });
      expect(err).toMatch(new RegExp(`listening on http://[^ ]+:${env.PORT}`));
      const [hc, ...hcArgs] = run.healthcheck!;
      await promisify(execFile)(hc!, hcArgs, { env });
      const body = JSON.stringify({ url: 'https://www.example.com/docker' });
      const res = await fetch(`http://127.0.0.1:${env.PORT}/jsapi/${MP.appid}/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const config = (await res.json()) as any;
      expect(
        sim.verifyJsapiSignature({
          appid: MP.appid,
          url: 'https://www.example.com/docker',
          nonceStr: config.nonceStr,
          timestamp: config.timestamp,
          signature: config.signature,
        }),
      ).toBe(true);
      expect((await readdir(join(app, '.wecred'))).length).toBeGreaterThan(0);
    } finally {
      server.kill('SIGTERM');
    }
  });
});
