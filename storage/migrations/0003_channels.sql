-- Channels (doc/guide.md, Channels): the roster as the admin signed it, and where each sender key stands.
CREATE TABLE channels (
  id BLOB PRIMARY KEY,               -- 16 random bytes chosen by the admin
  name TEXT NOT NULL UNIQUE,         -- local name (the admin's, suffixed on a clash)
  admin TEXT NOT NULL,               -- admin fingerprint
  admin_key BLOB NOT NULL,           -- the only key whose signature changes membership
  epoch INTEGER NOT NULL,
  locked INTEGER NOT NULL,
  strict INTEGER NOT NULL,
  state INTEGER NOT NULL,            -- 0 member, 1 removed, 2 left, 3 dissolved
  update_blob BLOB NOT NULL,         -- the signed ChannelUpdate of this epoch, as received
  key_generation INTEGER NOT NULL,   -- our own sender key's generation in this channel
  key_uses INTEGER NOT NULL,         -- messages sent under it; rotated at 1,000
  own_key BLOB,                      -- its distribution message from iteration 0, for latecomers
  created_at INTEGER NOT NULL
);

CREATE TABLE channel_members (
  channel_id BLOB NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  fingerprint TEXT NOT NULL,
  name TEXT NOT NULL,
  identity_key BLOB NOT NULL,
  key_shared INTEGER NOT NULL,       -- generation of our sender key queued to this member (0 none)
  PRIMARY KEY (channel_id, fingerprint)
);
