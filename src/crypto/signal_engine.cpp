#include "sotto/crypto/signal_engine.h"

#include <fingerprint.h>
#include <group_cipher.h>
#include <group_session_builder.h>
#include <key_helper.h>
#include <protocol.h>
#include <sender_key_record.h>
#include <sender_key_state.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <session_record.h>
#include <session_state.h>
#include <signal_protocol.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <tuple>

#include "sotto/crypto/identity_signature.h"
#include "src/crypto/signal_context.h"
#include "src/crypto/signal_ref.h"
#include "src/crypto/signal_status.h"

namespace sotto::crypto {
namespace {

// Store callbacks report failures below SG_ERR_MINIMUM so libsignal passes them through as ours.
constexpr int kStoreFailure = SG_ERR_MINIMUM - 1;
constexpr int kFingerprintIterations = 5200;
constexpr int kFingerprintVersion = 1;
constexpr const char* kPreKeyCounter = "signal.next_pre_key_id";
constexpr const char* kPreKeyCursor = "signal.pre_key_cursor";
constexpr const char* kSignedPreKeyCounter = "signal.next_signed_pre_key_id";
// libsignal pre-key ids are 24-bit (Medium.MAX_VALUE in the Java original).
constexpr int64_t kMaxPreKeyId = 0xFFFFFF;

std::string_view name_of(const signal_protocol_address* address) {
  return {address->name, address->name_len};
}

ByteView view_of(const uint8_t* data, size_t len) {
  return {data, len};
}

signal_buffer* buffer_of(ByteView bytes) {
  return SignalBuffer::copy_of(bytes).release();
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<SignalRef<ec_public_key>> decode_public(ByteView bytes, signal_context* ctx,
                                               std::string_view what) {
  SignalRef<ec_public_key> key;
  if (bytes.empty()) return Status::invalid_argument(std::string(what) + " is missing");
  int rc = curve_decode_point(key.out(), bytes.data(), bytes.size(), ctx);
  if (rc < 0) return Status::invalid_argument(std::string(what) + " is not a valid public key");
  return key;
}

Bytes serialize_public(const ec_public_key* key) {
  SignalBuffer out;
  if (ec_public_key_serialize(out.out(), key) < 0) return {};
  return out.to_bytes();
}

}  // namespace

struct SignalEngine::Impl {
  std::unique_ptr<SignalContext> context;
  std::unique_ptr<SignalStateStore> state;
  OwnIdentity identity;
  SignalRef<ratchet_identity_key_pair> key_pair;
  signal_protocol_store_context* store_context = nullptr;

  ~Impl() {
    if (store_context != nullptr) signal_protocol_store_context_destroy(store_context);
  }

  signal_context* ctx() const { return context->get(); }
  Status install_stores();

