#include "sotto/storage/message_repo.h"

#include <algorithm>

#include "sotto/storage/search_repo.h"

namespace sotto::storage {

MessageRecord message_from_row(const Statement& row) {
  MessageRecord m;
  m.row_id = row.column_int64(0);
  m.message_id = row.column_blob(1);
  m.conversation = row.column_text(2);
  m.sender = row.column_text(3);
  m.outgoing = row.column_int64(4) != 0;
  m.kind = static_cast<MessageKind>(row.column_int64(5));
  m.body = row.column_text(6);
  m.sent_at = row.column_int64(7);
  m.received_at = row.column_int64(8);
  m.state = static_cast<MessageState>(row.column_int64(9));
  return m;
}

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
  const int64_t row = db_.last_insert_rowid();
  // Indexed for search in batches, not by trigger one at a time: see migration 0006.
  if (message.kind == MessageKind::kText) SOTTO_RETURN_IF_ERROR(SearchRepo(db_).note_inserted(row));
  return std::optional<int64_t>(row);
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
    MessageRecord m = message_from_row(*select);
    messages.push_back(std::move(m));
  }
  select->reset();
  return messages;
}

}  // namespace

Result<std::vector<MessageRecord>> MessageRepo::recent(const std::string& conversation,
                                                       int64_t limit) {
  // Two statements, not one with "(?1 = '' OR conversation = ?1)": the planner picks its plan
  // before the value is bound, and that OR keeps it off messages_by_conversation, so a quiet
  // conversation's page would cost a walk back through everything said since (doc/architecture.md,
  // What the libraries taught us).
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      conversation.empty()
          ? db_.prepare(std::string(kSelectMessage) + "WHERE kind != 3 ORDER BY id DESC LIMIT ?2")
          : db_.prepare(std::string(kSelectMessage) +
                        "WHERE conversation = ?1 AND kind != 3 ORDER BY id DESC LIMIT ?2"));
  if (!conversation.empty()) select->bind(1, conversation);
  select->bind(2, limit);
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

// OR FAIL: one row by its key, without the statement journal (see SignalRepo::store_session).
Status MessageRepo::set_state(int64_t row_id, MessageState state) {
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE OR FAIL messages SET state = ?2 WHERE id = ?1"));
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

Result<std::vector<MessageRecord>> MessageRepo::page_after(int64_t after_row,
                                                           const std::string& conversation,
                                                           int64_t limit) {
  // By row id (the archive's order), through messages_by_conversation for one conversation.
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      conversation.empty()
          ? db_.prepare(std::string(kSelectMessage) +
                        "WHERE id > ?1 AND kind != 3 ORDER BY id LIMIT ?2")
          : db_.prepare(std::string(kSelectMessage) +
                        "WHERE conversation = ?3 AND id > ?1 AND kind != 3 ORDER BY id LIMIT ?2"));
  select->bind(1, after_row).bind(2, limit);
  if (!conversation.empty()) select->bind(3, conversation);
  return read_messages(select);
}

Result<std::pair<int64_t, int64_t>> MessageRepo::row_span() {
  // Two subqueries: SQLite answers a lone min() or max() from the end of the b-tree, but
  // "SELECT min(id), max(id)" scans every row.
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT (SELECT min(id) FROM messages), (SELECT max(id) FROM messages)"));
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::pair<int64_t, int64_t> span{0, 0};
  if (has_row && !select->column_is_null(0)) {
    span = {select->column_int64(0), select->column_int64(1)};
  }
  select->reset();
  return span;
}

}  // namespace sotto::storage
