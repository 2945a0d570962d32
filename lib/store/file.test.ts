/**
 * The file store (docs/design.md §6.3): the conformance suite (with and without hard links), then its names, damaged
 * files and crashed lock holders, the sweep, and four real processes sharing one directory.
 * Over 400 lines: each way a file or a lock can be left behind is its own case.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { storeConformance } from '../../test/support/store-conformance';
import { createFileStore, encodeKey } from './file';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const tempDirs: string[] = [];
const tempDir = (label: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `wecred-store-${label}-`));
  tempDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

const confDir = tempDir('conformance');
storeConformance('file', () => createFileStore(confDir), {
  // The row file as the previous code wrote it: leaseUntil, no beat, failures nor retryAt.
  async writeOldRow(key, row) {
    const store = await createFileStore(confDir);
    const old = { key, ...row, refreshedAt: 0, leaseUntil: Date.now() + 10_000, forcedAt: 0, blockedUntil: 0 };
    await writeFile(store.paths('credentials', key).file, JSON.stringify(old));
    await store.close();
  },
});
const noLinkDir = tempDir('conformance-nolink');
storeConformance('file (without hard links)', () => createFileStore(noLinkDir, { hardLinks: false }), {
  twoInstances: false, // only nonces take another path
});

describe('file store: naming', () => {
  it('keeps [a-z0-9-], writes every other byte as _hh, and hashes names over 120 characters', () => {
    expect(encodeKey('a-b9')).toBe('a-b9');
    expect(encodeKey('\n:A')).toBe('_0a_3a_41');
    expect(encodeKey('x'.repeat(120))).toBe('x'.repeat(120));
    expect(encodeKey('x'.repeat(121))).toMatch(/^~[0-9a-f]{64}$/);
    expect(encodeKey(':'.repeat(40))).toBe('_3a'.repeat(40));
    expect(encodeKey(':'.repeat(41))).toMatch(/^~[0-9a-f]{64}$/);
  });

  it('encodes keys injectively into safe, case-insensitive-safe names', () => {
    const keys = [
      'mp:wx1:token',
      'MP:WX1:TOKEN',
      'a/b',
      'a_2fb',
      'a b',
      '',
      '.',
      '..',
      '应用',
      '😀',
      'x'.repeat(500),
      `${'x'.repeat(499)}y`,
    ];
    const names = keys.map(encodeKey);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(keys.length);
    for (const n of names) {
      expect(n).toMatch(/^(~[0-9a-f]{64}|[a-z0-9_-]{1,120})$/);
    }
    expect(encodeKey('mp:wx1:token')).toBe('mp_3awx1_3atoken');
  });

  it('creates the directory recursively and keeps rows in readable files', async () => {
    const dir = path.join(tempDir('mkdir'), 'a', 'b', 'c');
    const store = await createFileStore(dir);
    await store.acquireLease('mp:wx1:token', 'o');
    const text = await readFile(path.join(dir, 'credentials', 'mp_3awx1_3atoken.json'), 'utf8');
    expect(JSON.parse(text)).toMatchObject({ key: 'mp:wx1:token', leaseOwner: 'o' });
    const names = await readdir(path.join(dir, 'credentials'));
    expect(names).toEqual(['mp_3awx1_3atoken.json']); // no lock or temp file left behind
    await store.close();
  });
});

describe('file store: damage and crashes', () => {
  it('reads a corrupt row as null and repairs it through the commit path', async () => {
    const store = await createFileStore(tempDir('corrupt'));
    const key = 'mp:wx1:token';
    const { file } = store.paths('credentials', key);
    for (const garbage of [
      'not json {',
      '',
      '{"key":"mp:wx1:token"}',
      '[1,2]',
      '{"key":"other","value":"","version":0,"leaseOwner":"","leaseUntil":0}',
    ]) {
      await writeFile(file, garbage);
      expect(await store.read(key)).toBeNull();
      const leased = await store.acquireLease(key, 'o');
      expect(leased).toMatchObject({ key, version: 0, value: '', leaseOwner: 'o' });
      expect(
        await store.commit(key, 'o', 0, { value: 'repaired', expiresAt: 9_000, refreshedAt: 1_000, forcedAt: 0 }),
      ).toBe(true);
      expect(await store.read(key)).toMatchObject({ value: 'repaired', version: 1 });
    }
    await store.close();
  });

  it('treats corrupt nonce and counter files as absent', async () => {
    const store = await createFileStore(tempDir('corrupt-nc'));
    await writeFile(store.paths('nonces', 'n').file, '\u0000\u0001garbage');
    await writeFile(store.paths('counters', 'c').file, '{"key":"c","value":"x"');
    expect(await store.insertIfAbsent('n', 5_000, 1_000)).toBe(true);
    expect(await store.insertIfAbsent('n', 5_000, 1_000)).toBe(false);
    expect(await store.increment('c', 0, 5_000, 1_000)).toBe(0);
    expect(await store.increment('c', 3, 5_000, 1_000)).toBe(3);
    await store.close();
  });

  it('keeps a record in records/NAME.json; a corrupt or foreign one reads as absent and the next put replaces it', async () => {
    const store = await createFileStore(tempDir('records'));
    const key = 'oauth:wx1:openid';
    const { file } = store.paths('records', key);
    expect(file).toBe(path.join(store.dir, 'records', 'oauth_3awx1_3aopenid.json'));
    await store.putRecord(key, 'token', 5_000, 0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ key, value: 'token', expiresAt: 5_000 });
    for (const garbage of [
      '{"key":"oauth:wx1:openid","value":',
      '{"key":"other","value":"x","expiresAt":9000}',
      '{"key":"oauth:wx1:openid","value":1,"expiresAt":9000}',
    ]) {
      await writeFile(file, garbage);
      expect(await store.getRecord(key, 1_000)).toBeNull();
      await store.putRecord(key, 'repaired', 5_000, 0);
      expect(await store.getRecord(key, 1_000)).toBe('repaired');
    }
    await store.deleteRecord(key);
    expect(await readdir(path.join(store.dir, 'records'))).toEqual([]);
    await store.close();
  });

  it('breaks a lock file left by a crashed holder within a few seconds', async () => {
    const store = await createFileStore(tempDir('stale'));
    const key = 'mp:wx1:token';
    const { lock } = store.paths('credentials', key);
    await writeFile(lock, '4242.crashed'); // a holder died mid-write, just now
    const t0 = Date.now();
    const row = await store.acquireLease(key, 'survivor');
    const waited = Date.now() - t0;
    expect(row?.leaseOwner).toBe('survivor');
    expect(waited).toBeGreaterThanOrEqual(2_500); // it did respect the lock while fresh (default staleLockMs 3 s)
    expect(waited).toBeLessThan(6_000);
    await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    await store.close();
  });

  it('breaks an old lock file at once, and an empty one too', async () => {
    const store = await createFileStore(tempDir('stale-old'));
    const { lock } = store.paths('counters', 'c');
    await writeFile(lock, '');
    const past = new Date(Date.now() - 60_000);
    await utimes(lock, past, past);
    const t0 = Date.now();
    expect(await store.increment('c', 1, 5_000, 1_000)).toBe(1);
    expect(Date.now() - t0).toBeLessThan(500);
    await store.close();
  });

  it('with many waiters on a stale lock, exactly one breaks it per cycle and every write lands once', async () => {
    const dir = tempDir('stale-many');
    const stores = await Promise.all(Array.from({ length: 4 }, () => createFileStore(dir, { staleLockMs: 300 })));
    const { lock } = stores[0]!.paths('counters', 'c');
    await writeFile(lock, 'crashed');
    const values = (
      await Promise.all(
        stores.map((s) => Promise.all(Array.from({ length: 10 }, () => s.increment('c', 1, 99_000, 1_000)))),
      )
    ).flat();
    expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await Promise.all(stores.map((s) => s.close()));
  });

  it('never shows a reader a torn file while rows are rewritten', async () => {
    const store = await createFileStore(tempDir('torn'));
    const key = 'k';
    await store.acquireLease(key, 'o');
    let done = false;
    let reads = 0;
    const reader = (async () => {
      while (!done) {
        const row = await store.read(key);
        expect(row).not.toBeNull();
        reads++;
      }
    })();
    for (let v = 0; v < 200; v++) {
      if (v > 0) expect(await store.acquireLease(key, 'o')).not.toBeNull(); // each commit clears the lease
      expect(
        await store.commit(key, 'o', v, { value: 'x'.repeat(v * 50), expiresAt: v, refreshedAt: v, forcedAt: 0 }),
      ).toBe(true);
    }
    done = true;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect((await store.read(key))!.version).toBe(200);
    await store.close();
  });
});

describe('file store: garbage', () => {
  it('sweep removes expired nonces and counters, keeps live ones and credentials', async () => {
    const store = await createFileStore(tempDir('sweep'), { sweepEveryWrites: 1e9, sweepIntervalMs: 1e12 });
    for (let i = 0; i < 20; i++) await store.insertIfAbsent(`old:${i}`, 1_000, 500);
    for (let i = 0; i < 5; i++) await store.insertIfAbsent(`live:${i}`, 10_000, 500);
    await store.increment('old-counter', 1, 1_000, 500);
    await store.increment('live-counter', 1, 10_000, 500);
    await store.acquireLease('cred', 'o');
    await store.sweep(500); // waits for the sweep the first write started, removes nothing yet
    expect(await store.sweep(2_000)).toBe(21);
    expect(await readdir(path.join(store.dir, 'nonces'))).toHaveLength(5);
    expect(await readdir(path.join(store.dir, 'counters'))).toHaveLength(1);
    expect(await store.read('cred')).not.toBeNull();
    expect(await store.insertIfAbsent('live:0', 10_000, 2_000)).toBe(false);
    expect(await store.insertIfAbsent('old:0', 10_000, 2_000)).toBe(true);
    expect(await store.increment('live-counter', 0, 10_000, 2_000)).toBe(1);
    await store.close();
  });

  it('sweep removes expired records, keeps live ones', async () => {
    const store = await createFileStore(tempDir('sweep-records'), { sweepEveryWrites: 1e9, sweepIntervalMs: 1e12 });
    for (let i = 0; i < 10; i++) await store.putRecord(`old:${i}`, 'v', 1_000, 500);
    await store.putRecord('live', 'v', 10_000, 500);
    expect(await store.sweep(2_000)).toBe(10);
    expect(await readdir(path.join(store.dir, 'records'))).toHaveLength(1);
    expect(await store.getRecord('live', 2_000)).toBe('v');
    await store.close();
  });

  it('sweeps records by itself, by the caller clock, even when it runs behind the real one', async () => {
    const store = await createFileStore(tempDir('autosweep-records'), { sweepEveryWrites: 50 });
    const now = Date.now() - 3_600_000;
    await store.putRecord('live', 'v', now + 60_000, now); // expired by the real clock, live by the caller's
    for (let i = 0; i < 400; i++) await store.putRecord(`old:${i}`, 'v', now - 1, now);
    await store.close(); // waits for a sweep under way
    expect((await readdir(path.join(store.dir, 'records'))).length).toBeLessThan(120);
    expect(await store.getRecord('live', now)).toBe('v');
  });

  it("sweeps after a put by that put's `now`, not by another call's", async () => {
    const store = await createFileStore(tempDir('sweep-by-put'), { sweepEveryWrites: 1 });
    const now = Date.now() - 3_600_000; // the caller's clock runs behind the real one
    expect(await store.getRecord('other', now + 86_400_000)).toBeNull(); // a call whose clock runs far ahead
    await store.putRecord('live', 'v', now + 60_000, now); // sets off a sweep
    await store.sweep(now); // waits for it
    expect(await store.getRecord('live', now)).toBe('v');
    await store.close();
  });

  it('sweeps by itself, off the hot path, so nonces never pile up', async () => {
    const store = await createFileStore(tempDir('autosweep'), { sweepEveryWrites: 50 });
    let now = Date.now() - 60_000; // the store's clock runs behind the real one: only `now` decides expiry
    for (let i = 0; i < 400; i++) {
      await store.insertIfAbsent(`nonce:${i}`, now + 10, now);
      now += 5; // each nonce lives 10 ms of store time
    }
    await store.close(); // waits for a sweep under way
    const left = (await readdir(path.join(store.dir, 'nonces'))).length;
    expect(left).toBeLessThan(120);
  });

  it('removes leftovers of crashed writers (old temp files, old locks)', async () => {
    const store = await createFileStore(tempDir('leftovers'));
    const { file, lock } = store.paths('credentials', 'k');
    const tmp = `${file}.999.1.abc.tmp`;
    await writeFile(tmp, '{"partial":');
    await writeFile(lock, 'crashed');
    const freshTmp = `${file}.999.2.def.tmp`;
    await writeFile(freshTmp, '{');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(tmp, old, old);
    await utimes(lock, old, old);
    expect(await store.sweep(Date.now())).toBe(2);
    expect(await readdir(path.dirname(file))).toEqual([path.basename(freshTmp)]);
    await store.close();
  });

  it('removes old broken-aside locks and unreadable entries, and leaves files that are not its own', async () => {
    const store = await createFileStore(tempDir('leftovers-2'));
    const { file, lock } = store.paths('nonces', 'k');
    const dir = path.dirname(file);
    const broken = `${lock}.999.abc.broken`;
    const foreign = path.join(dir, 'README');
    const oldForeign = path.join(dir, 'notes.txt');
    await writeFile(broken, 'x');
    await writeFile(foreign, 'keep me');
    await writeFile(oldForeign, 'keep me too');
    await writeFile(file, 'not json');
    const old = new Date(Date.now() - 3_600_000);
    for (const f of [broken, foreign, oldForeign]) await utimes(f, old, old);
    expect(await store.sweep(Date.now())).toBe(2);
    expect((await readdir(dir)).sort()).toEqual(['README', 'notes.txt']);
    await store.close();
  });
});

interface WorkerResult {
  id: string;
  leases: boolean[];
  takeOvers: boolean[];
  commits: boolean[];
  inserts: boolean[];
  replaced: boolean[];
  increments: number[];
}

function startWorker(job: object): { ready: Promise<void>; go(): void; result: Promise<WorkerResult> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'test', 'support', 'file-store-worker.ts'), JSON.stringify(job)],
    {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    if (out.startsWith('ready\n')) onReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const result = new Promise<WorkerResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`worker exited ${code}: ${err}`));
      const line = out.split('\n').filter(Boolean).pop() ?? '';
      try {
        resolve(JSON.parse(line) as WorkerResult);
      } catch {
        reject(new Error(`worker printed no result: ${out} ${err}`));
      }
    });
  });
  return { ready, go: () => child.stdin.end('go\n'), result };
}

describe('file store: across processes', () => {
  it('4 processes: one lease winner per round, one take-over per sighting, one commit per version, one insert per nonce, exact counter', async () => {
    const dir = tempDir('xproc');
    const now = Date.now();
    const rounds = 40;
    const nonces = 60;
    const increments = 50;
    const parent = await createFileStore(dir);
    for (let r = 0; r < rounds; r++) await parent.acquireLease(`commit:${r}`, 'parent');
    for (let r = 0; r < rounds; r++) await parent.acquireLease(`takeover:${r}`, 'silent');
    for (let k = 0; k < nonces; k++) await parent.insertIfAbsent(`old:${k}`, now - 1, now - 1000); // expired: replaced under the lock

    const workers = Array.from({ length: 4 }, (_, i) =>
      startWorker({
        dir,
        id: `w${i}`,
        leaseRounds: rounds,
        takeOverRounds: rounds,
        takeOverFrom: 'silent',
        commitRounds: rounds,
        commitOwner: 'parent',
        nonces,
        increments,
        now,
      }),
    );
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    const results = await Promise.all(workers.map((w) => w.result));

    for (let r = 0; r < rounds; r++) {
      const winners = results.filter((res) => res.leases[r]);
      expect(winners, `lease round ${r}`).toHaveLength(1);
      expect((await parent.read(`lease:${r}`))!.leaseOwner).toBe(winners[0]!.id);

      const takers = results.filter((res) => res.takeOvers[r]);
      expect(takers, `take-over round ${r}`).toHaveLength(1);
      expect(await parent.read(`takeover:${r}`)).toMatchObject({ leaseOwner: takers[0]!.id, leaseBeat: 2 });

      const committers = results.filter((res) => res.commits[r]);
      expect(committers, `commit round ${r}`).toHaveLength(1);
      expect(await parent.read(`commit:${r}`)).toMatchObject({ value: committers[0]!.id, version: 1, leaseOwner: '' });
    }
    for (let k = 0; k < nonces; k++) {
      expect(
        results.filter((res) => res.inserts[k]),
        `nonce ${k}`,
      ).toHaveLength(1);
      expect(
        results.filter((res) => res.replaced[k]),
        `expired nonce ${k}`,
      ).toHaveLength(1);
    }
    const all = results.flatMap((res) => res.increments).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 4 * increments }, (_, i) => i + 1));
    expect(await parent.increment('counter', 0, now + 60_000, now)).toBe(4 * increments);

    // nothing left behind: no lock or temp files
    for (const ns of ['credentials', 'nonces', 'counters']) {
      const stray = (await readdir(path.join(dir, ns))).filter((n) => !n.endsWith('.json'));
      expect(stray, ns).toEqual([]);
    }
    await parent.close();
  });
});
