#include "sotto/crypto/sql_signal_state.h"

#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/signal_repo.h"

namespace sotto::crypto {
namespace {

std::optional<StoredRecord> to_stored(std::optional<storage::RecordBlob> blob) {
  if (!blob) return std::nullopt;
  return StoredRecord{std::move(blob->record), std::move(blob->user_record)};
}

// Adapts storage::SignalRepo to the engine's store interface; the repo does the SQL.
class SqlSignalState final : public SignalStateStore {
 public:
  explicit SqlSignalState(storage::Database& db) : repo_(db) {}

  Result<std::optional<StoredRecord>> load_session(std::string_view address,
                                                   int32_t device) override {
    SOTTO_ASSIGN_OR_RETURN(auto blob, repo_.load_session(address, device));
    return to_stored(std::move(blob));
  }
  Status store_session(std::string_view address, int32_t device, ByteView record,
                       ByteView user_record) override {
    return repo_.store_session(address, device, record, user_record);
  }
  Result<bool> contains_session(std::string_view address, int32_t device) override {
    return repo_.contains_session(address, device);
  }
  Result<int> delete_session(std::string_view address, int32_t device) override {
    return repo_.delete_session(address, device);
  }
  Result<int> delete_all_sessions(std::string_view address) override {
    return repo_.delete_all_sessions(address);
  }
  Result<std::vector<int32_t>> sub_device_sessions(std::string_view address) override {
    return repo_.sub_device_sessions(address);
  }

  Result<std::optional<Bytes>> load_pre_key(uint32_t id) override { return repo_.load_pre_key(id); }
  Status store_pre_key(uint32_t id, ByteView record) override {
    return repo_.store_pre_key(id, record);
  }
  Result<bool> contains_pre_key(uint32_t id) override { return repo_.contains_pre_key(id); }
  Status remove_pre_key(uint32_t id) override { return repo_.remove_pre_key(id); }
  Result<std::vector<uint32_t>> pre_key_ids() override { return repo_.pre_key_ids(); }

  Result<std::optional<Bytes>> load_signed_pre_key(uint32_t id) override {
    return repo_.load_signed_pre_key(id);
  }
  Status store_signed_pre_key(uint32_t id, ByteView record) override {
    return repo_.store_signed_pre_key(id, record);
  }
  Result<bool> contains_signed_pre_key(uint32_t id) override {
    return repo_.contains_signed_pre_key(id);
  }
  Status remove_signed_pre_key(uint32_t id) override { return repo_.remove_signed_pre_key(id); }
  Result<std::optional<uint32_t>> latest_signed_pre_key_id() override {
    return repo_.latest_signed_pre_key_id();
  }

  Result<bool> is_trusted_identity(std::string_view address, ByteView key) override {
    // sotto's Signal addresses are identity fingerprints: a key that does not hash to its
    // address belongs to someone else, whoever sent it (a first message naming another identity).
    if (fingerprint_of(key) != address) return false;
    SOTTO_ASSIGN_OR_RETURN(auto known, repo_.load_identity(address));
    if (!known) return true;
    if (equal_constant_time(known->trusted_key, key)) return true;
    // Keep the offered key so the user can see and verify it; it stays untrusted.
    SOTTO_RETURN_IF_ERROR(repo_.save_identity(address, key).status());
    return false;
  }
  Status save_identity(std::string_view address, ByteView key) override {
    return repo_.save_identity(address, key).status();
  }

  Result<std::optional<StoredRecord>> load_sender_key(ByteView group_id, std::string_view address,
                                                      int32_t device) override {
    SOTTO_ASSIGN_OR_RETURN(auto blob, repo_.load_sender_key(group_id, address, device));
    return to_stored(std::move(blob));
  }
  Status store_sender_key(ByteView group_id, std::string_view address, int32_t device,
                          ByteView record, ByteView user_record) override {
    return repo_.store_sender_key(group_id, address, device, record, user_record);
  }

  Result<int64_t> next_counter(std::string_view name, int64_t count, int64_t initial) override {
    return repo_.next_counter(name, count, initial);
  }

 private:
  storage::SignalRepo repo_;
};

}  // namespace

std::unique_ptr<SignalStateStore> make_sql_signal_state(storage::Database& db) {
  return std::make_unique<SqlSignalState>(db);
}

}  // namespace sotto::crypto
