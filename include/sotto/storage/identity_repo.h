// IdentityRepo: this profile's own identity row (Signal identity, registration id, transport keys).
// Thread-safety: as the Database it uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

struct IdentityRecord {
  std::string name;
  Bytes public_key;  // serialized Signal identity public key
  SecretBytes private_key;
  uint32_t registration_id = 0;
  Bytes transport_public;  // CurveZMQ public key (32 bytes)
  SecretBytes transport_secret;
  Bytes transport_signature;  // identity signature over transport_public
  int64_t created_at = 0;
};

class IdentityRepo {
 public:
  explicit IdentityRepo(Database& db) : db_(db) {}

  // Errors: InvalidArgument when an identity already exists.
  Status create(const IdentityRecord& identity);
  // nullopt when the profile has no identity yet.
  Result<std::optional<IdentityRecord>> load();

 private:
  Database& db_;
};

}  // namespace sotto::storage
