#include "src/core/expiry_service.h"
#include "src/core/account_internals.h"

#include "sotto/base/duration.h"
#include "sotto/crypto/primitives.h"
#include "sotto/storage/expiry_repo.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/search_repo.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/net/content.h"

namespace sotto::core {
namespace {

// How often expired messages are looked for: a message lives at most this much past its time.
constexpr int64_t kExpireIntervalMs = 1000;

std::string expiry_text(const std::string& actor_name, int64_t expire_ms) {
  return expire_ms > 0
             ? actor_name + " set disappearing messages to " + describe_duration(expire_ms)
             : actor_name + " turned disappearing messages off";
}

}  // namespace

ExpiryService::ExpiryService(Account& account, const Clock& clock, const MessengerHooks& hooks,
                             ContactBook& contacts, MessageLedger& ledger, ChannelService& channels)
    : account_(account),
      clock_(clock),
      hooks_(hooks),
      contacts_(contacts),
      ledger_(ledger),
      channels_(channels) {}

void ExpiryService::expire_if_due(int64_t now_ms, bool on_air) {
  if (now_ms < expire_at_ms_) return;
  expire_at_ms_ = now_ms + kExpireIntervalMs;
  expire_due(on_air);
}

Status ExpiryService::record_direct_event(const std::string& conversation, const std::string& actor,
                                          const std::string& text, Effects& effects,
                                          MessageInfo* info) {
  storage::MessageRecord record;
  record.message_id = crypto::random_bytes(net::kMessageIdSize);
  record.conversation = conversation;
  record.sender = actor;
  record.outgoing = actor == account_.fingerprint();
  record.kind = storage::MessageKind::kSystem;
  record.body = text;
  record.received_at = clock_.wall_ms();
  record.sent_at = record.received_at;
  record.state = storage::MessageState::kReceived;
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(AccountInternals::db(account_)).insert(record));
  if (row) record.row_id = *row;
  MessageInfo message = message_info(record, contacts_.name_of(actor), Trust::kUnverified, "");
  if (info) *info = message;
  effects.events.push_back(Event{clock_.wall_ms(), MessageEvent{std::move(message)}});
  return Status::ok();
}

Result<MessageInfo> ExpiryService::set(const std::string& to, int64_t expire_ms) {
  if (expire_ms < 0 || static_cast<uint64_t>(expire_ms) > net::kMaxExpiryMs) {
    return Status::invalid_argument("disappearing messages: between 1 s and 10 years, or off");
  }
  const std::string me = account_.fingerprint();
  const std::string text = expiry_text(account_.name(), expire_ms);
  MessageInfo audit;
  Status done = Status::ok();
  if (!to.empty() && to.front() == '#') {
    SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, channels_.resolve(to));
    if (channel.state != storage::ChannelState::kMember) {
      return Status::invalid_argument("you are not a member of #" + channel.name);
    }
    if (channel.admin != me) {
      return Status::invalid_argument("only the admin of #" + channel.name +
                                      " decides how long its messages are kept");
    }
    done = ledger_.in_transaction([&](Effects& effects) {
      SOTTO_RETURN_IF_ERROR(storage::ExpiryRepo(AccountInternals::db(account_))
                                .set({conversation_of(channel), expire_ms, me, clock_.wall_ms()}));
      SOTTO_ASSIGN_OR_RETURN(
          auto members, storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
      for (const auto& m : members) {
        if (m.fingerprint == me) continue;
        wire::Content content;
        content.mutable_expiry()->set_channel_id(as_chars(channel.id).data(), channel.id.size());
        content.mutable_expiry()->set_expire_ms(static_cast<uint64_t>(expire_ms));
        SOTTO_RETURN_IF_ERROR(
            ledger_.commit_direct(m.fingerprint, std::move(content), effects.out));
      }
      SOTTO_RETURN_IF_ERROR(
          channels_.record_event(channel, me, ChannelChange::kExpiry, "", text, effects));
      for (const auto& e : effects.events) {
        if (auto* m = std::get_if<MessageEvent>(&e.body)) audit = m->message;
      }
      return Status::ok();
    });
  } else {
    SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord contact, contacts_.resolve(to));
    done = ledger_.in_transaction([&](Effects& effects) {
      SOTTO_RETURN_IF_ERROR(storage::ExpiryRepo(AccountInternals::db(account_))
                                .set({contact.fingerprint, expire_ms, me, clock_.wall_ms()}));
      wire::Content content;
      content.mutable_expiry()->set_expire_ms(static_cast<uint64_t>(expire_ms));
      SOTTO_RETURN_IF_ERROR(
          ledger_.commit_direct(contact.fingerprint, std::move(content), effects.out));
      return record_direct_event(contact.fingerprint, me, text, effects, &audit);
    });
  }
  if (!done.is_ok()) return done;
  setting_changed();  // applied on the loop's next round
  return audit;
}

