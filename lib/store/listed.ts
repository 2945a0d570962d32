/**
 * An append-only list of ids in the store (the port has no scan): numbered records `<name>:<n>`,
 * their count the counter `<name>`. Appending is one atomic increment, so concurrent appends never
 * lose each other; a repeat is skipped, and a duplicate two instances append at once is dropped on read.
 */
import type { Store } from './port';

/** Records live until replaced: the latest expiry every store adapter accepts as a plain number (ms). */
export const NEVER = Date.UTC(9999, 0, 1);

export class StoredList {
  constructor(
    private readonly store: Store,
    private readonly name: string,
    /** Beyond this many, ids are not listed (reading the list costs one record read each). */
    private readonly max: number,
    /** Wraps each store call (the callers' store-failure handling). */
    private readonly guard: <T>(op: () => Promise<T>) => Promise<T> = (op) => op(),
  ) {}

  /** The ids, oldest first, without duplicates. */
  async read(now: number): Promise<string[]> {
    const count = await this.guard(() => this.store.increment(this.name, 0, NEVER, now));
    const texts = await Promise.all(
      Array.from({ length: Math.min(count, this.max) }, (_, i) =>
        this.guard(() => this.store.getRecord(`${this.name}:${i + 1}`, now)),
      ),
    );
    return [...new Set(texts.filter((t): t is string => typeof t === 'string' && t !== ''))];
  }

  /** Add `id` unless it is listed already. */
  async add(id: string, now: number): Promise<void> {
    if ((await this.read(now)).includes(id)) return;
    const n = await this.guard(() => this.store.increment(this.name, 1, NEVER, now));
    await this.guard(() => this.store.putRecord(`${this.name}:${n}`, id, NEVER, now));
  }
}
