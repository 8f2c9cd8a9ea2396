#include "sotto/storage/outbox_repo.h"

namespace sotto::storage {

namespace {

Result<int64_t> single_count(Statement& select) {
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select.step());
  const int64_t n = has_row ? select.column_int64(0) : 0;
  select.reset();
  return n;
}

}  // namespace

Result<int64_t> OutboxRepo::add(int64_t message_row, const std::string& recipient, ByteView frame) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO outbox (message_row, recipient, frame) VALUES (?1, ?2, ?3)"));
  insert->bind(1, message_row).bind(2, recipient).bind(3, frame);
  SOTTO_RETURN_IF_ERROR(insert->run());
  return db_.last_insert_rowid();
}

Status OutboxRepo::add_shared_frame(int64_t message_row, ByteView frame) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO outbox_frames (message_row, frame) VALUES (?1, ?2)"));
  insert->bind(1, message_row).bind(2, frame);
  return insert->run();
}

Result<int64_t> OutboxRepo::add_shared_to(int64_t message_row, const std::string& recipient) {
  return add(message_row, recipient, ByteView());  // empty: the frame is in outbox_frames
}

Result<std::vector<OutboxEntry>> OutboxRepo::pending(const std::string& recipient, int64_t after_id,
                                                     int64_t limit) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT o.id, o.message_row, o.recipient, "
                                     "CASE WHEN length(o.frame) > 0 THEN o.frame ELSE "
                                     "(SELECT f.frame FROM outbox_frames f "
                                     "WHERE f.message_row = o.message_row) END "
                                     "FROM outbox o WHERE o.recipient = ?1 AND o.id > ?2 "
                                     "ORDER BY o.id LIMIT ?3"));
  select->bind(1, recipient).bind(2, after_id).bind(3, limit);
  std::vector<OutboxEntry> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back({select->column_int64(0), select->column_int64(1), select->column_text(2),
                   select->column_blob(3)});
  }
  select->reset();
  return out;
}

Result<std::vector<int64_t>> OutboxRepo::next_ids(const std::string& recipient, int64_t after_id,
                                                  int64_t limit) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT id FROM outbox WHERE recipient = ?1 AND id > ?2 "
                                     "ORDER BY id LIMIT ?3"));
  select->bind(1, recipient).bind(2, after_id).bind(3, limit);
  std::vector<int64_t> ids;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    ids.push_back(select->column_int64(0));
  }
  select->reset();
  return ids;
}

Result<std::vector<std::string>> OutboxRepo::recipients() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare("SELECT DISTINCT recipient FROM outbox"));
  std::vector<std::string> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back(select->column_text(0));
  }
  select->reset();
  return out;
}

Status OutboxRepo::remove_for_message(int64_t message_row) {
  for (const char* sql : {"DELETE FROM outbox WHERE message_row = ?1",
                          "DELETE FROM outbox_frames WHERE message_row = ?1"}) {
    SOTTO_ASSIGN_OR_RETURN(Statement * remove, db_.prepare(sql));
    remove->bind(1, message_row);
    SOTTO_RETURN_IF_ERROR(remove->run());
  }
  return Status::ok();
}

Status OutboxRepo::remove_for_conversation(const std::string& conversation) {
  for (const char* sql : {"DELETE FROM outbox WHERE message_row IN "
                          "(SELECT id FROM messages WHERE conversation = ?1)",
                          "DELETE FROM outbox_frames WHERE message_row IN "
                          "(SELECT id FROM messages WHERE conversation = ?1)"}) {
    SOTTO_ASSIGN_OR_RETURN(Statement * remove, db_.prepare(sql));
    remove->bind(1, conversation);
    SOTTO_RETURN_IF_ERROR(remove->run());
  }
  return Status::ok();
}

Result<bool> OutboxRepo::remove(int64_t message_row, const std::string& recipient) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * remove,
      db_.prepare("DELETE FROM outbox WHERE message_row = ?1 AND recipient = ?2"));
  remove->bind(1, message_row).bind(2, recipient);
  SOTTO_RETURN_IF_ERROR(remove->run());
  return db_.changes() > 0;
}

Result<int64_t> OutboxRepo::count_for_message(int64_t message_row) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT count(*) FROM outbox WHERE message_row = ?1"));
  select->bind(1, message_row);
  return single_count(*select);
}

Result<bool> OutboxRepo::has_waiting(const std::string& recipient) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT 1 FROM outbox WHERE recipient = ?1 LIMIT 1"));
  select->bind(1, recipient);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  select->reset();
  return has_row;
}

Result<int64_t> OutboxRepo::count_waiting(const std::string& recipient, int64_t through_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT count(*) FROM outbox WHERE recipient = ?1 AND id <= ?2"));
  select->bind(1, recipient).bind(2, through_id);
  return single_count(*select);
}

Result<int64_t> OutboxRepo::count() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare("SELECT count(*) FROM outbox"));
  return single_count(*select);
}

}  // namespace sotto::storage
