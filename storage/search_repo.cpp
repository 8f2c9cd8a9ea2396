#include "sotto/storage/search_repo.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace sotto::storage {
namespace {

// The two indexes (migration 0008): message_search for conversations that keep their messages,
// message_search_expiring for those with disappearing messages on.
constexpr const char* kMainIndex = "message_search";
constexpr const char* kExpiringIndex = "message_search_expiring";

// The join is driven by the full-text index (outer loop) walked from the newest docid, so
// SQLite neither sorts nor reads a message that does not match; messages are fetched by row id.
// snippet(): column 0 (body), marks around each matching word, "…" where text is cut.
std::string search_sql(const std::string& index, bool in_conversation) {
  return "SELECT m.id, m.message_id, m.conversation, m.sender, m.outgoing, m.kind, m.body, "
         "m.sent_at, m.received_at, m.state, snippet(" +
         index + ", '[', ']', '…', 0, ?3) FROM " + index + " JOIN messages m ON m.id = " + index +
         ".docid WHERE " + index + " MATCH ?1" +
         (in_conversation ? " AND m.conversation = ?4" : "") + " ORDER BY " + index +
         ".docid DESC LIMIT ?2";
}

bool blank(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

// FTS4 reports a query it cannot parse as a plain SQLite error with this text.
bool is_malformed_query(const Status& status) {
  return status.message().find("malformed MATCH expression") != std::string::npos;
}

}  // namespace

Result<std::vector<SearchMatch>> SearchRepo::search(const std::string& query,
                                                    const std::string& conversation,
                                                    int64_t limit) {
  if (blank(query)) return Status::invalid_argument("bad search query: it is empty");
  SOTTO_RETURN_IF_ERROR(catch_up());
  std::vector<SearchMatch> out;
  for (const char* index : {kMainIndex, kExpiringIndex}) {
    SOTTO_RETURN_IF_ERROR(search_index(index, query, conversation, limit, out));
  }
  // Newest first across both; each gave at most `limit`.
  std::sort(out.begin(), out.end(), [](const SearchMatch& a, const SearchMatch& b) {
    return a.message.row_id > b.message.row_id;
  });
  if (out.size() > static_cast<size_t>(std::max<int64_t>(limit, 0))) out.resize(limit);
  return out;
}

Status SearchRepo::search_index(const char* index, const std::string& query,
                                const std::string& conversation, int64_t limit,
                                std::vector<SearchMatch>& out) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare(search_sql(index, !conversation.empty())));
  select->bind(1, query).bind(2, limit).bind(3, int64_t{kSnippetWords});
  if (!conversation.empty()) select->bind(4, conversation);
  for (;;) {
    Result<bool> has_row = select->step();
    if (!has_row.is_ok()) {
      select->reset();
      if (is_malformed_query(has_row.status())) {
        return Status::invalid_argument(
            "bad search query '" + query +
            "': check for an unclosed \" or an OR, NEAR or -word with no word to go with it");
      }
      return has_row.status();
    }
    if (!has_row.value()) break;
    SearchMatch match;
    match.message = message_from_row(*select);
    match.snippet = select->column_text(10);
    out.push_back(std::move(match));
  }
  select->reset();
  return Status::ok();
}

namespace {

Result<int64_t> indexed_through(Database& db) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db.prepare("SELECT indexed_through FROM message_search_state"));
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  const int64_t through = has_row ? select->column_int64(0) : 0;
  select->reset();
  return through;
}

}  // namespace

Status SearchRepo::note_inserted(int64_t row) {
  SOTTO_ASSIGN_OR_RETURN(int64_t through, indexed_through(db_));
  return row - through >= kIndexBatch ? catch_up() : Status::ok();
}

Status SearchRepo::catch_up() {
  std::optional<Transaction> own;
  if (!db_.in_transaction()) {
    own.emplace(db_);
    SOTTO_RETURN_IF_ERROR(own->begin_status());
  }
  SOTTO_ASSIGN_OR_RETURN(int64_t through, indexed_through(db_));
  SOTTO_ASSIGN_OR_RETURN(Statement * newest,
                         db_.prepare("SELECT coalesce(max(id), 0) FROM messages"));
  SOTTO_ASSIGN_OR_RETURN(bool has_row, newest->step());
  const int64_t last = has_row ? newest->column_int64(0) : 0;
  newest->reset();
  if (last <= through) return own ? own->commit() : Status::ok();
  // One statement per index: FTS4 gathers the rows' terms and writes them as one segment at
  // the commit.
  for (const auto& [index, expiring] : {std::pair{kMainIndex, false}, {kExpiringIndex, true}}) {
    SOTTO_ASSIGN_OR_RETURN(
        Statement * add,
        db_.prepare(std::string("INSERT INTO ") + index +
                    " (docid, body) SELECT id, body FROM messages WHERE id > ?1 AND id <= ?2 "
                    "AND kind = 0 AND conversation " +
                    (expiring ? "IN" : "NOT IN") + " (SELECT conversation FROM expiry)"));
    add->bind(1, through).bind(2, last);
    SOTTO_RETURN_IF_ERROR(add->run());
  }
  SOTTO_ASSIGN_OR_RETURN(Statement * mark,
                         db_.prepare("UPDATE message_search_state SET indexed_through = ?1"));
  mark->bind(1, last);
  SOTTO_RETURN_IF_ERROR(mark->run());
  return own ? own->commit() : Status::ok();
}

Status SearchRepo::move_conversation(const std::string& conversation, bool expiring) {
  const std::string from = expiring ? kMainIndex : kExpiringIndex;
  const std::string to = expiring ? kExpiringIndex : kMainIndex;
  SOTTO_ASSIGN_OR_RETURN(int64_t through, indexed_through(db_));
  // Row by row: FTS4 finds a docid it is told, not a list of them. The rows still exist, so
  // FTS4 can read which words to mark deleted.
  SOTTO_ASSIGN_OR_RETURN(Statement * rows,
                         db_.prepare("SELECT id FROM messages WHERE conversation = ?1 AND "
                                     "kind = 0 AND id <= ?2"));
  rows->bind(1, conversation).bind(2, through);
  std::vector<int64_t> ids;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, rows->step());
    if (!has_row) break;
    ids.push_back(rows->column_int64(0));
  }
  rows->reset();
  if (ids.empty()) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(Statement * remove,
                         db_.prepare("DELETE FROM " + from + " WHERE docid = ?1"));
  for (int64_t id : ids) {
    remove->bind(1, id);
    SOTTO_RETURN_IF_ERROR(remove->run());
  }
  SOTTO_ASSIGN_OR_RETURN(Statement * add,
                         db_.prepare("INSERT INTO " + to +
                                     " (docid, body) SELECT id, body FROM messages "
                                     "WHERE conversation = ?1 AND kind = 0 AND id <= ?2"));
  add->bind(1, conversation).bind(2, through);
  SOTTO_RETURN_IF_ERROR(add->run());
  return merge(from);
}

Status SearchRepo::merge(const std::string& index) {
  SOTTO_ASSIGN_OR_RETURN(Statement * optimize, db_.prepare("INSERT INTO " + index + " (" + index +
                                                           ") VALUES ('optimize')"));
  return optimize->run();
}

Status SearchRepo::optimize() {
  return merge(kMainIndex);
}

Status SearchRepo::forget_expired() {
  return merge(kExpiringIndex);
}

}  // namespace sotto::storage
