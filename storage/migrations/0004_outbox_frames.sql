-- A channel message goes to every member as the same frame: it is stored once here, and its
-- outbox rows (one per member, frame left empty) refer to it through message_row.
CREATE TABLE outbox_frames (
  message_row INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  frame BLOB NOT NULL
);
