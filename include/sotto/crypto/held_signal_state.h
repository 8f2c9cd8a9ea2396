// HeldSignalState: a SignalStateStore in front of another one that can hold the records every
// message rewrites (sessions and sender keys) in memory, in two levels:
//
//   batch  what one transaction's messages have done so far; written through to the store
//          underneath by release(), just before the caller commits;
//   item   what the message being handled now has done; kept (joins the batch) when the message
//          is accepted, dropped when it is refused.
//
// Why: a message that is refused after its decryption must leave the ratchet where it was, so
// its sender's retry decrypts again. A savepoint per message undoes that too, but SQLCipher then
// encrypts every page the message touches into the savepoint journal: most of a busy receive
// batch's cost. Holding the ratchet's record in memory undoes it for free, and a batch of
// messages from one peer writes that peer's session once instead of once per message.
//
// Everything else (identities, pre-keys, counters) and every delete goes to the store
// underneath at once. Nothing is held unless hold() was called.
// Thread-safety: the engine's thread only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "sotto/crypto/signal_engine.h"

namespace sotto::crypto {

class HeldSignalState final : public SignalStateStore {
 public:
  explicit HeldSignalState(std::unique_ptr<SignalStateStore> inner);

  // From now on, session and sender-key writes are held (as the current item's).
  void hold();
  bool holding() const { return holding_; }
  // The current item was accepted: its writes join the batch.
  void keep_item();
  // The current item was refused: its writes are forgotten.
  void drop_item();
  // Writes the batch (and any item not yet kept or dropped) to the store underneath and stops
  // holding. On an error the caller rolls its transaction back; nothing stays held either way.
  Status release();
  // Forgets everything held and stops holding (the caller's transaction was rolled back).
  void discard();

  Result<std::optional<StoredRecord>> load_session(std::string_view address,
                                                   int32_t device) override;
  Status store_session(std::string_view address, int32_t device, ByteView record,
                       ByteView user_record) override;
  Result<bool> contains_session(std::string_view address, int32_t device) override;
  Result<int> delete_session(std::string_view address, int32_t device) override;
  Result<int> delete_all_sessions(std::string_view address) override;
  Result<std::vector<int32_t>> sub_device_sessions(std::string_view address) override;

  Result<std::optional<Bytes>> load_pre_key(uint32_t id) override;
  Status store_pre_key(uint32_t id, ByteView record) override;
  Result<bool> contains_pre_key(uint32_t id) override;
  Status remove_pre_key(uint32_t id) override;
  Result<std::vector<uint32_t>> pre_key_ids() override;

  Result<std::optional<Bytes>> load_signed_pre_key(uint32_t id) override;
  Status store_signed_pre_key(uint32_t id, ByteView record) override;
  Result<bool> contains_signed_pre_key(uint32_t id) override;
  Status remove_signed_pre_key(uint32_t id) override;
  Result<std::optional<uint32_t>> latest_signed_pre_key_id() override;

  Result<bool> is_trusted_identity(std::string_view address, ByteView key) override;
  Status save_identity(std::string_view address, ByteView key) override;

  Result<std::optional<StoredRecord>> load_sender_key(ByteView group_id, std::string_view address,
                                                      int32_t device) override;
  Status store_sender_key(ByteView group_id, std::string_view address, int32_t device,
                          ByteView record, ByteView user_record) override;

  Result<int64_t> next_counter(std::string_view name, int64_t count, int64_t initial) override;

 private:
  using SessionKey = std::tuple<std::string, int32_t>;           // address, device
  using SenderKeyKey = std::tuple<Bytes, std::string, int32_t>;  // group, address, device
  struct Level {
    std::map<SessionKey, StoredRecord> sessions;
    std::map<SenderKeyKey, StoredRecord> sender_keys;
  };

  void forget_session(const SessionKey& key);

  std::unique_ptr<SignalStateStore> inner_;
  bool holding_ = false;
  Level batch_;
  Level item_;
};

}  // namespace sotto::crypto
