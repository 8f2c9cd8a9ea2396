-- Schema 2: contacts and the durable outbox of 1:1 text.

-- People this profile talks to. A contact is one identity key (its fingerprint is the key's
-- SHA-256). trust: 0 unverified, 1 verified (safety number compared), 2 changed (someone under
-- this contact's name now presents another identity; sending is refused until re-verified).
CREATE TABLE contacts (
  fingerprint TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  identity_key BLOB NOT NULL,
  trust INTEGER NOT NULL,
  offered_fingerprint TEXT,          -- when trust = 2: the identity now claiming the name
  offered_key BLOB,
  added_at INTEGER NOT NULL
);
CREATE INDEX contacts_by_name ON contacts (name);

-- Ciphertexts committed with their message and waiting for a receipt. Retries resend these
-- exact bytes: re-encrypting would skip chain keys and make two ciphertexts of one message.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- send order; never reused, so a watermark holds
  message_row INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  recipient TEXT NOT NULL,           -- fingerprint
  frame BLOB NOT NULL                -- the encoded wire frame
);
CREATE INDEX outbox_by_recipient ON outbox (recipient, id);
CREATE INDEX outbox_by_message ON outbox (message_row);
