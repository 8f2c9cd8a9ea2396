-- Disappearing messages (issue 8): per conversation ('#' + channel id for a channel), how long a
-- message stays in the archive after it arrived. No row, or 0: kept for ever.
CREATE TABLE expiry (
  conversation TEXT PRIMARY KEY,
  expire_ms INTEGER NOT NULL,
  set_by TEXT NOT NULL,        -- fingerprint of who chose it
  set_at INTEGER NOT NULL      -- our wall clock when it took effect here
);
