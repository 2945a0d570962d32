/** Real server processes: wecred as `npm start` runs it (and, for benchmarks, any node server). docs/design.md §9. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { REALM, signedHeaders } from './stack';

const root = fileURLToPath(new URL('../..', import.meta.url));
// tsx's loader by absolute URL: the server may run in a directory without node_modules (demo mode on a bare machine).
const tsxLoader = pathToFileURL(`${root}/node_modules/tsx/dist/loader.mjs`).href;

export interface ServerProcess {
  url: string;
  pid: number;
  output: () => string;
  stop(): Promise<void>;
  /** SIGKILL: the process dies at once, whatever it holds (leases, sockets). */
  kill(): Promise<void>;
}

/**
 * `node ...args`; resolves once the process prints the address it listens on (on stderr or
 * stdout). `discardStdout` sends stdout to /dev/null, as a benchmarked server's request log
 * should go: reading it here would take CPU from the server under test.
 */
export function startProcess(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; discardStdout?: boolean } = {},
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: opts.cwd ?? root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  });
  let out = '';
  const signal = (sig: NodeJS.Signals) =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill(sig);
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /[Ll]istening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          pid: child.pid!,
          output: () => out,
          stop: () => signal('SIGTERM'),
          kill: () => signal('SIGKILL'),
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
}

/** `functions/server.ts` under tsx, on a free port. */
export function startServerProcess(env: Record<string, string>, cwd = root): Promise<ServerProcess> {
  return startProcess(['--import', tsxLoader, `${root}/functions/server.ts`], { PORT: '0', ...env }, { cwd });
}

/** A Wafer envelope, signed by the test realm, to a server process; its JSON answer. */
export function signedEnvelope(
  server: ServerProcess,
  interfaceName: string,
  para: Record<string, unknown>,
): Promise<any> {
  const body = JSON.stringify({ interface: { interfaceName, para } });
  return fetch(`${server.url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedHeaders(REALM, '/', body) },
    body,
  }).then((r) => r.json());
}

/** The envelope `access_token` with `para`, signed by the test realm, to a server process; its JSON answer. */
export function accessTokenEnvelope(server: ServerProcess, para: Record<string, unknown>): Promise<any> {
  return signedEnvelope(server, 'access_token', para);
}
