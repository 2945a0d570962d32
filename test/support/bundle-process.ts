/**
 * A built bundle as its platform runs it: a bare node process whose working directory is the
 * unzipped bundle, requiring one file and invoking one exported handler with events. Used by
 * test/bundles.test.ts and bench/bundles.ts. docs/design.md §9.
 */
import { spawn } from 'node:child_process';

export interface BundleRun {
  /** Every module id passed to `require` while the bundle file itself was being required. */
  requiredAtLoad: string[];
  /** The exported names of the bundle file. */
  exports: string[];
  /** Each event's handler result, in order. */
  results: any[];
  /** Peak resident set size of the process, MiB. */
  maxRssMiB: number;
  /** What the app logged (empty when stdout was discarded). */
  stdout: string;
}

/**
 * Plain CommonJS, run with `node -e` so nothing from this repository (loaders, node_modules)
 * takes part. argv: the bundle file, then JSON { handler, events, repeat }. After the events,
 * the first event is sent `repeat` more times (warm requests) before the report goes back
 * over IPC.
 */
const CHILD = `
const Module = require('node:module');
const file = require('node:path').resolve(process.argv[1]);
const requiredAtLoad = [];
const original = Module.prototype.require;
Module.prototype.require = function (id) { requiredAtLoad.push(id); return original.apply(this, arguments); };
const mod = require(file);
Module.prototype.require = original;
const { handler, events, repeat } = JSON.parse(process.argv[2]);
const context = () => ({ callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 15000 });
(async () => {
  const results = [];
  for (const event of events) results.push(await mod[handler](structuredClone(event), context()));
  for (let i = 0; i < repeat; i++) await mod[handler](structuredClone(events[0]), context());
  const report = { requiredAtLoad: requiredAtLoad.filter((id) => id !== file), exports: Object.keys(mod), results, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.send(report, () => process.exit(0));
})().catch((err) => process.send({ error: String((err && err.stack) || err) }, () => process.exit(1)));
`;

export function runBundle(
  dir: string,
  file: string,
  handler: string,
  events: unknown[],
  env: Record<string, string>,
  opts: { repeat?: number; discardStdout?: boolean; nodeArgs?: string[] } = {},
): Promise<BundleRun> {
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), '-e', CHILD, file, JSON.stringify({ handler, events, repeat: opts.repeat ?? 0 })],
    {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe', 'ipc'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  return new Promise((resolve, reject) => {
    let report: any;
    child.on('message', (m) => (report = m));
    child.on('exit', (code) => {
      if (code === 0 && report && !report.error) resolve({ ...report, stdout });
      else reject(new Error(`${file} (${handler}) exited ${code}: ${report?.error ?? ''}\n${stderr}`));
    });
  });
}
