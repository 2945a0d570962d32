/**
 * The deployable bundles, from one run (`tsx bench/bundles.ts`, or `benchBundles()`): cold
 * require against bare node, bundle and zip sizes, peak RSS of the SCF handler after 10 000 warm
 * requests, and dist/wecred-server.mjs alone in an empty folder: cold start to its first /ping. docs/design.md §9.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { packageBundles, SCF_INDEX_BUDGET_BYTES } from '../scripts/package';
import { WechatSim } from '../sim';
import { runBundle } from '../test/support/bundle-process';
import { startProcess } from '../test/support/processes';
import { loadEvent } from '../test/support/events';

const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 20);
const WARM_REQUESTS = 10_000;
const RSS_BUDGET_MIB = 96;
const APP = { appid: 'wx1111111111111111', secret: 'bench-secret' };

interface ColdRequire {
  file: string;
  medianMs: number;
  bareMs: number;
  ratio: number;
}

function spawnMs(dir: string, script: string): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
    stdio: 'ignore',
  });
  if (r.status !== 0) throw new Error(`node -e "${script}" in ${dir} exited ${r.status}`);
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Bundle files and bare node take turns, so drift in machine load hits both alike. */
function coldRequire(files: { dir: string; file: string }[]): ColdRequire[] {
  const bare: number[] = [];
  const times = files.map(() => [] as number[]);
  for (let i = 0; i < COLD_RUNS; i++) {
    bare.push(spawnMs(files[0]!.dir, ''));
    for (const [j, f] of files.entries()) times[j]!.push(spawnMs(f.dir, `require('./${f.file}')`));
  }
  const bareMs = median(bare);
  return files.map((f, j) => ({
    file: f.file,
    medianMs: median(times[j]!),
    bareMs,
    ratio: median(times[j]!) / bareMs,
  }));
}

async function peakRss(dir: string, nodeArgs: string[]): Promise<number> {
  const sim = await WechatSim.start();
  sim.addApp(APP.appid, APP.secret);
  try {
    const event = JSON.parse(JSON.stringify(loadEvent('scf-url')).replaceAll('wx123', APP.appid));
    const env = {
      WECRED_CONFIG_JSON: JSON.stringify({
        apps: [{ ...APP, type: 'mp' }],
        store: 'memory:',
        upstream: { mp: sim.url },
      }),
      WECRED_ALLOW_LOCAL_STORE: '1',
    };
    // The request log goes to a discarded stdout, as SCF would ship it off the instance.
    const run = await runBundle(dir, 'index.js', 'main_handler', [event], env, {
      repeat: WARM_REQUESTS,
      discardStdout: true,
      nodeArgs,
    });
    if (run.results[0]?.statusCode !== 200) throw new Error(`main_handler answered ${run.results[0]?.statusCode}`);
    return run.maxRssMiB;
  } finally {
    await sim.close();
  }
}

/** `node wecred-server.mjs` copied alone into an empty folder with a wecred.json: ms from spawn to the first /ping answer. */
async function firstPing(file: string): Promise<{ medianMs: number; bareMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'wecred-bench-server-'));
  const sim = await WechatSim.start();
  try {
    await copyFile(file, join(dir, 'wecred-server.mjs'));
    const config = { apps: [{ ...APP, type: 'mp' }], store: 'memory:', upstream: { mp: sim.url } };
    await writeFile(join(dir, 'wecred.json'), JSON.stringify(config));
    const times: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      bare.push(spawnMs(dir, ''));
      const started = performance.now();
      const server = await startProcess(
        [join(dir, 'wecred-server.mjs')],
        { PORT: '0' },
        { cwd: dir, discardStdout: true },
      );
      const res = await fetch(`${server.url}/ping`);
      if (res.status !== 200) throw new Error(`/ping answered ${res.status}`);
      times.push(performance.now() - started);
      await server.stop();
    }
    return { medianMs: median(times), bareMs: median(bare) };
  } finally {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The NODE_OPTIONS scf.yaml sets on the function. */
function deployedNodeOptions(): string[] {
  const line = /^\s*NODE_OPTIONS:\s*(.+)$/m.exec(readFileSync(new URL('../scf.yaml', import.meta.url), 'utf8'));
  if (!line) throw new Error('scf.yaml sets no NODE_OPTIONS');
  return line[1]!
    .trim()
    .replace(/^['"]|['"]$/g, '')
    .split(/\s+/);
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

export async function benchBundles(): Promise<void> {
  const { scf, aws, server } = await packageBundles();
  const sizes: Record<string, number> = {
    'wecred-scf.zip': scf.zipBytes,
    'scf/index.js': scf.files['index.js']!,
    'wecred-aws.zip': aws.zipBytes,
    'aws/gateway.js': aws.files['gateway.js']!,
    'aws/refresher.js': aws.files['refresher.js']!,
  };
  console.log(
    `bundles: ${Object.entries(sizes)
      .map(([name, size]) => `${name} ${kib(size)}`)
      .join(', ')} ` +
      `(SCF index.js ${((100 * sizes['scf/index.js']!) / SCF_INDEX_BUDGET_BYTES).toFixed(0)}% of its ${kib(SCF_INDEX_BUDGET_BYTES)} budget: ${sizes['scf/index.js']! <= SCF_INDEX_BUDGET_BYTES ? 'within' : 'OVER'})`,
  );

  const cold = coldRequire([
    { dir: scf.dir, file: 'index.js' },
    { dir: aws.dir, file: 'gateway.js' },
    { dir: aws.dir, file: 'refresher.js' },
  ]);
  for (const c of cold) {
    console.log(
      `bundles: cold require ${c.file} ${c.ratio.toFixed(2)}x bare node startup (median ${c.medianMs.toFixed(1)} ms vs ${c.bareMs.toFixed(1)} ms, ${COLD_RUNS} runs each)`,
    );
  }

  const deployedOptions = deployedNodeOptions();
  const peakRssMiB = { deployed: await peakRss(scf.dir, deployedOptions), hostDefaults: await peakRss(scf.dir, []) };
  console.log(
    `bundles: SCF main_handler peak RSS after ${WARM_REQUESTS} warm requests ${peakRssMiB.deployed.toFixed(1)} MiB with scf.yaml's NODE_OPTIONS (${deployedOptions.join(' ')}; budget ${RSS_BUDGET_MIB} MiB: ${peakRssMiB.deployed <= RSS_BUDGET_MIB ? 'within' : 'OVER'}), ` +
      `${peakRssMiB.hostDefaults.toFixed(1)} MiB with node's defaults on this host`,
  );

  const first = await firstPing(server.file);
  console.log(
    `bundles: wecred-server.mjs ${kib(server.bytes)}; alone in an empty folder, cold start to the first /ping answer ${first.medianMs.toFixed(0)} ms (median of ${COLD_RUNS}; bare node start ${first.bareMs.toFixed(0)} ms, ${(first.medianMs / first.bareMs).toFixed(2)}x)`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchBundles().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
