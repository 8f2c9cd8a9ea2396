// Account: an unlocked profile, with its identity and Signal engine ready for use.
//
// `create` makes a whole new identity in one transaction: the Signal identity key pair and
// registration id, a signed pre-key, 100 one-time pre-keys, and a CurveZMQ transport key pair
// bound to the identity by an identity signature. `open` unlocks an existing profile.
// Thread-safety: one owner thread, like the Profile and SignalEngine inside it.
//
// The front ends see the identity only. The database and the Signal engine are core's: core code
// and the tests reach them through AccountInternals (src/core/account_internals.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sotto/base/bytes.h"
#include "sotto/base/clock.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"

namespace sotto::storage {
class Database;
class Profile;
struct KdfParams;
}  // namespace sotto::storage

namespace sotto::crypto {
class HeldSignalState;
class SignalEngine;
struct OwnIdentity;
}  // namespace sotto::crypto

namespace sotto::core {

class AccountInternals;
class Messenger;
class Node;

// How much work the passphrase's key derivation (Argon2id) costs: libsodium's presets, named as
// `sotto init --kdf` takes them.
enum class KdfCost { kInteractive, kModerate, kSensitive };
std::string_view to_string(KdfCost cost);
std::optional<KdfCost> parse_kdf_cost(std::string_view name);

// What a transport key signature covers: a domain label, then the 32-byte CurveZMQ public key.
Bytes transport_binding_message(ByteView transport_public);

class Account {
 public:
  static constexpr size_t kMaxNameBytes = 64;

  // Errors: InvalidArgument for an unusable name or an existing profile; as Profile::create.
  // `clock` dates the identity (wall time, shown only).
  static Result<std::unique_ptr<Account>> create(const std::string& dir,
                                                 const SecretBytes& passphrase,
                                                 const std::string& name, KdfCost cost,
                                                 const Clock& clock = machine_clock());
  // As above with explicit parameters (tests and benchmarks use cheaper ones).
  static Result<std::unique_ptr<Account>> create(const std::string& dir,
                                                 const SecretBytes& passphrase,
                                                 const std::string& name,
                                                 const storage::KdfParams& kdf,
                                                 const Clock& clock = machine_clock());
  // Errors: as Profile::open; Corruption when the profile has no identity.
  static Result<std::unique_ptr<Account>> open(const std::string& dir,
                                               const SecretBytes& passphrase);

  const std::string& name() const { return name_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const Bytes& identity_key() const;
  const Bytes& transport_public() const { return transport_public_; }
  const SecretBytes& transport_secret() const { return transport_secret_; }
  const Bytes& transport_signature() const { return transport_signature_; }

  Status change_passphrase(const SecretBytes& new_passphrase);

  ~Account();
  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;

 private:
  friend class AccountInternals;

  Account() = default;
  storage::Profile& profile() { return *profile_; }
  storage::Database& db();
  crypto::SignalEngine& signal() { return *signal_; }
  // The engine's store: holds ratchet writes while a batch of messages is handled.
  crypto::HeldSignalState& held_signal() { return *held_signal_; }
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
