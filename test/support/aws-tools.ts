/**
 * osls (the open-source Serverless Framework v4 fork) and serverless-offline, exactly as pinned in
 * test/support/aws-tools/package-lock.json, installed once into node_modules/.cache under the lockfile's
 * hash and reused. They stay out of the project's own dependencies: 130 MB that only this test and
 * an AWS deploy need. legacy-peer-deps: serverless-offline names `serverless` as its peer, and
 * osls is what stands in for it. docs/design.md §9, docs/decisions.md.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const spec = join(root, 'test/support/aws-tools');

/** The folder whose node_modules/.bin holds osls; installs it on first use. */
export async function awsTools(): Promise<string> {
  const lock = await readFile(join(spec, 'package-lock.json'));
  const dir = join(
    root,
    'node_modules/.cache/wecred-aws-tools',
    createHash('sha256').update(lock).digest('hex').slice(0, 16),
  );
  if (existsSync(join(dir, 'node_modules/.bin/osls'))) return dir;
  // Installed beside, then moved in whole: a run that dies half-way leaves no half cache.
  const building = `${dir}.${process.pid}`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  for (const f of ['package.json', 'package-lock.json', '.npmrc']) await copyFile(join(spec, f), join(building, f));
  await promisify(execFile)('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: building,
    maxBuffer: 16 * 1024 * 1024,
  });
  await rename(building, dir).catch(async (err: NodeJS.ErrnoException) => {
    // Another test process got there first.
    if (!existsSync(join(dir, 'node_modules/.bin/osls'))) throw err;
    await rm(building, { recursive: true, force: true });
  });
  return dir;
}