  // Runs `body` with a session cipher for `address`; the address outlives the cipher.
  template <typename Body>
  auto with_cipher(std::string_view address, Body&& body) -> decltype(body(nullptr)) {
    const std::string name(address);
    signal_protocol_address addr{name.c_str(), name.size(), kDeviceId};
    session_cipher* cipher = nullptr;
    int rc = session_cipher_create(&cipher, store_context, &addr, ctx());
    if (rc < 0) return status_from_signal(rc, "creating session cipher");
    auto result = body(cipher);
    session_cipher_free(cipher);
    return result;
  }
};

// --- the five stores, as C callbacks over SignalStateStore ----------------------------------

namespace {

SignalStateStore& state_of(void* user_data) {
  return *static_cast<SignalEngine::Impl*>(user_data)->state;
}

int load_session(signal_buffer** record, signal_buffer** user_record,
                 const signal_protocol_address* address, void* user_data) {
  auto loaded = state_of(user_data).load_session(name_of(address), address->device_id);
  if (!loaded.is_ok()) return kStoreFailure;
  if (!loaded.value()) return 0;
  *record = buffer_of(loaded.value()->record);
  if (!loaded.value()->user_record.empty()) *user_record = buffer_of(loaded.value()->user_record);
  return *record != nullptr ? 1 : SG_ERR_NOMEM;
}

int sub_device_sessions(signal_int_list** sessions, const char* name, size_t name_len,
                        void* user_data) {
  auto devices = state_of(user_data).sub_device_sessions({name, name_len});
  if (!devices.is_ok()) return kStoreFailure;
  signal_int_list* list = signal_int_list_alloc();
  if (list == nullptr) return SG_ERR_NOMEM;
  for (int32_t device : devices.value()) signal_int_list_push_back(list, device);
  *sessions = list;
  return static_cast<int>(devices.value().size());
}

int store_session(const signal_protocol_address* address, uint8_t* record, size_t record_len,
                  uint8_t* user_record, size_t user_record_len, void* user_data) {
  Status status = state_of(user_data).store_session(
      name_of(address), address->device_id, view_of(record, record_len),
      user_record != nullptr ? view_of(user_record, user_record_len) : ByteView());
  return status.is_ok() ? 0 : kStoreFailure;
}

int contains_session(const signal_protocol_address* address, void* user_data) {
  auto found = state_of(user_data).contains_session(name_of(address), address->device_id);
  return found.is_ok() && found.value() ? 1 : 0;
}

int delete_session(const signal_protocol_address* address, void* user_data) {
  auto deleted = state_of(user_data).delete_session(name_of(address), address->device_id);
  if (!deleted.is_ok()) return kStoreFailure;
  return deleted.value() > 0 ? 1 : 0;
}

int delete_all_sessions(const char* name, size_t name_len, void* user_data) {
  auto deleted = state_of(user_data).delete_all_sessions({name, name_len});
  return deleted.is_ok() ? deleted.value() : kStoreFailure;
}

int load_pre_key(signal_buffer** record, uint32_t id, void* user_data) {
  auto loaded = state_of(user_data).load_pre_key(id);
  if (!loaded.is_ok()) return kStoreFailure;
  if (!loaded.value()) return SG_ERR_INVALID_KEY_ID;
  *record = buffer_of(*loaded.value());
  return *record != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
}

int store_pre_key(uint32_t id, uint8_t* record, size_t record_len, void* user_data) {
  return state_of(user_data).store_pre_key(id, view_of(record, record_len)).is_ok() ? 0
                                                                                    : kStoreFailure;
}

int contains_pre_key(uint32_t id, void* user_data) {
  auto found = state_of(user_data).contains_pre_key(id);
  return found.is_ok() && found.value() ? 1 : 0;
}

int remove_pre_key(uint32_t id, void* user_data) {
  return state_of(user_data).remove_pre_key(id).is_ok() ? 0 : kStoreFailure;
}

int load_signed_pre_key(signal_buffer** record, uint32_t id, void* user_data) {
  auto loaded = state_of(user_data).load_signed_pre_key(id);
  if (!loaded.is_ok()) return kStoreFailure;
  if (!loaded.value()) return SG_ERR_INVALID_KEY_ID;
  *record = buffer_of(*loaded.value());
  return *record != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
}

int store_signed_pre_key(uint32_t id, uint8_t* record, size_t record_len, void* user_data) {
  return state_of(user_data).store_signed_pre_key(id, view_of(record, record_len)).is_ok()
             ? 0
             : kStoreFailure;
}

int contains_signed_pre_key(uint32_t id, void* user_data) {
  auto found = state_of(user_data).contains_signed_pre_key(id);
  return found.is_ok() && found.value() ? 1 : 0;
}

int remove_signed_pre_key(uint32_t id, void* user_data) {
  return state_of(user_data).remove_signed_pre_key(id).is_ok() ? 0 : kStoreFailure;
}

int get_identity_key_pair(signal_buffer** public_data, signal_buffer** private_data,
                          void* user_data) {
  const OwnIdentity& own = static_cast<SignalEngine::Impl*>(user_data)->identity;
  *public_data = buffer_of(own.public_key);
  *private_data = buffer_of(own.private_key.view());
  return *public_data != nullptr && *private_data != nullptr ? 0 : SG_ERR_NOMEM;
}

int get_local_registration_id(void* user_data, uint32_t* registration_id) {
  *registration_id = static_cast<SignalEngine::Impl*>(user_data)->identity.registration_id;
  return 0;
}

int save_identity(const signal_protocol_address* address, uint8_t* key_data, size_t key_len,
                  void* user_data) {
  // A null key asks to forget the key data; sotto keeps trust records until the user decides.
  if (key_data == nullptr) return 0;
  return state_of(user_data).save_identity(name_of(address), view_of(key_data, key_len)).is_ok()
             ? 0
             : kStoreFailure;
}

int is_trusted_identity(const signal_protocol_address* address, uint8_t* key_data, size_t key_len,
                        void* user_data) {
  auto trusted =
      state_of(user_data).is_trusted_identity(name_of(address), view_of(key_data, key_len));
  if (!trusted.is_ok()) return kStoreFailure;
  return trusted.value() ? 1 : 0;
}

ByteView group_of(const signal_protocol_sender_key_name* name) {
  return view_of(reinterpret_cast<const uint8_t*>(name->group_id), name->group_id_len);
}

int store_sender_key(const signal_protocol_sender_key_name* name, uint8_t* record,
                     size_t record_len, uint8_t* user_record, size_t user_record_len,
                     void* user_data) {
  Status status = state_of(user_data).store_sender_key(
      group_of(name), name_of(&name->sender), name->sender.device_id, view_of(record, record_len),
      user_record != nullptr ? view_of(user_record, user_record_len) : ByteView());
  return status.is_ok() ? 0 : kStoreFailure;
}

int load_sender_key(signal_buffer** record, signal_buffer** user_record,
                    const signal_protocol_sender_key_name* name, void* user_data) {
  auto loaded = state_of(user_data).load_sender_key(group_of(name), name_of(&name->sender),
                                                    name->sender.device_id);
  if (!loaded.is_ok()) return kStoreFailure;
  if (!loaded.value()) return 0;
  *record = buffer_of(loaded.value()->record);
  if (!loaded.value()->user_record.empty()) *user_record = buffer_of(loaded.value()->user_record);
  return *record != nullptr ? 1 : SG_ERR_NOMEM;
}

}  // namespace

Status SignalEngine::Impl::install_stores() {
  int rc = signal_protocol_store_context_create(&store_context, ctx());
  if (rc < 0) return status_from_signal(rc, "creating store context");

  signal_protocol_session_store sessions{};
  sessions.load_session_func = load_session;
  sessions.get_sub_device_sessions_func = sub_device_sessions;
  sessions.store_session_func = store_session;
  sessions.contains_session_func = contains_session;
  sessions.delete_session_func = delete_session;
  sessions.delete_all_sessions_func = delete_all_sessions;
  sessions.user_data = this;

  signal_protocol_pre_key_store pre_keys{};
  pre_keys.load_pre_key = load_pre_key;
  pre_keys.store_pre_key = store_pre_key;
  pre_keys.contains_pre_key = contains_pre_key;
  pre_keys.remove_pre_key = remove_pre_key;
  pre_keys.user_data = this;

  signal_protocol_signed_pre_key_store signed_pre_keys{};
  signed_pre_keys.load_signed_pre_key = load_signed_pre_key;
  signed_pre_keys.store_signed_pre_key = store_signed_pre_key;
  signed_pre_keys.contains_signed_pre_key = contains_signed_pre_key;
  signed_pre_keys.remove_signed_pre_key = remove_signed_pre_key;
  signed_pre_keys.user_data = this;

  signal_protocol_identity_key_store identities{};
  identities.get_identity_key_pair = get_identity_key_pair;
  identities.get_local_registration_id = get_local_registration_id;
  identities.save_identity = save_identity;
  identities.is_trusted_identity = is_trusted_identity;
  identities.user_data = this;

  signal_protocol_sender_key_store sender_keys{};
  sender_keys.store_sender_key = store_sender_key;
  sender_keys.load_sender_key = load_sender_key;
  sender_keys.user_data = this;

  for (int r :
       {signal_protocol_store_context_set_session_store(store_context, &sessions),
        signal_protocol_store_context_set_pre_key_store(store_context, &pre_keys),
        signal_protocol_store_context_set_signed_pre_key_store(store_context, &signed_pre_keys),
        signal_protocol_store_context_set_identity_key_store(store_context, &identities),
        signal_protocol_store_context_set_sender_key_store(store_context, &sender_keys)}) {
    if (r < 0) return status_from_signal(r, "installing stores");
  }
  return Status::ok();
}

// --- SignalEngine ------------------------------------------------------------------------------

SignalEngine::SignalEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SignalEngine::~SignalEngine() = default;

const OwnIdentity& SignalEngine::identity() const {
  return impl_->identity;
}
SignalStateStore& SignalEngine::store() {
  return *impl_->state;
}

Result<OwnIdentity> SignalEngine::generate_identity() {
  SOTTO_ASSIGN_OR_RETURN(auto context, SignalContext::create());
  SignalRef<ratchet_identity_key_pair> pair;
  int rc = signal_protocol_key_helper_generate_identity_key_pair(pair.out(), context->get());
  if (rc < 0) return status_from_signal(rc, "generating identity key");
  OwnIdentity identity;
  identity.public_key = serialize_public(ratchet_identity_key_pair_get_public(pair.get()));
  SignalBuffer secret;
  rc = ec_private_key_serialize(secret.out(), ratchet_identity_key_pair_get_private(pair.get()));
  if (rc < 0 || identity.public_key.empty()) {
    return status_from_signal(rc < 0 ? rc : SG_ERR_UNKNOWN, "serializing identity key");
  }
  identity.private_key = secret.to_secret();
  rc = signal_protocol_key_helper_generate_registration_id(&identity.registration_id, 0,
                                                           context->get());
  if (rc < 0) return status_from_signal(rc, "generating registration id");
  return identity;
}

Result<std::unique_ptr<SignalEngine>> SignalEngine::create(
    OwnIdentity identity, std::unique_ptr<SignalStateStore> store) {
  auto impl = std::make_unique<Impl>();
  SOTTO_ASSIGN_OR_RETURN(impl->context, SignalContext::create());
  impl->state = std::move(store);
  impl->identity = std::move(identity);

  SignalRef<ec_public_key> pub;
  SignalRef<ec_private_key> priv;
  const OwnIdentity& own = impl->identity;
  int rc = curve_decode_point(pub.out(), own.public_key.data(), own.public_key.size(), impl->ctx());
  if (rc >= 0) {
    rc = curve_decode_private_point(priv.out(), own.private_key.data(), own.private_key.size(),
                                    impl->ctx());
  }
  if (rc >= 0) rc = ratchet_identity_key_pair_create(impl->key_pair.out(), pub.get(), priv.get());
  if (rc < 0) return Status::corruption("stored identity key is damaged");
  SOTTO_RETURN_IF_ERROR(impl->install_stores());
  return std::unique_ptr<SignalEngine>(new SignalEngine(std::move(impl)));
}

Status SignalEngine::rotate_signed_pre_key() {
  SOTTO_ASSIGN_OR_RETURN(int64_t id, impl_->state->next_counter(kSignedPreKeyCounter, 1, 1));
  SignalRef<session_signed_pre_key> signed_pre_key;
  int rc = signal_protocol_key_helper_generate_signed_pre_key(
      signed_pre_key.out(), impl_->key_pair.get(), static_cast<uint32_t>(id % kMaxPreKeyId),
      static_cast<uint64_t>(now_ms()), impl_->ctx());
  if (rc < 0) return status_from_signal(rc, "generating signed pre-key");
  SignalBuffer record;
  rc = session_signed_pre_key_serialize(record.out(), signed_pre_key.get());
  if (rc < 0) return status_from_signal(rc, "serializing signed pre-key");
  return impl_->state->store_signed_pre_key(session_signed_pre_key_get_id(signed_pre_key.get()),
                                            record.view());
}

Result<size_t> SignalEngine::replenish_pre_keys(bool force) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> ids, impl_->state->pre_key_ids());
  if (!force && ids.size() >= kPreKeyLowWater) return size_t{0};
  const size_t missing = kPreKeyBatch > ids.size() ? kPreKeyBatch - ids.size() : 0;
  if (missing == 0) return size_t{0};
  SOTTO_ASSIGN_OR_RETURN(
      int64_t first, impl_->state->next_counter(kPreKeyCounter, static_cast<int64_t>(missing), 1));
  // Ids run 1..kMaxPreKeyId and wrap; the key helper wraps the same way from `start`.
  const auto start = static_cast<unsigned>((first - 1) % kMaxPreKeyId + 1);
  signal_protocol_key_helper_pre_key_list_node* head = nullptr;
  int rc = signal_protocol_key_helper_generate_pre_keys(
      &head, start, static_cast<unsigned>(missing), impl_->ctx());
  PreKeyList list(head);
  if (rc < 0) return status_from_signal(rc, "generating pre-keys");
  for (auto* node = list.get(); node != nullptr;
       node = signal_protocol_key_helper_key_list_next(node)) {
    session_pre_key* pre_key = signal_protocol_key_helper_key_list_element(node);
    SignalBuffer record;
    rc = session_pre_key_serialize(record.out(), pre_key);
    if (rc < 0) return status_from_signal(rc, "serializing pre-key");
    SOTTO_RETURN_IF_ERROR(
        impl_->state->store_pre_key(session_pre_key_get_id(pre_key), record.view()));
  }
  return missing;
}

