/**
 * Where a warm request's time goes (`npm run bench:profile`): the server `npm start` runs (unminified), under
 * autocannon load on POST /jsapi/:appid/config, with `node --cpu-prof`; prints the top frames by
 * self time, as a share of the samples (idle and GC included, so shares add up to 100). docs/design.md §9.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WechatSim } from '../sim';
import { startProcess } from '../test/support/processes';

const root = fileURLToPath(new URL('..', import.meta.url));
const APP = { appid: 'wx1111111111111111', secret: 'bench-secret' };
const BODY = JSON.stringify({ url: 'https://example.com/page?from=bench', jsApiList: ['updateTimelineShareData'] });
const TOP = Number(process.env.PROFILE_TOP ?? 25);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

function run(cmd: string, args: string[], cwd = root): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))));
  });
}

async function main() {
  // The server npm start runs, unminified so that frames keep their names.
  const server = join(root, 'dist/profile-server.mjs');
  const esbuild = join(root, 'node_modules/.bin/esbuild');
  await run(esbuild, [
    'functions/server.ts',
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node20',
    '--packages=external',
    `--outfile=${server}`,
    '--log-level=warning',
  ]);
  const sim = await WechatSim.start();
  sim.addApp(APP.appid, APP.secret);
  const dir = await mkdtemp(join(tmpdir(), 'wecred-profile-'));
  const config = JSON.stringify({ apps: [{ ...APP, type: 'mp' }], store: `file:${dir}`, upstream: { mp: sim.url } });
  const wecred = await startProcess(
    ['--cpu-prof', '--cpu-prof-dir', dir, server],
    { PORT: '0', WECRED_CONFIG_JSON: config },
    { discardStdout: true },
  );
  const target = `${wecred.url}/jsapi/${APP.appid}/config`;
  const cannon = join(root, 'node_modules/autocannon/autocannon.js');
  const load = ['-c', '16', '-d', '8', '-m', 'POST', '-H', 'content-type=application/json', '-b', BODY, target];
  await run(process.execPath, [cannon, ...load]);
  await wecred.stop(); // SIGTERM: node writes the profile on exit
  await sim.close();
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no profile written');
  const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as Profile;
  await rm(dir, { recursive: true, force: true });

  const self = new Map<number, number>();
  for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + 1);
  const byFrame = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'} ${where}`.trim();
    byFrame.set(name, (byFrame.get(name) ?? 0) + (self.get(node.id) ?? 0));
  }
  const total = profile.samples.length;
  console.log(`top ${TOP} frames by self time over ${total} samples (warm POST /jsapi/:appid/config):`);
  for (const [name, n] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${name}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
