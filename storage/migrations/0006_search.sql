-- Schema 6: full-text search of the archive's text messages (FTS4: Debian's SQLCipher has no FTS5).
--
-- The index keeps no copy of the text: it reads bodies from `messages` (external content), so a
-- deleted message leaves no second copy behind. Only text messages (kind 0) are indexed; system
-- events, voice clips and control rows are not. The docid is the message's row id, so results
-- come newest first by walking the index backwards (ORDER BY docid DESC), with no sort.
-- matchinfo=fts3: no per-message size table (it serves relevance ranking only; results here are
-- newest first). FTS4 wants its options as key=value, without spaces.
CREATE VIRTUAL TABLE message_search USING fts4(
  content='messages',
  matchinfo=fts3,
  body,
  tokenize=unicode61 'remove_diacritics=1'
);

-- New messages are indexed in batches (SearchRepo): every text message with a row id up to
-- indexed_through is in the index; the ones after it are added once 256 rows have gathered, and
-- before every search, so a search always sees the whole archive. FTS4 writes an index segment
-- per transaction (and per statement savepoint: an AFTER INSERT trigger would write one per
-- message); indexed one commit at a time, the archive took 40 % fewer single-message commits per
-- second and the node 20 % fewer messages per second (measured; doc/guide.md, Text's group commit).
CREATE TABLE message_search_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_through INTEGER NOT NULL
);

-- Deletions and changes are followed by triggers, so every path that removes or rewrites a
-- message (disappearing messages, a cascade, a repair by hand) keeps the index in step. With
-- external content the old terms can only be removed while the row still exists: BEFORE DELETE.
CREATE TRIGGER message_search_delete BEFORE DELETE ON messages
WHEN old.kind = 0 AND old.id <= (SELECT indexed_through FROM message_search_state)
BEGIN
  DELETE FROM message_search WHERE docid = old.id;
END;

-- SQLite gives a new row max(id) + 1: once the newest rows are gone, ids at or below
-- indexed_through come round again, and must count as not indexed yet.
CREATE TRIGGER message_search_reuse AFTER DELETE ON messages
BEGIN
  UPDATE message_search_state
     SET indexed_through = (SELECT coalesce(max(id), 0) FROM messages)
   WHERE indexed_through > (SELECT coalesce(max(id), 0) FROM messages);
END;

CREATE TRIGGER message_search_unindex BEFORE UPDATE OF body, kind ON messages
WHEN old.kind = 0 AND old.id <= (SELECT indexed_through FROM message_search_state)
BEGIN
  DELETE FROM message_search WHERE docid = old.id;
END;

CREATE TRIGGER message_search_reindex AFTER UPDATE OF body, kind ON messages
WHEN new.kind = 0 AND new.id <= (SELECT indexed_through FROM message_search_state)
BEGIN
  INSERT INTO message_search (docid, body) VALUES (new.id, new.body);
END;

-- Every text message archived before this schema.
INSERT INTO message_search (docid, body) SELECT id, body FROM messages WHERE kind = 0;
INSERT INTO message_search_state (id, indexed_through)
  VALUES (1, (SELECT coalesce(max(id), 0) FROM messages));