Result<PreKeyBundle> SignalEngine::bundle() {
  PreKeyBundle bundle;
  bundle.registration_id = impl_->identity.registration_id;
  bundle.device_id = kDeviceId;
  bundle.identity_key = impl_->identity.public_key;

  SOTTO_ASSIGN_OR_RETURN(std::optional<uint32_t> signed_id,
                         impl_->state->latest_signed_pre_key_id());
  if (!signed_id) return Status::not_found("no signed pre-key");
  SOTTO_ASSIGN_OR_RETURN(std::optional<Bytes> signed_record,
                         impl_->state->load_signed_pre_key(*signed_id));
  if (!signed_record) return Status::not_found("no signed pre-key");
  SignalRef<session_signed_pre_key> signed_pre_key;
  int rc = session_signed_pre_key_deserialize(signed_pre_key.out(), signed_record->data(),
                                              signed_record->size(), impl_->ctx());
  if (rc < 0) return status_from_signal(rc, "reading signed pre-key");
  bundle.signed_pre_key_id = *signed_id;
  bundle.signed_pre_key = serialize_public(
      ec_key_pair_get_public(session_signed_pre_key_get_key_pair(signed_pre_key.get())));
  const uint8_t* signature = session_signed_pre_key_get_signature(signed_pre_key.get());
  bundle.signed_pre_key_signature.assign(
      signature, signature + session_signed_pre_key_get_signature_len(signed_pre_key.get()));

  // Hand out each one-time pre-key once, in id order, so two peers asking at the same time do
  // not both build on the same key (the second would fail when the first consumes it).
  SOTTO_ASSIGN_OR_RETURN(std::vector<uint32_t> ids, impl_->state->pre_key_ids());
  if (ids.empty()) {
    SOTTO_RETURN_IF_ERROR(replenish_pre_keys(true).status());
    SOTTO_ASSIGN_OR_RETURN(ids, impl_->state->pre_key_ids());
    if (ids.empty()) return Status::internal("no one-time pre-keys could be generated");
  }
  SOTTO_ASSIGN_OR_RETURN(int64_t cursor, impl_->state->next_counter(kPreKeyCursor, 0, 0));
  auto next = std::upper_bound(ids.begin(), ids.end(), static_cast<uint32_t>(cursor));
  const uint32_t pre_key_id = next != ids.end() ? *next : ids.front();
  SOTTO_RETURN_IF_ERROR(
      impl_->state->next_counter(kPreKeyCursor, int64_t{pre_key_id} - cursor, 0).status());
  SOTTO_ASSIGN_OR_RETURN(std::optional<Bytes> pre_record, impl_->state->load_pre_key(pre_key_id));
  if (!pre_record) return Status::internal("pre-key vanished while building a bundle");
  SignalRef<session_pre_key> pre_key;
  rc = session_pre_key_deserialize(pre_key.out(), pre_record->data(), pre_record->size(),
                                   impl_->ctx());
  if (rc < 0) return status_from_signal(rc, "reading pre-key");
  bundle.pre_key_id = pre_key_id;
  bundle.pre_key =
      serialize_public(ec_key_pair_get_public(session_pre_key_get_key_pair(pre_key.get())));
  return bundle;
}