Status ExpiryService::apply(const std::string& from, const wire::Expiry& expiry, Effects& effects) {
  const auto expire_ms = static_cast<int64_t>(expiry.expire_ms());
  const std::string text = expiry_text(contacts_.name_of(from), expire_ms);
  if (expiry.channel_id().empty()) {
    SOTTO_RETURN_IF_ERROR(storage::ExpiryRepo(AccountInternals::db(account_))
                              .set({from, expire_ms, from, clock_.wall_ms()}));
    setting_changed();
    return record_direct_event(from, from, text, effects, nullptr);
  }
  SOTTO_ASSIGN_OR_RETURN(
      auto channel,
      storage::ChannelRepo(AccountInternals::db(account_)).find(bytes_of(expiry.channel_id())));
  if (!channel || channel->state != storage::ChannelState::kMember || channel->admin != from) {
    hooks_.count(Counter::expiry_rejected, 1);
    return Status::ok();  // acknowledged (it was delivered), not applied
  }
  SOTTO_RETURN_IF_ERROR(storage::ExpiryRepo(AccountInternals::db(account_))
                            .set({conversation_of(*channel), expire_ms, from, clock_.wall_ms()}));
  setting_changed();
  return channels_.record_event(*channel, from, ChannelChange::kExpiry, "", text, effects);
}

void ExpiryService::setting_changed() {
  expire_at_ms_ = 0;
  maybe_active_ = true;
}

void ExpiryService::expire_due(bool on_air) {
  // Settings change only through this service: with none set, nothing is asked of the database
  // until one is (the look cost a node ~30 us a second, on air on a frame's cold wake-up).
  if (!maybe_active_) return;
  storage::ExpiryRepo repo(AccountInternals::db(account_));
  auto active = repo.active();
  if (!active.is_ok()) return;
  if (active.value().empty()) {
    maybe_active_ = false;
    return;
  }
  storage::Transaction tx(AccountInternals::db(account_));
  if (!tx.begin_status().is_ok()) return;
  const int64_t now = clock_.wall_ms();
  int64_t deleted = 0;
  for (const auto& e : active.value()) {
    auto n = repo.delete_before(e.conversation, now - e.expire_ms);
    if (!n.is_ok()) return;  // rolled back; tried again on the next timer
    deleted += n.value();
  }
  if (deleted == 0) return;
  // Nothing of them may stay behind: not their words in the search index, not the pages that
  // held them in the write-ahead log or, before the checkpoint, in the database file.
  if (!storage::SearchRepo(AccountInternals::db(account_)).forget_expired().is_ok() ||
      !tx.commit().is_ok())
    return;
  hooks_.count(Counter::messages_expired, static_cast<uint64_t>(deleted));
  if (on_air) {
    checkpoint_due_ = true;
  } else if (!AccountInternals::db(account_).checkpoint().is_ok()) {
    hooks_.count(Counter::checkpoint_failed, 1);
  }
}

}  // namespace sotto::core
