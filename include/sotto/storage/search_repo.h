// SearchRepo: full-text search of the archive's text messages (FTS4 tables message_search and,
// for conversations with disappearing messages, message_search_expiring: migrations 0006, 0008).
// New text messages are indexed in batches: by the owner in a quiet moment (catch_up), by a
// commit itself once kIndexBatch rows have gathered (MessageRepo::insert tells this repo about
// each), and before every search, so searches always see the whole archive; deleting or
// changing a message updates the index through triggers, whichever code does it.
//
// Queries use FTS4's standard syntax: words must all occur (in any order), "a phrase" in order,
// prefix* matches the start of words, a OR b either, -word excludes, a NEAR b within 10 words.
// Case and accents do not matter (unicode61 tokenizer, diacritics removed).
// Thread-safety: as the Database it uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/storage/database.h"
#include "sotto/storage/message_repo.h"

namespace sotto::storage {

struct SearchMatch {
  MessageRecord message;
  // Up to kSnippetWords words of the body around the best match, each matching word in
  // [brackets], with "…" where the body goes on.
  std::string snippet;
};

class SearchRepo {
 public:
  static constexpr int kSnippetWords = 16;
  // Rows a commit lets gather before it indexes them itself, as one index segment. The node
  // indexes sooner, when it is quiet (Messenger::tidy_when_quiet); this bounds the work that
  // the commits of a node never quiet meet (about 20 ms for 4,096 rows here).
  static constexpr int64_t kIndexBatch = 4096;

  explicit SearchRepo(Database& db) : db_(db) {}

  // The newest `limit` text messages that match `query`, newest first; only those of
  // `conversation` unless it is empty. Indexes what is pending first (a write), then walks the
  // index's entries for the query's words from the newest end: no sort, and no message read
  // that does not match. Errors: InvalidArgument ("bad search query ...") for an empty or
  // malformed query.
  Result<std::vector<SearchMatch>> search(const std::string& query, const std::string& conversation,
                                          int64_t limit);

  // Row `row` was just inserted (MessageRepo::insert calls this, in its transaction): indexes
  // the pending rows once kIndexBatch have gathered.
  Status note_inserted(int64_t row);
  // Indexes every text message not indexed yet. In the caller's transaction if one is open,
  // else in its own.
  Status catch_up();

  // Deleting a message only marks its words deleted: they stay inside older index segments
  // until the segments merge, and a merge rewrites the whole index.
  //
  // Merges the main index into one segment: seconds for a million messages.
  Status optimize();
  // Merges the index of conversations with disappearing messages, so that it keeps no word of a
  // message deleted before: cheap, since it holds only what their expiry windows keep. For
  // after each expiry sweep, in its transaction.
  Status forget_expired();
  // The conversation's disappearing messages were turned on (`expiring`) or off: moves its
  // indexed messages to the index that now fits, and merges the one they left. Rows not
  // indexed yet go to the right one anyway. In the transaction that changes the setting.
  Status move_conversation(const std::string& conversation, bool expiring);

 private:
  Status search_index(const char* index, const std::string& query, const std::string& conversation,
                      int64_t limit, std::vector<SearchMatch>& out);
  Status merge(const std::string& index);

  Database& db_;
};

}  // namespace sotto::storage
