// MessageRepo: the archive of text messages, system events and voice clip entries.
// Thread-safety: as the Database it uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

// kControl rows are protocol messages (rosters, sender keys) kept for exactly-once delivery;
// they are never shown.
enum class MessageKind : int64_t { kText = 0, kSystem = 1, kVoice = 2, kControl = 3 };
// kAtMailbox: the recipient's mailbox holds it (doc/protocol.md, Mailboxes); the order of display
// is pending, sent, at mailbox, delivered.
enum class MessageState : int64_t {
  kPending = 0,
  kSent = 1,
  kDelivered = 2,
  kReceived = 3,
  kAtMailbox = 4
};

struct MessageRecord {
  int64_t row_id = 0;  // assigned by insert
  Bytes message_id;    // 16 random bytes chosen by the author
  std::string conversation;
  std::string sender;
  bool outgoing = false;
  MessageKind kind = MessageKind::kText;
  std::string body;
  int64_t sent_at = 0;
  int64_t received_at = 0;
  MessageState state = MessageState::kPending;
};

// A message from the current row of a query whose first ten columns are, in order: rowid,
// message_id, conversation, sender, outgoing, kind, body, sent_at, received_at, state.
MessageRecord message_from_row(const Statement& row);

class MessageRepo {
 public:
  explicit MessageRepo(Database& db) : db_(db) {}

  // Stores the message; returns its row id, or nullopt when (sender, message_id) is already
  // archived (a resend: acknowledge it again, do not store it twice).
  Result<std::optional<int64_t>> insert(const MessageRecord& message);
  // The newest `limit` messages of a conversation (all conversations when empty), oldest first;
  // control rows excluded.
  Result<std::vector<MessageRecord>> recent(const std::string& conversation, int64_t limit);
  Result<std::optional<MessageRecord>> get(int64_t row_id);
  Status set_state(int64_t row_id, MessageState state);
  // The row of (sender, message_id), if archived.
  Result<std::optional<int64_t>> find_row(const std::string& sender, ByteView message_id);
  // Marks our own message `message_id` to `conversation` delivered; returns its row when it was
  // not delivered before (nullopt for unknown ids and repeated receipts).
  Result<std::optional<int64_t>> mark_delivered(const std::string& own_fingerprint,
                                                const std::string& conversation,
                                                ByteView message_id);

  // For reading the whole archive in pages (export): up to `limit` messages after row
  // `after_row`, oldest first, of `conversation` (all when empty); control rows excluded. Each
  // page costs the same however far into the archive it is.
  Result<std::vector<MessageRecord>> page_after(int64_t after_row, const std::string& conversation,
                                                int64_t limit);
  // The lowest and highest row ids in the archive ({0, 0} when empty).
  Result<std::pair<int64_t, int64_t>> row_span();

 private:
  Database& db_;
};

}  // namespace sotto::storage
