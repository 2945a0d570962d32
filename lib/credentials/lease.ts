/**
 * The refresh lease (docs/design.md §5.3): taken with one conditional write, kept alive by its
 * holder's heartbeat, taken over once its beat has stood still for the lease duration on our own
 * monotonic clock. No clock is compared across instances.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger';
import { storeErrorFields } from '../store/guard';
import type { CredentialRow, Store } from '../store/port';
import { CredentialError } from './errors';

const processId = randomUUID().slice(0, 8);
let leaseSeq = 0;

/** A new lease owner name: unique per attempt, so a process never mistakes an old lease for its own. */
export const newOwner = () => `${processId}:${++leaseSeq}`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A request's time ran out while another instance, still beating, refreshes `key`. */
export function stillRefreshing(key: string): CredentialError {
  return new CredentialError(
    'busy',
    `${key} is being refreshed by another instance that did not finish within this request's budget; retry shortly`,
  );
}

/** What a contender saw of a lease: the holder it judged gone, to take over from. */
export interface SeenLease {
  owner: string;
  beat: number;
}

/** How a wait on somebody else's lease ended. */
export type WaitOutcome = { changed: true } | { changed: false; takeOver: SeenLease };

export class Leases {
  constructor(
    private readonly store: Store,
    /** The lease duration: a holder renews three times within it. */
    private readonly leaseMs: number,
    private readonly log: Logger,
    /** A store call, bounded in time and answered store_unavailable when the store fails. */
    private readonly guard: <T>(op: () => Promise<T>, deadline: number) => Promise<T>,
  ) {}

  /**
   * Keep `owner`'s lease alive until stop(): a renewal every third of the lease. A renewal the
   * store refuses means the lease was taken over: the heartbeat stops, and the owner's commit
   * will be refused too. A failing store is retried at the next beat.
   */
  heartbeat(key: string, owner: string): { stop(): void } {
    let stopped = false;
    const timer = setInterval(() => {
      this.store.renewLease(key, owner).then(
        (held) => {
          if (!held && !stopped) {
            stopped = true;
            clearInterval(timer);
            this.log.log('warn', 'lease_lost', { key });
          }
        },
        (err: unknown) => this.log.log('warn', 'lease_renew_failed', { key, ...storeErrorFields(err) }),
      );
    }, this.leaseMs / 3);
    timer.unref();
    return {
      stop() {
        stopped = true;
        clearInterval(timer);
      },
    };
  }

  /**
   * Wait while somebody else holds the lease of `seen`'s row: until a commit or release changes
   * the row (changed), or its holder's beat has stood still for the lease duration (takeOver:
   * try acquireLease with it). Throws busy at `deadline`.
   */
  async wait(key: string, seen: CredentialRow, deadline: number): Promise<WaitOutcome> {
    let watched: SeenLease = { owner: seen.leaseOwner, beat: seen.leaseBeat };
    let since = performance.now();
    for (let polls = 0; ; polls++) {
      if (performance.now() >= deadline) throw stillRefreshing(key);
      // Short polls at first (a refresh usually takes a few hundred ms), then at most 10 a second.
      await sleep(Math.min(100, 15 + polls * 5) * (0.75 + Math.random() / 2));
      const row = await this.guard(() => this.store.read(key), deadline);
      if (!row || row.version !== seen.version || row.leaseOwner === '') return { changed: true };
      if (row.leaseOwner !== watched.owner || row.leaseBeat !== watched.beat) {
        watched = { owner: row.leaseOwner, beat: row.leaseBeat };
        since = performance.now();
      } else if (performance.now() - since >= this.leaseMs) {
        return { changed: false, takeOver: watched };
      }
    }
  }
}
