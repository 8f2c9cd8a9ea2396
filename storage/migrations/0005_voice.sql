-- Voice (doc/guide.md, Push-to-talk voice). A channel may mix simultaneous talkers ("free") instead of one at a time.
ALTER TABLE channels ADD COLUMN free_voice INTEGER NOT NULL DEFAULT 0;

-- Every transmission, sent or received, archived as a clip: its message row (kind 2) is in the
-- channel's history; the Opus packets and the talker's signature are here.
CREATE TABLE voice_clips (
  message_row INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  channel_id BLOB NOT NULL,
  transmission_id BLOB NOT NULL,     -- = the message's message_id
  talker_key BLOB NOT NULL,          -- the talker's identity key, which signed the clip
  sample_rate INTEGER NOT NULL,
  frame_ms INTEGER NOT NULL,
  bitrate INTEGER NOT NULL,
  frames INTEGER NOT NULL,
  started_at_us INTEGER NOT NULL,    -- talker's wall clock at the first sample
  packets BLOB NOT NULL,             -- length-prefixed Opus packets in seq order (voice/clip.h)
  timing BLOB NOT NULL,              -- per frame, ms after the first (4 bytes LE): as captured or heard
  signature BLOB NOT NULL
);
