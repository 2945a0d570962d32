-- wecred schema 3: heartbeat leases (docs/design.md §5.3, §6.3) and the upstream backoff shared
-- by every instance. lease_beat is bumped by every acquire and renewal: a contender takes a lease
-- over only after watching the same (lease_owner, lease_beat) for the lease duration on its own
-- clock. failures / retry_at hold further refreshes after transient upstream faults.
-- lease_until is no longer read nor written: a lease taken by an older wecred is watched and
-- taken over like any silent one. It stays, so that instances of the older code still running
-- while this deploys keep working; a later migration may drop it.
-- MySQL has no ADD COLUMN IF NOT EXISTS (MariaDB has): the one ALTER runs only while lease_beat is
-- missing, so the file can run again after being cut short.

SET @wecred_003 := (
  SELECT IF(COUNT(*) = 0,
    'ALTER TABLE credentials
       ADD COLUMN lease_beat BIGINT NOT NULL DEFAULT 0 AFTER lease_owner,
       ADD COLUMN failures INT NOT NULL DEFAULT 0,
       ADD COLUMN retry_at BIGINT NOT NULL DEFAULT 0',
    'DO 0')
  FROM information_schema.COLUMNS
  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'credentials' AND COLUMN_NAME = 'lease_beat'
);
PREPARE wecred_003 FROM @wecred_003;
EXECUTE wecred_003;
DEALLOCATE PREPARE wecred_003;
