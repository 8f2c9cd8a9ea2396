// SignalEngine: libsignal-protocol-c for one profile: pre-keys, X3DH, Double Ratchet sessions.
//
// Every libsignal record (sessions, pre-keys, remote identities, sender keys) is read and written
// through a SignalStateStore. With the SQLCipher store, a caller that wraps an encrypt or decrypt
// in a storage::Transaction gets the ratchet step committed atomically with its own writes.
// Remote identities are trust-on-first-use; a different key later is reported as Untrusted and
// never silently accepted.
// Thread-safety: one thread (the node's event loop or a one-shot command) uses an engine.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/crypto/verify_ahead.h"

namespace sotto::crypto {

struct StoredRecord {
  Bytes record;
  Bytes user_record;
};

// Persistence behind libsignal's five stores. Implementations: SQLCipher (make_sql_signal_state
// in sql_signal_state.h) and memory (make_memory_signal_state, for benchmarks and tests).
class SignalStateStore {
 public:
  virtual ~SignalStateStore() = default;

  virtual Result<std::optional<StoredRecord>> load_session(std::string_view address,
                                                           int32_t device) = 0;
  virtual Status store_session(std::string_view address, int32_t device, ByteView record,
                               ByteView user_record) = 0;
  virtual Result<bool> contains_session(std::string_view address, int32_t device) = 0;
  virtual Result<int> delete_session(std::string_view address, int32_t device) = 0;
  virtual Result<int> delete_all_sessions(std::string_view address) = 0;
  virtual Result<std::vector<int32_t>> sub_device_sessions(std::string_view address) = 0;

  virtual Result<std::optional<Bytes>> load_pre_key(uint32_t id) = 0;
  virtual Status store_pre_key(uint32_t id, ByteView record) = 0;
  virtual Result<bool> contains_pre_key(uint32_t id) = 0;
  virtual Status remove_pre_key(uint32_t id) = 0;
  virtual Result<std::vector<uint32_t>> pre_key_ids() = 0;

  virtual Result<std::optional<Bytes>> load_signed_pre_key(uint32_t id) = 0;
  virtual Status store_signed_pre_key(uint32_t id, ByteView record) = 0;
  virtual Result<bool> contains_signed_pre_key(uint32_t id) = 0;
  virtual Status remove_signed_pre_key(uint32_t id) = 0;
  virtual Result<std::optional<uint32_t>> latest_signed_pre_key_id() = 0;

  // Trusted: unknown address (first use) or the key already trusted for it.
  virtual Result<bool> is_trusted_identity(std::string_view address, ByteView key) = 0;
  // Trust-on-first-use record; a different key for a known address is kept as "offered" only.
  virtual Status save_identity(std::string_view address, ByteView key) = 0;

  virtual Result<std::optional<StoredRecord>> load_sender_key(ByteView group_id,
                                                              std::string_view address,
                                                              int32_t device) = 0;
  virtual Status store_sender_key(ByteView group_id, std::string_view address, int32_t device,
                                  ByteView record, ByteView user_record) = 0;

  // Reserves `count` consecutive values of a named counter; returns the first.
  virtual Result<int64_t> next_counter(std::string_view name, int64_t count, int64_t initial) = 0;
};

std::unique_ptr<SignalStateStore> make_memory_signal_state();

// This profile's identity key pair and registration id.
struct OwnIdentity {
  Bytes public_key;  // serialized (type byte + 32)
  SecretBytes private_key;
  uint32_t registration_id = 0;
};

// Everything a peer needs to start a session with us (X3DH), as plain bytes.
struct PreKeyBundle {
  uint32_t registration_id = 0;
  int32_t device_id = 1;
  uint32_t pre_key_id = 0;
  Bytes pre_key;  // empty when the bundle carries no one-time pre-key
  uint32_t signed_pre_key_id = 0;
  Bytes signed_pre_key;
  Bytes signed_pre_key_signature;
  Bytes identity_key;
};

struct Ciphertext {
  enum class Type : int { kPreKey = 3, kWhisper = 2 };
  Type type = Type::kWhisper;
  Bytes bytes;
};

class SignalEngine {
 public:
  static constexpr int32_t kDeviceId = 1;
  static constexpr size_t kPreKeyBatch = 100;
  static constexpr size_t kPreKeyLowWater = 20;

