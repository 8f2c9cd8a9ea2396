-- Schema 1: own identity, the Signal protocol state, and the message archive.
-- Times are milliseconds since the epoch, for people to read; the protocol never trusts them.

-- This profile's own identity: exactly one row.
CREATE TABLE identity (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  name TEXT NOT NULL,
  public_key BLOB NOT NULL,          -- Signal identity key, serialized (type byte + 32)
  private_key BLOB NOT NULL,
  registration_id INTEGER NOT NULL,
  transport_public BLOB NOT NULL,    -- CurveZMQ key pair, 32 bytes each
  transport_secret BLOB NOT NULL,
  transport_signature BLOB NOT NULL, -- identity signature over transport_public
  created_at INTEGER NOT NULL
);

-- libsignal's five stores. `address` is the peer's fingerprint (hex).
CREATE TABLE signal_sessions (
  address TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  record BLOB NOT NULL,
  user_record BLOB,
  PRIMARY KEY (address, device_id)
);

CREATE TABLE signal_pre_keys (
  id INTEGER PRIMARY KEY,
  record BLOB NOT NULL
);

CREATE TABLE signal_signed_pre_keys (
  id INTEGER PRIMARY KEY,
  record BLOB NOT NULL
);

-- Remote identity keys as first trusted. A different key for a known address is never
-- written over the trusted one: it is kept in offered_key until the user re-verifies.
CREATE TABLE signal_identities (
  address TEXT PRIMARY KEY,
  identity_key BLOB NOT NULL,
  offered_key BLOB
);

CREATE TABLE signal_sender_keys (
  group_id BLOB NOT NULL,
  address TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  record BLOB NOT NULL,
  user_record BLOB,
  PRIMARY KEY (group_id, address, device_id)
);

-- Monotonic counters (next pre-key id and the like).
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);

-- The archive. (sender, message_id) is unique: a resent message is acknowledged, not stored twice.
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  message_id BLOB NOT NULL,          -- 16 random bytes chosen by the author
  conversation TEXT NOT NULL,        -- peer fingerprint, or '#' + channel id
  sender TEXT NOT NULL,              -- author's fingerprint
  outgoing INTEGER NOT NULL,         -- 1 when this profile wrote it
  kind INTEGER NOT NULL,             -- 0 text, 1 system event, 2 voice clip
  body TEXT NOT NULL,
  sent_at INTEGER NOT NULL,          -- author's clock
  received_at INTEGER NOT NULL,      -- our clock
  state INTEGER NOT NULL,            -- 0 pending, 1 sent, 2 delivered, 3 received
  UNIQUE (sender, message_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation, id);