Status SignalEngine::process_bundle(std::string_view address, const PreKeyBundle& bundle) {
  if (bundle.pre_key.empty()) {
    return Status::invalid_argument("the peer's bundle has no one-time pre-key; refused");
  }
  signal_context* ctx = impl_->ctx();
  SOTTO_ASSIGN_OR_RETURN(auto pre_key, decode_public(bundle.pre_key, ctx, "bundle pre-key"));
  SOTTO_ASSIGN_OR_RETURN(auto signed_pre_key,
                         decode_public(bundle.signed_pre_key, ctx, "bundle signed pre-key"));
  SOTTO_ASSIGN_OR_RETURN(auto identity_key,
                         decode_public(bundle.identity_key, ctx, "bundle identity key"));
  SignalRef<session_pre_key_bundle> signal_bundle;
  int rc =
      session_pre_key_bundle_create(signal_bundle.out(), bundle.registration_id, bundle.device_id,
                                    bundle.pre_key_id, pre_key.get(), bundle.signed_pre_key_id,
                                    signed_pre_key.get(), bundle.signed_pre_key_signature.data(),
                                    bundle.signed_pre_key_signature.size(), identity_key.get());
  if (rc < 0) return status_from_signal(rc, "reading the peer's bundle");

  const std::string name(address);
  signal_protocol_address addr{name.c_str(), name.size(), kDeviceId};
  session_builder* builder = nullptr;
  rc = session_builder_create(&builder, impl_->store_context, &addr, ctx);
  if (rc < 0) return status_from_signal(rc, "creating session builder");
  rc = session_builder_process_pre_key_bundle(builder, signal_bundle.get());
  session_builder_free(builder);
  if (rc == SG_ERR_INVALID_KEY) {
    return Status::invalid_argument("the peer's signed pre-key signature does not verify; refused");
  }
  if (rc == SG_ERR_UNTRUSTED_IDENTITY) {
    return Status::untrusted("identity key of " + name +
                             " changed; verify the new safety number before trusting it");
  }
  return status_from_signal(rc, "starting session");
}

