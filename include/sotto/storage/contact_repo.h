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

// There is no "changed": a contact is one identity key (its fingerprint is the key's hash), so
// its key cannot change; a different key is a different contact (see namesake_of).
enum class Trust : int64_t { kUnverified = 0, kVerified = 1 };

struct ContactRecord {
  std::string fingerprint;
  std::string name;
  Bytes identity_key;
  Trust trust = Trust::kUnverified;
  int64_t added_at = 0;
  // When this contact was made with a name another contact already had: that contact's
  // fingerprint. A namesake is never found by the name (the other one is) and is shown as
  // "also calls itself NAME".
  std::string namesake_of;
};

class ContactRepo {
 public:
  explicit ContactRepo(Database& db) : db_(db) {}

  // Inserts, or updates the name of an existing contact (trust and namesake_of are kept). A new
  // contact whose name another contact already has becomes that one's namesake.
  Status upsert(const ContactRecord& contact);
  Result<std::optional<ContactRecord>> find(const std::string& fingerprint);
  Result<std::vector<ContactRecord>> list();
  // Lookups by what a user types (a name, or the start of a fingerprint in lower-case hex), each
  // through an index: resolving the recipient of every message must not read every contact.
  Result<std::vector<ContactRecord>> with_name(const std::string& name);
  Result<std::vector<ContactRecord>> with_fingerprint_prefix(const std::string& prefix);
  Status set_trust(const std::string& fingerprint, Trust trust);
  // `fingerprint` now answers to its name, and the contact it was a namesake of (if any)
  // becomes its namesake: the explicit replacement of one key by another (bob reinstalled).
  Status take_name(const std::string& fingerprint, const std::string& name);

 private:
  Database& db_;
};

}  // namespace sotto::storage
