#include "sotto/core/account.h"

#include <algorithm>

#include "sotto/crypto/held_signal_state.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/crypto/sql_signal_state.h"
#include "sotto/storage/identity_repo.h"
#include "sotto/storage/profile.h"

namespace sotto::core {
namespace {

constexpr std::string_view kTransportBindingLabel = "sotto transport key v1";

}  // namespace

Bytes transport_binding_message(ByteView transport_public) {
  Bytes message(kTransportBindingLabel.size() + transport_public.size());
  std::copy(kTransportBindingLabel.begin(), kTransportBindingLabel.end(), message.begin());
  std::copy(transport_public.begin(), transport_public.end(),
            message.begin() + static_cast<std::ptrdiff_t>(kTransportBindingLabel.size()));
  return message;
}

std::string_view to_string(KdfCost cost) {
  switch (cost) {
    case KdfCost::kInteractive:
      return "interactive";
    case KdfCost::kModerate:
      return "moderate";
    case KdfCost::kSensitive:
      return "sensitive";
  }
  return "unknown";
}

std::optional<KdfCost> parse_kdf_cost(std::string_view name) {
  for (KdfCost cost : {KdfCost::kInteractive, KdfCost::kModerate, KdfCost::kSensitive}) {
    if (to_string(cost) == name) return cost;
  }
  return std::nullopt;
}

Account::~Account() = default;

const Bytes& Account::identity_key() const {
  return signal_->identity().public_key;
}

storage::Database& Account::db() {
  return profile_->db();
}

Status Account::change_passphrase(const SecretBytes& new_passphrase) {
  return profile_->change_passphrase(new_passphrase);
}

Status Account::validate_name(const std::string& name) {
  if (name.empty()) return Status::invalid_argument("the name must not be empty");
  if (name.size() > kMaxNameBytes) {
    return Status::invalid_argument("the name is longer than " + std::to_string(kMaxNameBytes) +
                                    " bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return Status::invalid_argument("the name must not contain control characters");
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<Account>> Account::create(const std::string& dir,
                                                 const SecretBytes& passphrase,
                                                 const std::string& name, KdfCost cost,
                                                 const Clock& clock) {
  std::optional<storage::KdfParams> kdf = storage::KdfParams::by_name(to_string(cost));
  if (!kdf) return Status::invalid_argument("unknown KDF cost");
  return create(dir, passphrase, name, *kdf, clock);
}

Result<std::unique_ptr<Account>> Account::create(const std::string& dir,
                                                 const SecretBytes& passphrase,
                                                 const std::string& name,
                                                 const storage::KdfParams& kdf,
                                                 const Clock& clock) {
  SOTTO_RETURN_IF_ERROR(validate_name(name));
  std::unique_ptr<Account> account(new Account());
  SOTTO_ASSIGN_OR_RETURN(account->profile_, storage::Profile::create(dir, passphrase, kdf));
  storage::Database& db = account->profile_->db();

  SOTTO_ASSIGN_OR_RETURN(crypto::OwnIdentity own, crypto::SignalEngine::generate_identity());
  storage::IdentityRecord record;
  record.name = name;
  record.public_key = own.public_key;
  record.private_key = SecretBytes::copy_of(own.private_key.view());
  record.registration_id = own.registration_id;
  record.created_at = clock.wall_ms();

  storage::Transaction tx(db);
  SOTTO_RETURN_IF_ERROR(tx.begin_status());
  SOTTO_ASSIGN_OR_RETURN(account->signal_, account->start_signal(std::move(own), db));
  crypto::SignalEngine& signal = *account->signal_;
  SOTTO_RETURN_IF_ERROR(signal.rotate_signed_pre_key());
  SOTTO_RETURN_IF_ERROR(signal.replenish_pre_keys(true).status());
  SOTTO_ASSIGN_OR_RETURN(auto transport, crypto::SignalEngine::generate_curve_key_pair());
  record.transport_public = transport.first;
  record.transport_secret = std::move(transport.second);
  SOTTO_ASSIGN_OR_RETURN(record.transport_signature,
                         signal.sign(transport_binding_message(record.transport_public)));
  SOTTO_RETURN_IF_ERROR(storage::IdentityRepo(db).create(record));
  SOTTO_RETURN_IF_ERROR(tx.commit());

  account->name_ = record.name;
  account->fingerprint_ = crypto::fingerprint_of(record.public_key);
  account->transport_public_ = std::move(record.transport_public);
  account->transport_secret_ = std::move(record.transport_secret);
  account->transport_signature_ = std::move(record.transport_signature);
  return account;
}

Result<std::unique_ptr<crypto::SignalEngine>> Account::start_signal(crypto::OwnIdentity own,
                                                                    storage::Database& db) {
  auto held = std::make_unique<crypto::HeldSignalState>(crypto::make_sql_signal_state(db));
  held_signal_ = held.get();
  return crypto::SignalEngine::create(std::move(own), std::move(held));
}

Result<std::unique_ptr<Account>> Account::open(const std::string& dir,
                                               const SecretBytes& passphrase) {
  std::unique_ptr<Account> account(new Account());
  SOTTO_ASSIGN_OR_RETURN(account->profile_, storage::Profile::open(dir, passphrase));
  storage::Database& db = account->profile_->db();
  SOTTO_ASSIGN_OR_RETURN(std::optional<storage::IdentityRecord> record,
                         storage::IdentityRepo(db).load());
  if (!record) return Status::corruption("database corrupt: the profile has no identity");

  crypto::OwnIdentity own;
  own.public_key = record->public_key;
  own.private_key = std::move(record->private_key);
  own.registration_id = record->registration_id;
  SOTTO_ASSIGN_OR_RETURN(account->signal_, account->start_signal(std::move(own), db));
  if (!crypto::SignalEngine::verify(record->public_key,
                                    transport_binding_message(record->transport_public),
                                    record->transport_signature)) {
    return Status::corruption("database corrupt: the transport key's identity signature fails");
  }
  account->name_ = std::move(record->name);
  account->fingerprint_ = crypto::fingerprint_of(record->public_key);
  account->transport_public_ = std::move(record->transport_public);
  account->transport_secret_ = std::move(record->transport_secret);
  account->transport_signature_ = std::move(record->transport_signature);
  return account;
}

}  // namespace sotto::core