Result<bool> SignalEngine::has_session(std::string_view address) {
  return impl_->state->contains_session(address, kDeviceId);
}

Status SignalEngine::confirm_session(std::string_view address) {
  const std::string name(address);
  signal_protocol_address addr{name.c_str(), name.size(), kDeviceId};
  SignalRef<session_record> record;
  int rc = signal_protocol_session_load_session(impl_->store_context, record.out(), &addr);
  if (rc < 0) return status_from_signal(rc, "loading session");
  session_state* state = session_record_get_state(record.get());
  if (state == nullptr || session_state_has_unacknowledged_pre_key_message(state) == 0) {
    return Status::ok();
  }
  session_state_clear_unacknowledged_pre_key_message(state);
  rc = signal_protocol_session_store_session(impl_->store_context, &addr, record.get());
  return status_from_signal(rc, "storing session");
}

Result<Ciphertext> SignalEngine::encrypt(std::string_view address, ByteView plaintext) {
  return impl_->with_cipher(address, [&](session_cipher* cipher) -> Result<Ciphertext> {
    SignalRef<ciphertext_message> message;
    int rc = session_cipher_encrypt(cipher, plaintext.data(), plaintext.size(), message.out());
    if (rc < 0) {
      // libsignal has no distinct code for a missing session; ask only once it failed, so the
      // hot path does not pay for the lookup.
      auto has = has_session(address);
      if (has.is_ok() && !has.value()) {
        return Status::not_found("no session with " + std::string(address));
      }
      return status_from_signal(rc, "encrypting message");
    }
    Ciphertext out;
    out.type = ciphertext_message_get_type(message.get()) == CIPHERTEXT_PREKEY_TYPE
                   ? Ciphertext::Type::kPreKey
                   : Ciphertext::Type::kWhisper;
    signal_buffer* serialized = ciphertext_message_get_serialized(message.get());
    out.bytes.assign(signal_buffer_data(serialized),
                     signal_buffer_data(serialized) + signal_buffer_len(serialized));
    return out;
  });
}

