-- Schema 13: mailboxes (doc/protocol.md, Mailboxes): an always-on node holds its users' 1:1
-- frames while they are away. The first four tables are used on a mailbox node, the rest on its
-- users' and their contacts' nodes.

-- Who uses this node as a mailbox, and whose deposits each accepts.
CREATE TABLE mailbox_users (
  fingerprint TEXT PRIMARY KEY,
  registered_at INTEGER NOT NULL,
  held_bytes INTEGER NOT NULL DEFAULT 0  -- the sum of its held frames' sizes, for the quota
);
CREATE TABLE mailbox_senders (
  user TEXT NOT NULL REFERENCES mailbox_users (fingerprint) ON DELETE CASCADE,
  sender TEXT NOT NULL,
  PRIMARY KEY (user, sender)
) WITHOUT ROWID;

-- Frames held for a user: the sender's Signal ciphertext, exactly as deposited. A sender's retry
-- of a deposit finds its row (unique), so a frame is held once however often it comes.
CREATE TABLE mailbox_held (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- hand-over order; the handle in Forwarded
  user TEXT NOT NULL REFERENCES mailbox_users (fingerprint) ON DELETE CASCADE,
  sender TEXT NOT NULL,
  message_id BLOB NOT NULL,
  message BLOB NOT NULL,                 -- the serialized SignalMessage
  size INTEGER NOT NULL,                 -- length(message), counted in the user's held_bytes
  expires_at INTEGER NOT NULL,           -- this node's wall clock: dropped after it
  UNIQUE (user, sender, message_id)
);
CREATE INDEX mailbox_held_by_user ON mailbox_held (user, id);
CREATE INDEX mailbox_held_by_expiry ON mailbox_held (expires_at);

-- Deposits that expired before their user fetched them: their senders are told.
CREATE TABLE mailbox_notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  message_id BLOB NOT NULL
);
CREATE INDEX mailbox_notices_by_sender ON mailbox_notices (sender, id);

-- Our own mailbox record, as we signed it (one row; its serial only grows).
CREATE TABLE own_mailbox (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  record BLOB NOT NULL,
  serial INTEGER NOT NULL
);

-- Our contacts' mailbox records, as they signed them.
CREATE TABLE contact_mailboxes (
  contact TEXT PRIMARY KEY,
  mailbox TEXT NOT NULL,  -- the mailbox node's fingerprint; '' when the contact has none
  serial INTEGER NOT NULL,
  record BLOB NOT NULL
);

-- An outbox entry that the recipient's mailbox holds: it is not deposited again, and the
-- message shows "at mailbox" until the recipient's own receipt removes the entry.
ALTER TABLE outbox ADD COLUMN at_mailbox INTEGER NOT NULL DEFAULT 0;
