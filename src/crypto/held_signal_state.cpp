#include "sotto/crypto/held_signal_state.h"

#include <algorithm>
#include <set>

namespace sotto::crypto {
namespace {

// The record held for `key`: the item's if it has one, else the batch's; nullptr when neither.
template <typename Map>
const StoredRecord* find_held(const Map& item, const Map& batch,
                              const typename Map::key_type& key) {
  for (const Map* level : {&item, &batch}) {
    auto it = level->find(key);
    if (it != level->end()) return &it->second;
  }
  return nullptr;
}

StoredRecord record_of(ByteView record, ByteView user_record) {
  return StoredRecord{Bytes(record.begin(), record.end()),
                      Bytes(user_record.begin(), user_record.end())};
}

template <typename Map>
void merge_into(Map& to, Map& from) {
  for (auto& [key, record] : from) to.insert_or_assign(key, std::move(record));
  from.clear();
}

}  // namespace

HeldSignalState::HeldSignalState(std::unique_ptr<SignalStateStore> inner)
    : inner_(std::move(inner)) {}

void HeldSignalState::hold() {
  holding_ = true;
}

void HeldSignalState::keep_item() {
  merge_into(batch_.sessions, item_.sessions);
  merge_into(batch_.sender_keys, item_.sender_keys);
}

void HeldSignalState::drop_item() {
  item_ = Level{};
}

Status HeldSignalState::release() {
  keep_item();
  Level batch = std::move(batch_);
  batch_ = Level{};
  holding_ = false;
  for (const auto& [key, record] : batch.sessions) {
    const auto& [address, device] = key;
    SOTTO_RETURN_IF_ERROR(
        inner_->store_session(address, device, record.record, record.user_record));
  }
  for (const auto& [key, record] : batch.sender_keys) {
    const auto& [group, address, device] = key;
    SOTTO_RETURN_IF_ERROR(
        inner_->store_sender_key(group, address, device, record.record, record.user_record));
  }
  return Status::ok();
}

void HeldSignalState::discard() {
  item_ = Level{};
  batch_ = Level{};
  holding_ = false;
}

// --- sessions ---

Result<std::optional<StoredRecord>> HeldSignalState::load_session(std::string_view address,
                                                                  int32_t device) {
  const SessionKey key{std::string(address), device};
  if (const StoredRecord* held = find_held(item_.sessions, batch_.sessions, key))
    return std::optional<StoredRecord>(*held);
  return inner_->load_session(address, device);
}

Status HeldSignalState::store_session(std::string_view address, int32_t device, ByteView record,
                                      ByteView user_record) {
  if (!holding_) return inner_->store_session(address, device, record, user_record);
  item_.sessions.insert_or_assign(SessionKey{std::string(address), device},
                                  record_of(record, user_record));
  return Status::ok();
}

Result<bool> HeldSignalState::contains_session(std::string_view address, int32_t device) {
  const SessionKey key{std::string(address), device};
  if (find_held(item_.sessions, batch_.sessions, key) != nullptr) return true;
  return inner_->contains_session(address, device);
}

void HeldSignalState::forget_session(const SessionKey& key) {
  item_.sessions.erase(key);
  batch_.sessions.erase(key);
}

// A delete is not held: it reaches the store at once, and whatever was held for it is gone.
Result<int> HeldSignalState::delete_session(std::string_view address, int32_t device) {
  const SessionKey key{std::string(address), device};
  const bool was_held = find_held(item_.sessions, batch_.sessions, key) != nullptr;
  forget_session(key);
  SOTTO_ASSIGN_OR_RETURN(int deleted, inner_->delete_session(address, device));
  return deleted > 0 || was_held ? 1 : 0;
}

Result<int> HeldSignalState::delete_all_sessions(std::string_view address) {
  std::set<int32_t> devices;
  for (const Level* level : {&item_, &batch_}) {
    for (const auto& [key, record] : level->sessions) {
      if (std::get<0>(key) == address) devices.insert(std::get<1>(key));
    }
  }
  for (int32_t device : devices) forget_session(SessionKey{std::string(address), device});
  SOTTO_ASSIGN_OR_RETURN(int deleted, inner_->delete_all_sessions(address));
  return std::max(deleted, static_cast<int>(devices.size()));
}

Result<std::vector<int32_t>> HeldSignalState::sub_device_sessions(std::string_view address) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<int32_t> stored, inner_->sub_device_sessions(address));
  std::set<int32_t> devices(stored.begin(), stored.end());
  for (const Level* level : {&item_, &batch_}) {
    for (const auto& [key, record] : level->sessions) {
      // Like the store: the other devices, not the default one.
      if (std::get<0>(key) == address && std::get<1>(key) != SignalEngine::kDeviceId) {
        devices.insert(std::get<1>(key));
      }
    }
  }
  return std::vector<int32_t>(devices.begin(), devices.end());
}

// --- sender keys ---

Result<std::optional<StoredRecord>> HeldSignalState::load_sender_key(ByteView group_id,
                                                                     std::string_view address,
                                                                     int32_t device) {
  const SenderKeyKey key{Bytes(group_id.begin(), group_id.end()), std::string(address), device};
  if (const StoredRecord* held = find_held(item_.sender_keys, batch_.sender_keys, key)) {
    return std::optional<StoredRecord>(*held);
  }
  return inner_->load_sender_key(group_id, address, device);
}

Status HeldSignalState::store_sender_key(ByteView group_id, std::string_view address,
                                         int32_t device, ByteView record, ByteView user_record) {
  if (!holding_) return inner_->store_sender_key(group_id, address, device, record, user_record);
  item_.sender_keys.insert_or_assign(
      SenderKeyKey{Bytes(group_id.begin(), group_id.end()), std::string(address), device},
      record_of(record, user_record));
  return Status::ok();
}

// --- written through ---

Result<std::optional<Bytes>> HeldSignalState::load_pre_key(uint32_t id) {
  return inner_->load_pre_key(id);
}
Status HeldSignalState::store_pre_key(uint32_t id, ByteView record) {
  return inner_->store_pre_key(id, record);
}
Result<bool> HeldSignalState::contains_pre_key(uint32_t id) {
  return inner_->contains_pre_key(id);
}
Status HeldSignalState::remove_pre_key(uint32_t id) {
  return inner_->remove_pre_key(id);
}
Result<std::vector<uint32_t>> HeldSignalState::pre_key_ids() {
  return inner_->pre_key_ids();
}

Result<std::optional<Bytes>> HeldSignalState::load_signed_pre_key(uint32_t id) {
  return inner_->load_signed_pre_key(id);
}
Status HeldSignalState::store_signed_pre_key(uint32_t id, ByteView record) {
  return inner_->store_signed_pre_key(id, record);
}
Result<bool> HeldSignalState::contains_signed_pre_key(uint32_t id) {
  return inner_->contains_signed_pre_key(id);
}
Status HeldSignalState::remove_signed_pre_key(uint32_t id) {
  return inner_->remove_signed_pre_key(id);
}
Result<std::optional<uint32_t>> HeldSignalState::latest_signed_pre_key_id() {
  return inner_->latest_signed_pre_key_id();
}

Result<bool> HeldSignalState::is_trusted_identity(std::string_view address, ByteView key) {
  return inner_->is_trusted_identity(address, key);
}
Status HeldSignalState::save_identity(std::string_view address, ByteView key) {
  return inner_->save_identity(address, key);
}

Result<int64_t> HeldSignalState::next_counter(std::string_view name, int64_t count,
                                              int64_t initial) {
  return inner_->next_counter(name, count, initial);
}

}  // namespace sotto::crypto
