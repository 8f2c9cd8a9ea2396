// OutboxRepo: committed ciphertexts waiting for their receipt, in send order per recipient.
// Thread-safety: as the Database it uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

struct OutboxEntry {
  int64_t id = 0;
  int64_t message_row = 0;
  std::string recipient;
  Bytes frame;
};

class OutboxRepo {
 public:
  explicit OutboxRepo(Database& db) : db_(db) {}

  Result<int64_t> add(int64_t message_row, const std::string& recipient, ByteView frame);
  // One frame for several recipients: stored once; add each recipient with add_shared_to().
  Status add_shared_frame(int64_t message_row, ByteView frame);
  Result<int64_t> add_shared_to(int64_t message_row, const std::string& recipient);
  // Entries for `recipient` with id > after_id, oldest first, at most `limit`.
  Result<std::vector<OutboxEntry>> pending(const std::string& recipient, int64_t after_id,
                                           int64_t limit);
  // Just the ids of those entries (an index scan, no frame read).
  Result<std::vector<int64_t>> next_ids(const std::string& recipient, int64_t after_id,
                                        int64_t limit);
  Result<std::vector<std::string>> recipients();
  Status remove_for_message(int64_t message_row);
  // Drops every entry of the messages of `conversation` (we left or were removed from it).
  Status remove_for_conversation(const std::string& conversation);
  // Removes the entry of `message_row` for `recipient`; false when there was none.
  Result<bool> remove(int64_t message_row, const std::string& recipient);
  // Entries of `message_row` still waiting (one per recipient not yet acknowledged).
  Result<int64_t> count_for_message(int64_t message_row);
  // Whether anything for `recipient` still waits for its receipt (an index probe, no frame read).
  Result<bool> has_waiting(const std::string& recipient);
  // Entries for `recipient` with id <= through_id still waiting for their receipt.
  Result<int64_t> count_waiting(const std::string& recipient, int64_t through_id);
  Result<int64_t> count();

 private:
  Database& db_;
};

}  // namespace sotto::storage
