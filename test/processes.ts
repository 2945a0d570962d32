/** Real wecred processes (`functions/server.ts` under tsx), as `npm start` runs them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// tsx's loader by absolute URL: the server may run in a directory without node_modules (demo mode on a bare machine).
const tsxLoader = pathToFileURL(`${root}/node_modules/tsx/dist/loader.mjs`).href;

export interface ServerProcess {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

export function startServerProcess(env: Record<string, string>, cwd = root): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', tsxLoader, `${root}/functions/server.ts`], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Listening on (http:\/\/\S+)|wecred listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: (m[1] ?? m[2])!,
          output: () => out,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
}