Result<Bytes> SignalEngine::decrypt(std::string_view address, const Ciphertext& ciphertext) {
  signal_context* ctx = impl_->ctx();
  return impl_->with_cipher(address, [&](session_cipher* cipher) -> Result<Bytes> {
    SignalBuffer plaintext;
    int rc = 0;
    if (ciphertext.type == Ciphertext::Type::kPreKey) {
      SignalRef<pre_key_signal_message> message;
      rc = pre_key_signal_message_deserialize(message.out(), ciphertext.bytes.data(),
                                              ciphertext.bytes.size(), ctx);
      if (rc >= 0) {
        rc = session_cipher_decrypt_pre_key_signal_message(cipher, message.get(), nullptr,
                                                           plaintext.out());
      }
    } else {
      SignalRef<signal_message> message;
      rc = signal_message_deserialize(message.out(), ciphertext.bytes.data(),
                                      ciphertext.bytes.size(), ctx);
      if (rc >= 0) {
        rc = session_cipher_decrypt_signal_message(cipher, message.get(), nullptr, plaintext.out());
      }
    }
    if (rc == SG_ERR_UNTRUSTED_IDENTITY) {
      return Status::untrusted("identity key of " + std::string(address) +
                               " changed; verify the new safety number before trusting it");
    }
    if (rc < 0) return status_from_signal(rc, "decrypting message");
    return plaintext.to_bytes();
  });
}

namespace {

// The (group, sender, device) name libsignal files a sender key under; views `group` and
// `sender`, which must outlive it.
signal_protocol_sender_key_name sender_key_name(ByteView group, std::string_view sender) {
  signal_protocol_sender_key_name name{};
  name.group_id = reinterpret_cast<const char*>(group.data());
  name.group_id_len = group.size();
  name.sender.name = sender.data();
  name.sender.name_len = sender.size();
  name.sender.device_id = SignalEngine::kDeviceId;
  return name;
}

}  // namespace

Result<Bytes> SignalEngine::own_sender_key(ByteView group) {
  const std::string self = fingerprint_of(impl_->identity.public_key);
  const signal_protocol_sender_key_name name = sender_key_name(group, self);
  group_session_builder* builder = nullptr;
  int rc = group_session_builder_create(&builder, impl_->store_context, impl_->ctx());
  if (rc < 0) return status_from_signal(rc, "creating group session builder");
  SignalRef<sender_key_distribution_message> distribution;
  rc = group_session_builder_create_session(builder, distribution.out(), &name);
  group_session_builder_free(builder);
  if (rc < 0) return status_from_signal(rc, "creating sender key");
  signal_buffer* serialized =
      ciphertext_message_get_serialized(reinterpret_cast<ciphertext_message*>(distribution.get()));
  return Bytes(signal_buffer_data(serialized),
               signal_buffer_data(serialized) + signal_buffer_len(serialized));
}

Result<bool> SignalEngine::has_sender_key(ByteView group, std::string_view sender) {
  SOTTO_ASSIGN_OR_RETURN(auto record, impl_->state->load_sender_key(group, sender, kDeviceId));
  return record.has_value();
}

