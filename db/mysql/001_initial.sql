-- wecred schema 1. Times are epoch milliseconds (BIGINT), as the Store port passes them.
-- Keys are VARBINARY: compared byte for byte (case, trailing spaces and every Unicode
-- character stay distinct, on MySQL and MariaDB alike); 2048 bytes hold 512 characters of
-- up to 4 UTF-8 bytes and stay within InnoDB's 3072-byte index limit.
-- IF NOT EXISTS: DDL commits as it goes, so a migration cut short can simply run again.

CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT NOT NULL,
  applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS credentials (
  `key` VARBINARY(2048) NOT NULL,
  value TEXT NOT NULL,
  expires_at BIGINT NOT NULL DEFAULT 0,
  refreshed_at BIGINT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 0,
  lease_owner VARBINARY(255) NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  forced_at BIGINT NOT NULL DEFAULT 0,
  blocked_until BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Replay guard: a key is taken until expires_at.
CREATE TABLE IF NOT EXISTS nonces (
  `key` VARBINARY(2048) NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (`key`),
  KEY nonces_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS counters (
  `key` VARBINARY(2048) NOT NULL,
  value BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (`key`),
  KEY counters_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Mini Program login sessions. Only a hash of the skey is kept, so a leaked table opens no
-- session; the session_key is sealed (AES-256-GCM) because it decrypts the user's data.
CREATE TABLE IF NOT EXISTS sessions (
  id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  appid VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  skey_hash VARBINARY(64) NOT NULL,
  session_key_sealed VARBINARY(1024) NOT NULL,
  openid VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  unionid VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
  user_info TEXT NULL, -- JSON text
  created_at BIGINT NOT NULL,
  seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY sessions_expires_at (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Apps registered at run time (WeCom agents via work.register_agent), secret sealed.
CREATE TABLE IF NOT EXISTS registered_apps (
  kind VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, -- 'work'
  id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,  -- e.g. corpid:agentid
  secret_sealed VARBINARY(1024) NOT NULL,
  remark VARCHAR(255) NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (kind, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
