// ExpiryRepo: disappearing messages (migration 0007) — how long each conversation keeps its
// messages, and the deletion of those past it.
// Thread-safety: as the Database it uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

struct ExpiryRecord {
  std::string conversation;
  int64_t expire_ms = 0;  // 0: off
  std::string set_by;
  int64_t set_at = 0;
};

class ExpiryRepo {
 public:
  explicit ExpiryRepo(Database& db) : db_(db) {}

  // Sets (or with expire_ms 0, clears) the conversation's setting.
  Status set(const ExpiryRecord& record);
  Result<std::optional<ExpiryRecord>> get(const std::string& conversation);
  // Every conversation with a setting other than off.
  Result<std::vector<ExpiryRecord>> active();
  // Deletes the conversation's messages (text, system events, voice clips with their packets;
  // not the hidden control rows that make delivery exactly-once) that arrived before
  // `received_before_ms`; with secure_delete on, their pages are overwritten. The number deleted.
  Result<int64_t> delete_before(const std::string& conversation, int64_t received_before_ms);

 private:
  Database& db_;
};

}  // namespace sotto::storage
