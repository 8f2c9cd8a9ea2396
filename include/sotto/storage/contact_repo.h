// ContactRepo: the people this profile talks to, with their identity key and trust state.
// Thread-safety: as the Database it uses.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

enum class Trust : int64_t { kUnverified = 0, kVerified = 1, kChanged = 2 };

struct ContactRecord {
  std::string fingerprint;
  std::string name;
  Bytes identity_key;
  Trust trust = Trust::kUnverified;
  std::string offered_fingerprint;  // when kChanged
  Bytes offered_key;
  int64_t added_at = 0;
};

class ContactRepo {
 public:
  explicit ContactRepo(Database& db) : db_(db) {}

  // Inserts, or updates the name of an existing contact (trust is kept).
  Status upsert(const ContactRecord& contact);
  Result<std::optional<ContactRecord>> find(const std::string& fingerprint);
  Result<std::vector<ContactRecord>> list();
  // Lookups by what a user types (a name, or the start of a fingerprint in lower-case hex), each
  // through an index: resolving the recipient of every message must not read every contact.
  Result<std::vector<ContactRecord>> with_name(const std::string& name);
  Result<std::vector<ContactRecord>> with_fingerprint_prefix(const std::string& prefix);
  Status set_trust(const std::string& fingerprint, Trust trust);
  // Someone else now uses this contact's name: remember who, and stop trusting.
  Status mark_changed(const std::string& fingerprint, const std::string& offered_fingerprint,
                      ByteView offered_key);
  // The user re-verified a changed contact: it becomes the offered identity, verified.
  Status adopt_offered(const std::string& fingerprint);

 private:
  Database& db_;
};

}  // namespace sotto::storage
