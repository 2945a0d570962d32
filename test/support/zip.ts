/** Flat zips for tests, as SCF and Lambda take them (`scf_bootstrap` executable), and back. docs/design.md §4, §9. */
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import yazl from 'yazl';

export async function makeZip(file: string, entries: Record<string, string>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(entries)) {
    zip.addBuffer(Buffer.from(content), name, { mode: name === 'scf_bootstrap' ? 0o100755 : 0o100644 });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
}

export interface Unzipped {
  dir: string;
  /** Entry name → unix permission bits. */
  modes: Record<string, number>;
}

/** Extracts `zip` (flat: files only) into a fresh temp directory. */
export async function unzip(zip: string): Promise<Unzipped> {
  const dir = await mkdtemp(join(tmpdir(), 'wecred-bundle-'));
  const modes: Record<string, number> = {};
  const z = await yauzl.openPromise(zip);
  for await (const entry of z.eachEntry()) {
    const mode = (entry.externalFileAttributes >>> 16) & 0o777;
    modes[entry.fileName] = mode;
    await pipeline(await z.openReadStreamPromise(entry), createWriteStream(join(dir, entry.fileName), { mode }));
  }
  return { dir, modes };
}