  // A fresh identity key pair and registration id (nothing stored).
  static Result<OwnIdentity> generate_identity();
  static Result<std::unique_ptr<SignalEngine>> create(OwnIdentity identity,
                                                      std::unique_ptr<SignalStateStore> store);
  ~SignalEngine();
  SignalEngine(const SignalEngine&) = delete;
  SignalEngine& operator=(const SignalEngine&) = delete;

  const OwnIdentity& identity() const;
  SignalStateStore& store();

  // A new signed pre-key, stored.
  Status rotate_signed_pre_key();
  // Tops the one-time pre-keys up to kPreKeyBatch when fewer than kPreKeyLowWater remain (or
  // when `force`); returns how many were generated.
  Result<size_t> replenish_pre_keys(bool force = false);
  // Our bundle for a peer: the newest signed pre-key and one unused one-time pre-key.
  Result<PreKeyBundle> bundle();

  // Verifies the bundle's signed pre-key and builds a session with `address` (X3DH).
  // Errors: InvalidArgument for a bundle without a one-time pre-key or with a bad signature;
  // Untrusted when the address is known under another identity key.
  Status process_bundle(std::string_view address, const PreKeyBundle& bundle);
  Result<bool> has_session(std::string_view address);

  // `address` has shown it holds our session (it acknowledged a message sent in it), as a reply
  // would: our messages stop carrying the X3DH pre-key header (PreKeySignalMessage), which costs
  // the receiver an identity check and write per message. Nothing changes if none is pending.
  Status confirm_session(std::string_view address);
  Result<Ciphertext> encrypt(std::string_view address, ByteView plaintext);
  // Errors include a duplicate (already decrypted) message: see is_duplicate().
  Result<Bytes> decrypt(std::string_view address, const Ciphertext& ciphertext);
  // The identity key a PreKey message claims (for first contact), without decrypting it.
  static Result<Bytes> pre_key_message_identity(ByteView pre_key_message);

  // --- Sender keys (channels): `group` names one key, e.g. channel id || generation ---
  // Our sender key for `group` (made when there is none yet) as a serialized
  // SenderKeyDistributionMessage, for the other members: from the key's current iteration.
  Result<Bytes> own_sender_key(ByteView group);
  // Whether `sender`'s key for `group` is here.
  Result<bool> has_sender_key(ByteView group, std::string_view sender);
  // Stores `sender`'s key for `group` from its distribution message.
  Status process_sender_key(ByteView group, std::string_view sender, ByteView distribution);
  // Encrypts once with our sender key for `group` (signed with the key's signature key).
  Result<Bytes> group_encrypt(ByteView group, ByteView plaintext);
  // NotFound when `sender`'s key for `group` is not here (yet); a duplicate: see is_duplicate().
  Result<Bytes> group_decrypt(ByteView group, std::string_view sender, ByteView ciphertext);
  // The signature checks group_decrypt will make for `messages` (in their order; one whose key
  // is not here or that does not parse is left out, and group_decrypt says why): for a
  // VerifyAhead batch. Reads each sender's key once.
  struct SenderKeyCiphertext {
    ByteView group;
    std::string_view sender;
    ByteView ciphertext;
  };
  std::vector<SignatureCheck> sender_key_checks(const std::vector<SenderKeyCiphertext>& messages);

  // libsignal's signature (XEdDSA) with our identity key, and its verification.
  Result<Bytes> sign(ByteView message);
  static bool verify(ByteView identity_public_key, ByteView message, ByteView signature);

  // The 60-digit safety number (12 groups of 5) for us and a remote identity.
  Result<std::string> safety_number(std::string_view local_id, std::string_view remote_id,
                                    ByteView remote_identity_key);

  // A fresh Curve25519 key pair (32-byte public, 32-byte secret), e.g. for CurveZMQ.
  static Result<std::pair<Bytes, SecretBytes>> generate_curve_key_pair();

  struct Impl;  // opaque: libsignal's handles and the store callbacks' view of the engine

 private:
  explicit SignalEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when `status` reports a message libsignal has already decrypted once.
bool is_duplicate(const Status& status);

// The hex SHA-256 of a serialized identity public key: how sotto names identities.
std::string fingerprint_of(ByteView identity_public_key);

}  // namespace sotto::crypto
