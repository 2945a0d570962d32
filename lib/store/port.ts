/**
 * The Store port: every adapter (memory, file, mysql, dynamodb, redis) implements exactly this and passes
 * test/support/store-conformance.ts. Time is passed in (`now`) wherever expiry is judged, so tests that move the
 * simulator's clock move the store's; leases use no clock at all (docs/design.md §6, §6.1).
 */

/** One credential (access_token, ticket, ...). `version` 0 means "never written". */
export interface CredentialRow {
  key: string;
  /** The credential itself; '' while none has been fetched yet. */
  value: string;
  /** When the value stops being valid upstream (epoch ms); 0 when there is no value. */
  expiresAt: number;
  /** When the value was last fetched (epoch ms); 0 when never. */
  refreshedAt: number;
  /** Incremented by every successful `commit`. */
  version: number;
  /** Who holds the refresh lease ('' = nobody); only this owner may `commit`. */
  leaseOwner: string;
  /**
   * Bumped by every `acquireLease` and `renewLease`: a holder that is alive keeps it moving. A
   * contender takes a lease over only after watching the same (leaseOwner, leaseBeat) for the
   * lease duration on its own monotonic clock, so no clock is ever compared across instances
   * (docs/design.md §5.3).
   */
  leaseBeat: number;
  /** Last forced refresh (epoch ms), for the force cooldown. */
  forcedAt: number;
  /** Upstream calls for this credential are refused until then (epoch ms), e.g. after 45009. */
  blockedUntil: number;
  /** Failed refreshes in a row since the last commit (transient upstream faults); 0 after a commit. */
  failures: number;
  /** After `failures` failed refreshes, no new attempt before this (epoch ms); 0 after a commit. */
  retryAt: number;
}

/** What a lease holder leaves on the row when it gives the lease back without a new value. */
export interface ReleaseOutcome {
  blockedUntil?: number;
  failures?: number;
  retryAt?: number;
}

/** The fields a refresh winner writes. */
export interface CredentialUpdate {
  value: string;
  expiresAt: number;
  refreshedAt: number;
  forcedAt: number;
}

export interface Store {
  /** 'memory', 'file', 'mysql', ... (for logs and status) */
  readonly kind: string;

  /** The row, or null when the key was never written nor leased. */
  read(key: string): Promise<CredentialRow | null>;

  /**
   * Take the refresh lease with one conditional write: succeeds when nobody holds it
   * (`leaseOwner` is ''), or, given `seen`, when the lease is still exactly `seen` (the same
   * owner at the same beat: the caller watched it that long without it moving and judges its
   * holder gone). Creates the row (version 0, empty value) when absent. On success sets
   * `leaseOwner = owner` and `leaseBeat + 1`, and returns the row as it is after the write (so
   * the winner sees the latest value and version without another read); null otherwise.
   */
  acquireLease(key: string, owner: string, seen?: { owner: string; beat: number }): Promise<CredentialRow | null>;

  /**
   * The holder's heartbeat: `leaseBeat + 1` when `owner` still holds the lease. False (and no
   * change) when somebody took it over, it was released or committed, or the row is absent.
   */
  renewLease(key: string, owner: string): Promise<boolean>;

  /**
   * Write a new value only if the row's version is still `expectedVersion` AND `owner` still
   * holds the lease (`leaseOwner === owner`): sets version to expectedVersion + 1, clears the
   * lease (`leaseOwner` ''), and resets `failures` and `retryAt` to 0. Returns false (and
   * changes nothing) otherwise: the version moved on (somebody else committed meanwhile),
   * another owner took the lease, the row is absent, or `owner` is ''.
   *
   * Why fenced by the owner and not only by the version: a refresher whose lease was taken over
   * must not overwrite what the new holder is fetching. For classic tokens the new holder's
   * fetch mints a newer token, which invalidates the older one within 5 minutes, so the stale
   * refresher's value would be stored yet die shortly after.
   */
  commit(key: string, owner: string, expectedVersion: number, update: CredentialUpdate): Promise<boolean>;

  /**
   * Give the lease back without a new value (the refresh failed). Only clears the lease when
   * `owner` still holds it. The fields of `outcome` that are given are stored whoever holds the
   * lease (WeChat's word on the credential stands whoever asked); with an outcome, an absent
   * row is created (version 0, empty value).
   */
  releaseLease(key: string, owner: string, outcome?: ReleaseOutcome): Promise<void>;

  /** Insert `key` unless present and unexpired (nonces). True when inserted. */
  insertIfAbsent(key: string, expiresAt: number, now: number): Promise<boolean>;

  /**
   * Add `by` to a counter (created at 0 when absent or expired; `expiresAt` is set on creation)
   * and return the new value. `by` = 0 reads the counter. `by` < 0 takes back earlier increments
   * of a live counter (hourly budgets undo a refused spend): it never creates a counter (absent or
   * expired: nothing is written, 0 is returned) and never takes one below 0.
   */
  increment(key: string, by: number, expiresAt: number, now: number): Promise<number>;

  /**
   * Keep `value` under `key` until `expiresAt`, replacing what was there (OAuth user tokens,
   * sessions). Adapters with native expiry drop the record some time after `expiresAt`, counted
   * from the caller's `now`; a sweep this write sets off judges expiry by that `now` too.
   */
  putRecord(key: string, value: string, expiresAt: number, now: number): Promise<void>;

  /** The value `putRecord` left under `key`, or null when there is none or it expired (`expiresAt <= now`). */
  getRecord(key: string, now: number): Promise<string | null>;

  /** Remove the record (nothing happens when there is none). */
  deleteRecord(key: string): Promise<void>;

  /** Release connections, timers and handles. */
  close(): Promise<void>;
}
