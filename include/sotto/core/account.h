// Account: an unlocked profile, with its identity and Signal engine ready for use.
//
// `create` makes a whole new identity in one transaction: the Signal identity key pair and
// registration id, a signed pre-key, 100 one-time pre-keys, and a CurveZMQ transport key pair
// bound to the identity by an identity signature. `open` unlocks an existing profile.
// Thread-safety: one owner thread, like the Profile and SignalEngine inside it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/crypto/held_signal_state.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/profile.h"

namespace sotto::core {

// What a transport key signature covers: a domain label, then the 32-byte CurveZMQ public key.
Bytes transport_binding_message(ByteView transport_public);

class Account {
 public:
  static constexpr size_t kMaxNameBytes = 64;

  // Errors: InvalidArgument for an unusable name or an existing profile; as Profile::create.
  static Result<std::unique_ptr<Account>> create(const std::string& dir,
                                                 const SecretBytes& passphrase,
                                                 const std::string& name,
                                                 const storage::KdfParams& kdf);
  // Errors: as Profile::open; Corruption when the profile has no identity.
  static Result<std::unique_ptr<Account>> open(const std::string& dir,
                                               const SecretBytes& passphrase);

  const std::string& name() const { return name_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const Bytes& identity_key() const { return signal_->identity().public_key; }
  const Bytes& transport_public() const { return transport_public_; }
  const SecretBytes& transport_secret() const { return transport_secret_; }
  const Bytes& transport_signature() const { return transport_signature_; }

  storage::Profile& profile() { return *profile_; }
  storage::Database& db() { return profile_->db(); }
  crypto::SignalEngine& signal() { return *signal_; }
  // The engine's store: holds ratchet writes while a batch of messages is handled.
  crypto::HeldSignalState& held_signal() { return *held_signal_; }

  Status change_passphrase(const SecretBytes& new_passphrase) {
    return profile_->change_passphrase(new_passphrase);
  }

 private:
  Account() = default;
  static Status validate_name(const std::string& name);
  // The engine over the profile's SQL store, with held_signal_ in between.
  Result<std::unique_ptr<crypto::SignalEngine>> start_signal(crypto::OwnIdentity own,
                                                             storage::Database& db);

  std::unique_ptr<storage::Profile> profile_;
  std::unique_ptr<crypto::SignalEngine> signal_;
  crypto::HeldSignalState* held_signal_ = nullptr;  // owned by signal_
  std::string name_;
  std::string fingerprint_;
  Bytes transport_public_;
  SecretBytes transport_secret_;
  Bytes transport_signature_;
};

}  // namespace sotto::core
