#include "sotto/storage/expiry_repo.h"

#include "sotto/storage/search_repo.h"

namespace sotto::storage {

Status ExpiryRepo::set(const ExpiryRecord& r) {
  SOTTO_ASSIGN_OR_RETURN(auto before, get(r.conversation));
  const bool expiring = r.expire_ms > 0;
  if (before.has_value() != expiring) {
    SOTTO_RETURN_IF_ERROR(SearchRepo(db_).move_conversation(r.conversation, expiring));
  }
  if (!expiring) {
    SOTTO_ASSIGN_OR_RETURN(Statement * remove,
                           db_.prepare("DELETE FROM expiry WHERE conversation = ?1"));
    remove->bind(1, r.conversation);
    return remove->run();
  }
  // SQLite 3.15 has no UPSERT; the primary key makes REPLACE a clean overwrite here.
  SOTTO_ASSIGN_OR_RETURN(Statement * replace,
                         db_.prepare("INSERT OR REPLACE INTO expiry (conversation, expire_ms, "
                                     "set_by, set_at) VALUES (?1, ?2, ?3, ?4)"));
  replace->bind(1, r.conversation).bind(2, r.expire_ms).bind(3, r.set_by).bind(4, r.set_at);
  return replace->run();
}

namespace {

Result<std::vector<ExpiryRecord>> read_expiries(Statement* select) {
  std::vector<ExpiryRecord> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back({select->column_text(0), select->column_int64(1), select->column_text(2),
                   select->column_int64(3)});
  }
  select->reset();
  return out;
}

}  // namespace

Result<std::optional<ExpiryRecord>> ExpiryRepo::get(const std::string& conversation) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT conversation, expire_ms, set_by, set_at FROM expiry "
                                     "WHERE conversation = ?1"));
  select->bind(1, conversation);
  SOTTO_ASSIGN_OR_RETURN(auto rows, read_expiries(select));
  if (rows.empty()) return std::optional<ExpiryRecord>();
  return std::optional<ExpiryRecord>(rows.front());
}

Result<std::vector<ExpiryRecord>> ExpiryRepo::active() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT conversation, expire_ms, set_by, set_at FROM expiry "
                                     "WHERE expire_ms > 0 ORDER BY conversation"));
  return read_expiries(select);
}

Result<int64_t> ExpiryRepo::delete_before(const std::string& conversation,
                                          int64_t received_before_ms) {
  SOTTO_ASSIGN_OR_RETURN(Statement * remove,
                         db_.prepare("DELETE FROM messages WHERE conversation = ?1 AND kind != 3 "
                                     "AND received_at < ?2"));
  remove->bind(1, conversation).bind(2, received_before_ms);
  SOTTO_RETURN_IF_ERROR(remove->run());
  return db_.changes();
}

}  // namespace sotto::storage
