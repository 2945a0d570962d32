/**
 * A child process for the file store's cross-process test (lib/store/file.test.ts, docs/design.md §9):
 * `node --import tsx test/support/file-store-worker.ts '<json job>'` opens the store in job.dir, prints "ready", waits
 * for a line on stdin (so every worker starts at once), runs the job's operations concurrently and prints one JSON
 * line of results.
 */
import { createInterface } from 'node:readline';
import { createFileStore } from '../../lib/store/file';

interface Job {
  dir: string;
  id: string;
  /** acquireLease on `lease:<r>` for r < leaseRounds */
  leaseRounds: number;
  /** acquireLease of `takeover:<r>` (leased by the parent as takeOverFrom, beat 1) with that sighting */
  takeOverRounds: number;
  takeOverFrom: string;
  /**
   * commit(`commit:<r>`, commitOwner, 0) for r < commitRounds (the parent leased the rows first
   * as commitOwner; every worker stands in for that holder, so the version alone decides)
   */
  commitRounds: number;
  commitOwner: string;
  /** insertIfAbsent(`nonce:<k>`) and of `old:<k>` (inserted expired by the parent) for k < nonces */
  nonces: number;
  /** increment('counter', 1) this many times */
  increments: number;
  now: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const store = await createFileStore(job.dir);
process.stdout.write('ready\n');
const rl = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => rl.once('line', () => resolve()));
rl.close();

const { now } = job;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const seen = { owner: job.takeOverFrom, beat: 1 };
const [leases, takeOvers, commits, inserts, replaced, increments] = await Promise.all([
  Promise.all(range(job.leaseRounds).map(async (r) => (await store.acquireLease(`lease:${r}`, job.id)) !== null)),
  Promise.all(
    range(job.takeOverRounds).map(async (r) => (await store.acquireLease(`takeover:${r}`, job.id, seen)) !== null),
  ),
  Promise.all(
    range(job.commitRounds).map((r) =>
      store.commit(`commit:${r}`, job.commitOwner, 0, {
        value: job.id,
        expiresAt: now + 7_200_000,
        refreshedAt: now,
        forcedAt: 0,
      }),
    ),
  ),
  Promise.all(range(job.nonces).map((k) => store.insertIfAbsent(`nonce:${k}`, now + 60_000, now))),
  Promise.all(range(job.nonces).map((k) => store.insertIfAbsent(`old:${k}`, now + 60_000, now))),
  Promise.all(range(job.increments).map(() => store.increment('counter', 1, now + 60_000, now))),
]);
await store.close();
process.stdout.write(`${JSON.stringify({ id: job.id, leases, takeOvers, commits, inserts, replaced, increments })}\n`);
