#include "sotto/storage/message_repo.h"

#include <algorithm>

namespace sotto::storage {

Result<std::optional<int64_t>> MessageRepo::insert(const MessageRecord& message) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT OR IGNORE INTO messages (message_id, conversation, sender, outgoing, "
                  "kind, body, sent_at, received_at, state) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  insert->bind(1, ByteView(message.message_id))
      .bind(2, message.conversation)
      .bind(3, message.sender)
      .bind(4, int64_t{message.outgoing ? 1 : 0})
      .bind(5, static_cast<int64_t>(message.kind))
      .bind(6, message.body)
      .bind(7, message.sent_at)
      .bind(8, message.received_at)
      .bind(9, static_cast<int64_t>(message.state));
  SOTTO_RETURN_IF_ERROR(insert->run());
  if (db_.changes() == 0) return std::optional<int64_t>();
  return std::optional<int64_t>(db_.last_insert_rowid());
}

namespace {

constexpr const char* kSelectMessage =
    "SELECT id, message_id, conversation, sender, outgoing, kind, body, sent_at, received_at, "
    "state FROM messages ";

Result<std::vector<MessageRecord>> read_messages(Statement* select) {
  std::vector<MessageRecord> messages;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    MessageRecord m;
    m.row_id = select->column_int64(0);
    m.message_id = select->column_blob(1);
    m.conversation = select->column_text(2);
    m.sender = select->column_text(3);
    m.outgoing = select->column_int64(4) != 0;
    m.kind = static_cast<MessageKind>(select->column_int64(5));
    m.body = select->column_text(6);
    m.sent_at = select->column_int64(7);
    m.received_at = select->column_int64(8);
    m.state = static_cast<MessageState>(select->column_int64(9));
    messages.push_back(std::move(m));
  }
  select->reset();
  return messages;
}

}  // namespace

Result<std::vector<MessageRecord>> MessageRepo::recent(const std::string& conversation,
                                                       int64_t limit) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare(std::string(kSelectMessage) + "WHERE (?1 = '' OR conversation = ?1) "
                                                "AND kind != 3 ORDER BY id DESC LIMIT ?2"));
  select->bind(1, conversation).bind(2, limit);
  SOTTO_ASSIGN_OR_RETURN(auto messages, read_messages(select));
  std::reverse(messages.begin(), messages.end());
  return messages;
}

Result<std::optional<MessageRecord>> MessageRepo::get(int64_t row_id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare(std::string(kSelectMessage) + "WHERE id = ?1"));
  select->bind(1, row_id);
  SOTTO_ASSIGN_OR_RETURN(auto messages, read_messages(select));
  if (messages.empty()) return std::optional<MessageRecord>();
  return std::optional<MessageRecord>(std::move(messages.front()));
}

Status MessageRepo::set_state(int64_t row_id, MessageState state) {
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE messages SET state = ?2 WHERE id = ?1"));
  update->bind(1, row_id).bind(2, static_cast<int64_t>(state));
  return update->run();
}

Result<std::optional<int64_t>> MessageRepo::find_row(const std::string& sender,
                                                     ByteView message_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT id FROM messages WHERE sender = ?1 AND message_id = ?2"));
  select->bind(1, sender).bind(2, message_id);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::optional<int64_t> row;
  if (has_row) row = select->column_int64(0);
  select->reset();
  return row;
}

Result<std::optional<int64_t>> MessageRepo::mark_delivered(const std::string& own_fingerprint,
                                                           const std::string& conversation,
                                                           ByteView message_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT id, state FROM messages "
                  "WHERE sender = ?1 AND message_id = ?2 AND conversation = ?3 AND outgoing = 1"));
  select->bind(1, own_fingerprint).bind(2, message_id).bind(3, conversation);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  if (!has_row) return std::optional<int64_t>();
  const int64_t row = select->column_int64(0);
  const auto state = static_cast<MessageState>(select->column_int64(1));
  select->reset();
  if (state == MessageState::kDelivered) return std::optional<int64_t>();
  SOTTO_RETURN_IF_ERROR(set_state(row, MessageState::kDelivered));
  return std::optional<int64_t>(row);
}

}  // namespace sotto::storage