Status SignalEngine::process_sender_key(ByteView group, std::string_view sender,
                                        ByteView distribution) {
  SignalRef<sender_key_distribution_message> message;
  int rc = sender_key_distribution_message_deserialize(message.out(), distribution.data(),
                                                       distribution.size(), impl_->ctx());
  if (rc < 0) return status_from_signal(rc, "reading sender key");
  const signal_protocol_sender_key_name name = sender_key_name(group, sender);
  group_session_builder* builder = nullptr;
  rc = group_session_builder_create(&builder, impl_->store_context, impl_->ctx());
  if (rc < 0) return status_from_signal(rc, "creating group session builder");
  rc = group_session_builder_process_session(builder, &name, message.get());
  group_session_builder_free(builder);
  return status_from_signal(rc, "storing sender key");
}

namespace {

// Runs `body` with a group cipher for (group, sender); both outlive the cipher.
template <typename Body>
auto with_group_cipher(signal_protocol_store_context* store, signal_context* ctx, ByteView group,
                       std::string_view sender, Body&& body) -> decltype(body(nullptr)) {
  const signal_protocol_sender_key_name name = sender_key_name(group, sender);
  group_cipher* cipher = nullptr;
  int rc = group_cipher_create(&cipher, store, &name, ctx);
  if (rc < 0) return status_from_signal(rc, "creating group cipher");
  auto result = body(cipher);
  group_cipher_free(cipher);
  return result;
}

}  // namespace

Result<Bytes> SignalEngine::group_encrypt(ByteView group, ByteView plaintext) {
  const std::string self = fingerprint_of(impl_->identity.public_key);
  return with_group_cipher(
      impl_->store_context, impl_->ctx(), group, self, [&](group_cipher* cipher) -> Result<Bytes> {
        SignalRef<ciphertext_message> message;
        int rc = group_cipher_encrypt(cipher, plaintext.data(), plaintext.size(), message.out());
        if (rc == SG_ERR_NO_SESSION) return Status::not_found("no sender key for this channel");
        if (rc < 0) return status_from_signal(rc, "encrypting for the channel");
        signal_buffer* serialized = ciphertext_message_get_serialized(message.get());
        return Bytes(signal_buffer_data(serialized),
                     signal_buffer_data(serialized) + signal_buffer_len(serialized));
      });
}

Result<Bytes> SignalEngine::group_decrypt(ByteView group, std::string_view sender,
                                          ByteView ciphertext) {
  signal_context* ctx = impl_->ctx();
  return with_group_cipher(
      impl_->store_context, ctx, group, sender, [&](group_cipher* cipher) -> Result<Bytes> {
        SignalRef<sender_key_message> message;
        int rc = sender_key_message_deserialize(message.out(), ciphertext.data(), ciphertext.size(),
                                                ctx);
        if (rc < 0) return status_from_signal(rc, "reading channel message");
        SignalBuffer plaintext;
        rc = group_cipher_decrypt(cipher, message.get(), nullptr, plaintext.out());
        if (rc == SG_ERR_NO_SESSION) {
          return Status::not_found("no sender key of " + std::string(sender) + " for the channel");
        }
        if (rc < 0) return status_from_signal(rc, "decrypting channel message");
        return plaintext.to_bytes();
      });
}

std::vector<SignatureCheck> SignalEngine::sender_key_checks(
    const std::vector<SenderKeyCiphertext>& messages) {
  signal_context* ctx = impl_->ctx();
  // Each sender's signing key for each key id, read once for the batch (nullopt: not here).
  using KeyName = std::tuple<Bytes, std::string, uint32_t>;
  std::map<KeyName, std::optional<std::array<uint8_t, 32>>> signing_keys;
  auto signing_key = [&](const SenderKeyCiphertext& m, uint32_t key_id) {
    KeyName name{Bytes(m.group.begin(), m.group.end()), std::string(m.sender), key_id};
    auto [it, fresh] = signing_keys.try_emplace(std::move(name));
    if (!fresh) return it->second;
    auto stored = impl_->state->load_sender_key(m.group, m.sender, kDeviceId);
    if (!stored.is_ok() || !stored.value()) return it->second;
    SignalRef<sender_key_record> record;
    sender_key_state* state = nullptr;
    if (sender_key_record_deserialize(record.out(), stored.value()->record.data(),
                                      stored.value()->record.size(), ctx) < 0 ||
        sender_key_record_get_sender_key_state_by_id(record.get(), &state, key_id) < 0 ||
        state == nullptr) {
      return it->second;
    }
    const Bytes key = serialize_public(sender_key_state_get_signing_key_public(state));
    if (key.size() != 33) return it->second;  // type byte, then the Curve25519 key
    std::array<uint8_t, 32> raw{};
    std::memcpy(raw.data(), key.data() + 1, raw.size());
    it->second = raw;
    return it->second;
  };
  std::vector<SignatureCheck> checks;
  checks.reserve(messages.size());
  for (const auto& m : messages) {
    SignatureCheck check;
    // libsignal signs a sender-key message's serialized bytes and appends the signature.
    if (m.ciphertext.size() <= check.signature.size()) continue;
    SignalRef<sender_key_message> message;
    if (sender_key_message_deserialize(message.out(), m.ciphertext.data(), m.ciphertext.size(),
                                       ctx) < 0) {
      continue;
    }
    const auto key = signing_key(m, sender_key_message_get_key_id(message.get()));
    if (!key) continue;
    check.key = *key;
    const size_t signed_size = m.ciphertext.size() - check.signature.size();
    check.message.assign(m.ciphertext.begin(), m.ciphertext.begin() + signed_size);
    std::memcpy(check.signature.data(), m.ciphertext.data() + signed_size, check.signature.size());
    checks.push_back(std::move(check));
  }
  return checks;
}

