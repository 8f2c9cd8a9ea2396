-- Schema 8: what disappears leaves no word behind in the search index.
--
-- Deleting a message from an FTS4 index only adds a newer segment that marks its words deleted;
-- the older segments keep the words (and the delete marker repeats them) until segments are
-- merged, and merging writes the whole index again: 2.3 s for a million messages (measured). So messages of conversations with disappearing messages on are indexed
-- apart, in message_search_expiring, which holds only what its expiry window keeps: merging it
-- after every expiry sweep is cheap, and message_search never holds a message that will expire.
-- A message is in message_search_expiring exactly when its conversation has a row in `expiry`;
-- turning the setting on or off moves the conversation's messages (SearchRepo::move_conversation).
CREATE VIRTUAL TABLE message_search_expiring USING fts4(
  content='messages',
  matchinfo=fts3,
  body,
  tokenize=unicode61 'remove_diacritics=1'
);

DROP TRIGGER message_search_delete;
DROP TRIGGER message_search_unindex;
DROP TRIGGER message_search_reindex;

CREATE TRIGGER message_search_delete BEFORE DELETE ON messages
WHEN old.kind = 0 AND old.id <= (SELECT indexed_through FROM message_search_state)
 AND old.conversation NOT IN (SELECT conversation FROM expiry)
BEGIN
  DELETE FROM message_search WHERE docid = old.id;
END;

CREATE TRIGGER message_search_expiring_delete BEFORE DELETE ON messages
WHEN old.kind = 0 AND old.id <= (SELECT indexed_through FROM message_search_state)
 AND old.conversation IN (SELECT conversation FROM expiry)
BEGIN
  DELETE FROM message_search_expiring WHERE docid = old.id;
END;

CREATE TRIGGER message_search_unindex BEFORE UPDATE OF body, kind ON messages
WHEN old.kind = 0 AND old.id <= (SELECT indexed_through FROM message_search_state)
 AND old.conversation NOT IN (SELECT conversation FROM expiry)
BEGIN
  DELETE FROM message_search WHERE docid = old.id;
END;

CREATE TRIGGER message_search_expiring_unindex BEFORE UPDATE OF body, kind ON messages
WHEN old.kind = 0 AND old.id <= (SELECT indexed_through FROM message_search_state)
 AND old.conversation IN (SELECT conversation FROM expiry)
BEGIN
  DELETE FROM message_search_expiring WHERE docid = old.id;
END;

CREATE TRIGGER message_search_reindex AFTER UPDATE OF body, kind ON messages
WHEN new.kind = 0 AND new.id <= (SELECT indexed_through FROM message_search_state)
 AND new.conversation NOT IN (SELECT conversation FROM expiry)
BEGIN
  INSERT INTO message_search (docid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER message_search_expiring_reindex AFTER UPDATE OF body, kind ON messages
WHEN new.kind = 0 AND new.id <= (SELECT indexed_through FROM message_search_state)
 AND new.conversation IN (SELECT conversation FROM expiry)
BEGIN
  INSERT INTO message_search_expiring (docid, body) VALUES (new.id, new.body);
END;

-- Conversations that expire already: their messages move over, and the main index is merged so
-- that it keeps none of their words.
INSERT INTO message_search_expiring (docid, body)
  SELECT id, body FROM messages
   WHERE kind = 0 AND id <= (SELECT indexed_through FROM message_search_state)
     AND conversation IN (SELECT conversation FROM expiry);
DELETE FROM message_search
 WHERE docid IN (SELECT id FROM messages
                  WHERE kind = 0 AND id <= (SELECT indexed_through FROM message_search_state)
                    AND conversation IN (SELECT conversation FROM expiry));
INSERT INTO message_search (message_search) VALUES ('optimize');
