// SignalRepo: the rows behind libsignal's five stores (sessions, pre-keys, signed pre-keys, remote
// identities, sender keys). Opaque serialized records in, the same bytes out; the crypto layer
// knows what they mean. Callers group writes in a Transaction where they must be atomic with
// other writes (a decrypt with the archive insert of its plaintext).
// Thread-safety: as the Database it uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

struct RecordBlob {
  Bytes record;
  Bytes user_record;  // empty when none was stored
};

// What the identity store knows of a remote address.
struct RemoteIdentity {
  Bytes trusted_key;  // the key first seen (or last re-verified) for this address
  Bytes offered_key;  // a different key seen since; empty when none
};

class SignalRepo {
 public:
  explicit SignalRepo(Database& db) : db_(db) {}

  Result<std::optional<RecordBlob>> load_session(std::string_view address, int32_t device_id);
  Status store_session(std::string_view address, int32_t device_id, ByteView record,
                       ByteView user_record);
  Result<bool> contains_session(std::string_view address, int32_t device_id);
  // Number of rows deleted.
  Result<int> delete_session(std::string_view address, int32_t device_id);
  Result<int> delete_all_sessions(std::string_view address);
  // Device ids with a session for `address`, other than device 1 (libsignal's contract).
  Result<std::vector<int32_t>> sub_device_sessions(std::string_view address);

  Result<std::optional<Bytes>> load_pre_key(uint32_t id);
  Status store_pre_key(uint32_t id, ByteView record);
  Result<bool> contains_pre_key(uint32_t id);
  Status remove_pre_key(uint32_t id);
  Result<int64_t> count_pre_keys();
  Result<std::vector<uint32_t>> pre_key_ids();

  Result<std::optional<Bytes>> load_signed_pre_key(uint32_t id);
  Status store_signed_pre_key(uint32_t id, ByteView record);
  Result<bool> contains_signed_pre_key(uint32_t id);
  Status remove_signed_pre_key(uint32_t id);
  // The newest signed pre-key's id (the highest), nullopt when there is none.
  Result<std::optional<uint32_t>> latest_signed_pre_key_id();

  Result<std::optional<RemoteIdentity>> load_identity(std::string_view address);
  // Records `key` as trusted for an address seen for the first time. For a known address whose
  // trusted key differs, the key is kept as offered_key and NOT trusted; returns false then.
  Result<bool> save_identity(std::string_view address, ByteView key);
  // The user re-verified: `key` becomes the trusted key and the offered key is cleared.
  Status replace_trusted_identity(std::string_view address, ByteView key);
  Status delete_identity(std::string_view address);

  Result<std::optional<RecordBlob>> load_sender_key(ByteView group_id, std::string_view address,
                                                    int32_t device_id);
  Status store_sender_key(ByteView group_id, std::string_view address, int32_t device_id,
                          ByteView record, ByteView user_record);
  Status delete_sender_key(ByteView group_id, std::string_view address, int32_t device_id);

  // Reserves `count` consecutive values of a named counter and returns the first.
  Result<int64_t> next_counter(std::string_view name, int64_t count, int64_t initial);

 private:
  Result<std::optional<Bytes>> load_blob(std::string_view sql, uint32_t id);
  Result<bool> exists(std::string_view sql, uint32_t id);

  Database& db_;
};

}  // namespace sotto::storage
