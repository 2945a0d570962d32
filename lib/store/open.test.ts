import { mkdtempSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from './open';

const base = mkdtempSync(path.join(tmpdir(), 'wecred-open-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('openStore', () => {
  it('memory: opens the memory store', async () => {
    const store = await openStore('memory:');
    expect(store.kind).toBe('memory');
    await store.close();
  });

  it('file:DIR opens the file store, relative to the working directory', async () => {
    const rel = path.relative(process.cwd(), path.join(base, '.wecred'));
    expect(path.isAbsolute(rel)).toBe(false);
    const store = await openStore(`file:${rel}`);
    expect(store.kind).toBe('file');
    expect((await stat(path.join(base, '.wecred'))).isDirectory()).toBe(true);
    await store.close();
  });

  it('file:/abs and file:///abs open the file store at an absolute path', async () => {
    const a = path.join(base, 'abs-a');
    const b = path.join(base, 'abs b');
    const s1 = await openStore(`file:${a}`);
    const s2 = await openStore(pathToFileURL(b).href);
    expect([s1.kind, s2.kind]).toEqual(['file', 'file']);
    expect((await stat(a)).isDirectory()).toBe(true);
    expect((await stat(b)).isDirectory()).toBe(true);
    await s1.close();
    await s2.close();
  });

  it('the scheme is case-insensitive', async () => {
    expect((await openStore('MEMORY:')).kind).toBe('memory');
  });

  it('refuses other schemes, naming the scheme but never the URL', async () => {
    for (const [url, scheme] of [
      ['postgres://u:s3cret-pw@h/db', 'postgres:'],
      ['mongodb+srv://u:s3cret-pw@h/db', 'mongodb+srv:'],
    ] as const) {
      const err = await openStore(url).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err, url).toBeInstanceOf(Error);
      expect(err!.message).toContain(scheme);
      expect(err!.message).toMatch(/not supported/);
      expect(err!.message).not.toContain('s3cret-pw');
      expect(err!.message).not.toContain(url);
    }
  });

  it('refuses a URL without a scheme and file: without a directory', async () => {
    await expect(openStore('./some/dir')).rejects.toThrow(/no scheme/);
    await expect(openStore('file:')).rejects.toThrow(/needs a directory/);
    await expect(openStore('file://files.example.com/srv/wecred')).rejects.toThrow(
      'store URL scheme "file:" has an invalid file:// URL; use file:DIR or file:///absolute/dir',
    );
  });
});
