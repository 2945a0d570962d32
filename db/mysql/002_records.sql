-- wecred schema 2: records, small values with an expiry (OAuth user tokens, later Mini
-- Program sessions). A record is live while expires_at (epoch ms) > the caller's now; the
-- store's periodic sweep deletes expired ones through the expires_at index.
-- value is MEDIUMTEXT: TEXT holds only 64 KiB of bytes, not 64 KiB of 4-byte characters.

CREATE TABLE IF NOT EXISTS records (
  `key` VARBINARY(2048) NOT NULL,
  value MEDIUMTEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (`key`),
  KEY records_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
