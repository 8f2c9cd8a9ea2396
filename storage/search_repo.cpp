#include "sotto/storage/search_repo.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace sotto::storage {
namespace {

// The join is driven by the full-text index (outer loop) walked from the newest docid, so
// SQLite neither sorts nor reads a message that does not match; messages are fetched by row id.
// snippet(): column 0 (body), marks around each matching word, "…" where text is cut.
constexpr const char* kSearchAll =
    "SELECT m.id, m.message_id, m.conversation, m.sender, m.outgoing, m.kind, m.body, m.sent_at, "
    "m.received_at, m.state, snippet(message_search, '[', ']', '…', 0, ?3) "
    "FROM message_search JOIN messages m ON m.id = message_search.docid "
    "WHERE message_search MATCH ?1 ORDER BY message_search.docid DESC LIMIT ?2";
constexpr const char* kSearchConversation =
    "SELECT m.id, m.message_id, m.conversation, m.sender, m.outgoing, m.kind, m.body, m.sent_at, "
    "m.received_at, m.state, snippet(message_search, '[', ']', '…', 0, ?3) "
    "FROM message_search JOIN messages m ON m.id = message_search.docid "
    "WHERE message_search MATCH ?1 AND m.conversation = ?4 "
    "ORDER BY message_search.docid DESC LIMIT ?2";

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
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare(conversation.empty() ? kSearchAll : kSearchConversation));
  select->bind(1, query).bind(2, limit).bind(3, int64_t{kSnippetWords});
  if (!conversation.empty()) select->bind(4, conversation);
  std::vector<SearchMatch> out;
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
  return out;
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
  // One statement: FTS4 gathers the rows' terms and writes them as one segment at the commit.
  SOTTO_ASSIGN_OR_RETURN(
      Statement * index,
      db_.prepare("INSERT INTO message_search (docid, body) SELECT id, body FROM messages "
                  "WHERE id > ?1 AND id <= ?2 AND kind = 0"));
  index->bind(1, through).bind(2, last);
  SOTTO_RETURN_IF_ERROR(index->run());
  SOTTO_ASSIGN_OR_RETURN(Statement * mark,
                         db_.prepare("UPDATE message_search_state SET indexed_through = ?1"));
  mark->bind(1, last);
  SOTTO_RETURN_IF_ERROR(mark->run());
  return own ? own->commit() : Status::ok();
}

Status SearchRepo::optimize() {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * optimize,
      db_.prepare("INSERT INTO message_search (message_search) VALUES ('optimize')"));
  return optimize->run();
}

}  // namespace sotto::storage