Result<Bytes> SignalEngine::pre_key_message_identity(ByteView pre_key_message) {
  SOTTO_ASSIGN_OR_RETURN(auto context, SignalContext::create());
  SignalRef<pre_key_signal_message> message;
  int rc = pre_key_signal_message_deserialize(message.out(), pre_key_message.data(),
                                              pre_key_message.size(), context->get());
  if (rc < 0) return status_from_signal(rc, "reading pre-key message");
  Bytes key = serialize_public(pre_key_signal_message_get_identity_key(message.get()));
  if (key.empty()) return Status::corruption("pre-key message has no identity key");
  return key;
}

Result<Bytes> SignalEngine::sign(ByteView message) {
  SignalBuffer signature;
  int rc = curve_calculate_signature(impl_->ctx(), signature.out(),
                                     ratchet_identity_key_pair_get_private(impl_->key_pair.get()),
                                     message.data(), message.size());
  if (rc < 0) return status_from_signal(rc, "signing");
  return signature.to_bytes();
}

bool SignalEngine::verify(ByteView identity_public_key, ByteView message, ByteView signature) {
  return verify_identity_signature(identity_public_key, message, signature);
}

Result<std::string> SignalEngine::safety_number(std::string_view local_id,
                                                std::string_view remote_id,
                                                ByteView remote_identity_key) {
  signal_context* ctx = impl_->ctx();
  SOTTO_ASSIGN_OR_RETURN(auto remote_key,
                         decode_public(remote_identity_key, ctx, "remote identity key"));
  fingerprint_generator* generator = nullptr;
  int rc =
      fingerprint_generator_create(&generator, kFingerprintIterations, kFingerprintVersion, ctx);
  if (rc < 0) return status_from_signal(rc, "creating fingerprint generator");
  SignalRef<fingerprint> fp;
  const std::string local(local_id);
  const std::string remote(remote_id);
  rc = fingerprint_generator_create_for(generator, local.c_str(),
                                        ratchet_identity_key_pair_get_public(impl_->key_pair.get()),
                                        remote.c_str(), remote_key.get(), fp.out());
  fingerprint_generator_free(generator);
  if (rc < 0) return status_from_signal(rc, "computing safety number");
  const std::string digits = displayable_fingerprint_text(fingerprint_get_displayable(fp.get()));
  std::string grouped;
  for (size_t i = 0; i < digits.size(); i += 5) {
    if (!grouped.empty()) grouped += ' ';
    grouped += digits.substr(i, 5);
  }
  return grouped;
}

Result<std::pair<Bytes, SecretBytes>> SignalEngine::generate_curve_key_pair() {
  SOTTO_ASSIGN_OR_RETURN(auto context, SignalContext::create());
  SignalRef<ec_key_pair> pair;
  int rc = curve_generate_key_pair(context->get(), pair.out());
  if (rc < 0) return status_from_signal(rc, "generating key pair");
  Bytes pub = serialize_public(ec_key_pair_get_public(pair.get()));
  SignalBuffer secret;
  rc = ec_private_key_serialize(secret.out(), ec_key_pair_get_private(pair.get()));
  if (rc < 0 || pub.size() != 33) return Status::internal("serializing key pair");
  // libsignal prefixes the 32-byte Montgomery u-coordinate with a type byte (0x05).
  return std::make_pair(Bytes(pub.begin() + 1, pub.end()), secret.to_secret());
}

bool is_duplicate(const Status& status) {
  return is_duplicate_message(status);
}

std::string fingerprint_of(ByteView identity_public_key) {
  // libsodium's SHA-256, not OpenSSL's EVP_Digest: every beacon heard is attributed through
  // this, and EVP looks its algorithm up again on each call (a fifth of a signature check).
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, identity_public_key.data(), identity_public_key.size());
  return to_hex(ByteView(digest, sizeof digest));
}

}  // namespace sotto::crypto
