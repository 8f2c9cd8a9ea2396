// An in-memory SignalStateStore: the same contract as the SQLCipher one with nothing persisted.
// It is the "bare" twin in benchmarks (libsignal's own cost) and a fast store for unit tests.
#include <map>
#include <set>
#include <tuple>

#include "sotto/crypto/signal_engine.h"

namespace sotto::crypto {
namespace {

class MemorySignalState final : public SignalStateStore {
 public:
  Result<std::optional<StoredRecord>> load_session(std::string_view address,
                                                   int32_t device) override {
    auto it = sessions_.find({std::string(address), device});
    if (it == sessions_.end()) return std::optional<StoredRecord>();
    return std::optional<StoredRecord>(it->second);
  }
  Status store_session(std::string_view address, int32_t device, ByteView record,
                       ByteView user_record) override {
    sessions_[{std::string(address), device}] = {Bytes(record.begin(), record.end()),
                                                 Bytes(user_record.begin(), user_record.end())};
    return Status::ok();
  }
  Result<bool> contains_session(std::string_view address, int32_t device) override {
    return sessions_.count({std::string(address), device}) > 0;
  }
  Result<int> delete_session(std::string_view address, int32_t device) override {
    return static_cast<int>(sessions_.erase({std::string(address), device}));
  }
  Result<int> delete_all_sessions(std::string_view address) override {
    int deleted = 0;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->first.first == address) {
        it = sessions_.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
    return deleted;
  }
  Result<std::vector<int32_t>> sub_device_sessions(std::string_view address) override {
    std::vector<int32_t> devices;
    for (const auto& [key, record] : sessions_) {
      if (key.first == address && key.second != 1) devices.push_back(key.second);
    }
    return devices;
  }

  Result<std::optional<Bytes>> load_pre_key(uint32_t id) override { return find(pre_keys_, id); }
  Status store_pre_key(uint32_t id, ByteView record) override {
    pre_keys_[id] = Bytes(record.begin(), record.end());
    return Status::ok();
  }
  Result<bool> contains_pre_key(uint32_t id) override { return pre_keys_.count(id) > 0; }
  Status remove_pre_key(uint32_t id) override {
    pre_keys_.erase(id);
    return Status::ok();
  }
  Result<std::vector<uint32_t>> pre_key_ids() override {
    std::vector<uint32_t> ids;
    for (const auto& entry : pre_keys_) ids.push_back(entry.first);
    return ids;
  }

  Result<std::optional<Bytes>> load_signed_pre_key(uint32_t id) override {
    return find(signed_pre_keys_, id);
  }
  Status store_signed_pre_key(uint32_t id, ByteView record) override {
    signed_pre_keys_[id] = Bytes(record.begin(), record.end());
    return Status::ok();
  }
  Result<bool> contains_signed_pre_key(uint32_t id) override {
    return signed_pre_keys_.count(id) > 0;
  }
  Status remove_signed_pre_key(uint32_t id) override {
    signed_pre_keys_.erase(id);
    return Status::ok();
  }
  Result<std::optional<uint32_t>> latest_signed_pre_key_id() override {
    if (signed_pre_keys_.empty()) return std::optional<uint32_t>();
    return std::optional<uint32_t>(signed_pre_keys_.rbegin()->first);
  }

  Result<bool> is_trusted_identity(std::string_view address, ByteView key) override {
    auto it = identities_.find(std::string(address));
    return it == identities_.end() || equal_constant_time(it->second, key);
  }
  Status save_identity(std::string_view address, ByteView key) override {
    identities_.emplace(std::string(address), Bytes(key.begin(), key.end()));
    return Status::ok();
  }

  Result<std::optional<StoredRecord>> load_sender_key(ByteView group_id, std::string_view address,
                                                      int32_t device) override {
    auto it =
        sender_keys_.find({Bytes(group_id.begin(), group_id.end()), std::string(address), device});
    if (it == sender_keys_.end()) return std::optional<StoredRecord>();
    return std::optional<StoredRecord>(it->second);
  }
  Status store_sender_key(ByteView group_id, std::string_view address, int32_t device,
                          ByteView record, ByteView user_record) override {
    sender_keys_[{Bytes(group_id.begin(), group_id.end()), std::string(address), device}] = {
        Bytes(record.begin(), record.end()), Bytes(user_record.begin(), user_record.end())};
    return Status::ok();
  }

  Result<int64_t> next_counter(std::string_view name, int64_t count, int64_t initial) override {
    auto [it, inserted] = counters_.emplace(std::string(name), initial);
    const int64_t first = it->second;
    it->second += count;
    return first;
  }

 private:
  static std::optional<Bytes> find(const std::map<uint32_t, Bytes>& map, uint32_t id) {
    auto it = map.find(id);
    if (it == map.end()) return std::nullopt;
    return it->second;
  }

  std::map<std::pair<std::string, int32_t>, StoredRecord> sessions_;
  std::map<uint32_t, Bytes> pre_keys_;
  std::map<uint32_t, Bytes> signed_pre_keys_;
  std::map<std::string, Bytes> identities_;
  std::map<std::tuple<Bytes, std::string, int32_t>, StoredRecord> sender_keys_;
  std::map<std::string, int64_t, std::less<>> counters_;
};

}  // namespace

std::unique_ptr<SignalStateStore> make_memory_signal_state() {
  return std::make_unique<MemorySignalState>();
}

}  // namespace sotto::crypto
