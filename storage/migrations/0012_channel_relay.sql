-- Schema 12: members relay channel traffic (doc/guide.md, Shift change).
--
-- Each author numbers its channel texts (seq, 1, 2, ... per channel, inside the signed ciphertext).
-- A member keeps each message's ciphertext as the author made it, so that it can hand it to a
-- co-member who lacks it, and how far it holds each author's messages without a gap: that mark
-- is what members exchange when they meet (a ChannelSync), and what tells an author which of its
-- messages a member has, whoever brought them.

-- One row per channel message with a seq, sent or received: the author's ciphertext.
CREATE TABLE channel_copies (
  message_row INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  channel_id BLOB NOT NULL,
  author TEXT NOT NULL,              -- fingerprint
  seq INTEGER NOT NULL,
  generation INTEGER NOT NULL,       -- of the author's sender key
  body BLOB NOT NULL,                -- the sender-key ciphertext (GroupMessage.body)
  relayed_by TEXT,                   -- the member who handed it over, when not the author
  clip_key BLOB                      -- a clip heard live: body is its VoiceEnd, and this the
                                     -- VoiceEnd's relay_key (the packets are in voice_clips)
);
CREATE UNIQUE INDEX channel_copies_by_author ON channel_copies (channel_id, author, seq);

-- Every message of `author` in the channel with seq <= held_through is archived here, or was sent
-- before this profile could read the author's key. Our own row counts what we have numbered.
CREATE TABLE channel_marks (
  channel_id BLOB NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  author TEXT NOT NULL,
  held_through INTEGER NOT NULL,
  PRIMARY KEY (channel_id, author)
);

-- Where our sender key's chain state starts, in our own numbering: handed over with the key, so a
-- member asks relays only for what it can open. recipient '' is the key's start (iteration 0);
-- a newcomer's row is the moment it joined (channel_members.key_offer).
CREATE TABLE channel_key_floors (
  channel_id BLOB NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  recipient TEXT NOT NULL,
  seq INTEGER NOT NULL,
  epoch INTEGER NOT NULL,            -- the roster's epoch then
  PRIMARY KEY (channel_id, recipient)
);

-- Members' sender keys from their first iteration, as each author signed them: a member who
-- missed a new key while away gets it from a co-member, if it was on the roster when the key
-- began (since_epoch <= the key's epoch), so a relayed key never opens what was sent before a
-- member joined.
CREATE TABLE channel_keys (
  channel_id BLOB NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
  author TEXT NOT NULL,
  generation INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  signed_key BLOB NOT NULL,          -- the SenderKey message, signature included
  PRIMARY KEY (channel_id, author, generation)
);

-- The roster epoch from which each member has been on it without a break.
ALTER TABLE channel_members ADD COLUMN since_epoch INTEGER NOT NULL DEFAULT 0;
