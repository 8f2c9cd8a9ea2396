#include "src/core/channel_relay.h"

#include <algorithm>

#include "sotto/storage/channel_repo.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/voice_clip_repo.h"
#include "src/core/account_internals.h"
#include "src/core/message_ledger.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/core/voice_clip_content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

// Copies offered and not yet covered by the receiver's marks are resent after this long.
constexpr int64_t kOfferStaleMs = 3000;
// Marks sent to a co-member coming online, or unasked to one that holds more: once a while.
constexpr int64_t kGreetIntervalMs = 10'000;
constexpr int64_t kUnaskedReplyMs = 2000;
// Co-members a channel's marks go to as they come online, per kGreetWindowMs.
constexpr size_t kGreetPartners = 3;
constexpr int64_t kGreetWindowMs = 60'000;

std::string stream_of(ByteView channel_id, const std::string& author) {
  return to_hex(channel_id) + "|" + author;
}

}  // namespace

wire::Envelope relayed_group(const storage::ChannelCopy& copy, ByteView sealed_clip) {
  wire::Envelope envelope;
  auto* group = envelope.mutable_group();
  group->set_channel_id(as_chars(copy.channel_id).data(), copy.channel_id.size());
  group->set_body(as_chars(copy.body).data(), copy.body.size());
  group->set_message_id(as_chars(copy.message_id).data(), copy.message_id.size());
  group->set_generation(static_cast<uint32_t>(copy.generation));
  group->set_author(copy.author);
  group->set_seq(static_cast<uint64_t>(copy.seq));
  if (!sealed_clip.empty()) group->set_clip(as_chars(sealed_clip).data(), sealed_clip.size());
  return envelope;
}

ChannelRelay::ChannelRelay(Account& account, const Clock& clock, const MessengerHooks& hooks,
                           MessageLedger& ledger, Release release_outbox)
    : account_(account),
      clock_(clock),
      hooks_(hooks),
      ledger_(ledger),
      release_outbox_(std::move(release_outbox)) {}

// --- inside transactions --------------------------------------------------------------------

Result<int64_t> ChannelRelay::number_own(ByteView channel_id) {
  return storage::ChannelCopyRepo(AccountInternals::db(account_))
      .next_own_seq(channel_id, account_.fingerprint());
}

Status ChannelRelay::keep(const storage::ChannelCopy& copy) {
  storage::ChannelCopyRepo repo(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(repo.add(copy));
  SOTTO_RETURN_IF_ERROR(repo.advance_mark(copy.channel_id, copy.author, copy.seq).status());
  if (copy.seq % 1000 == 0) return repo.trim(copy.channel_id, copy.author, kKeepCopies);
  return Status::ok();
}

Status ChannelRelay::check_relayed(ByteView channel_id, const std::string& author, uint64_t seq,
                                   bool& duplicate) {
  duplicate = false;
  SOTTO_ASSIGN_OR_RETURN(
      auto held, storage::ChannelCopyRepo(AccountInternals::db(account_)).mark(channel_id, author));
  if (!held) return Status::not_found("no sender key from its author yet");
  if (static_cast<int64_t>(seq) <= *held) {
    duplicate = true;
    return Status::ok();
  }
  // The author's order: a relay hands copies over one after the other, from the first we lack.
  if (static_cast<int64_t>(seq) != *held + 1) return Status::unavailable("relayed out of order");
  return Status::ok();
}

Status ChannelRelay::on_sender_key(ByteView channel_id, const std::string& author, uint64_t seq,
                                   bool joined) {
  storage::ChannelCopyRepo repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto held, repo.mark(channel_id, author));
  const auto start = static_cast<int64_t>(seq);
  // Copies refused for want of this key can be taken now: the relays start again.
  auto missing = missing_keys_.find(to_hex(channel_id));
  if (missing != missing_keys_.end() && missing->second.erase(author) != 0) {
    const int64_t due = clock_.now_ms() + kOfferStaleMs;
    for (const auto& relay : recent_relays_) resync_at_ms_[relay] = due;
  }
  // A new key of a member we already read changes nothing of what we hold; a key handed to us
  // because we joined (again) starts where we can read: nothing before it is for us.
  if (!held || (joined && start > *held)) return repo.set_mark(channel_id, author, start);
  return Status::ok();
}

void ChannelRelay::note_refused(const std::string& relay, ByteView channel_id,
                                const std::string& author, bool no_key) {
  if (recent_relays_.size() < kMaxMarks) recent_relays_.insert(relay);
  if (no_key) {
    missing_keys_[to_hex(channel_id)].insert(author);
  } else {
    resync_at_ms_.try_emplace(relay, clock_.now_ms() + kOfferStaleMs);
  }
}

void ChannelRelay::describe(ChannelInfo& info) const {
  auto missing = missing_keys_.find(info.id);
  if (missing == missing_keys_.end()) return;
  for (auto& m : info.members) m.waiting_for_key = missing->second.count(m.fingerprint) != 0;
}

Status ChannelRelay::on_sync(const std::string& from, const wire::ChannelSync& sync,
                             Effects& effects) {
  if (sync.marks_size() > kMaxMarks) {
    hooks_.count(Counter::relay_sync_dropped, 1);
    return Status::ok();
  }
  storage::ChannelRepo channels(AccountInternals::db(account_));
  storage::ChannelCopyRepo copies(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto shared, channels.shared_with(from));
  const std::set<Bytes> shared_ids(shared.begin(), shared.end());
  bool they_hold_more = false;
  for (const auto& m : sync.marks()) {
    const Bytes channel_id = bytes_of(m.channel_id());
    // Only channels both are members of, by our roster: a removed member asks for nothing.
    if (shared_ids.count(channel_id) == 0) {
      hooks_.count(Counter::relay_marks_ignored, 1);
      continue;
    }
    const auto held = static_cast<int64_t>(std::min<uint64_t>(m.held_through(), INT64_MAX));
    if (m.author() == account_.fingerprint()) {
      SOTTO_RETURN_IF_ERROR(acknowledge_own(from, channel_id, held, effects));
      continue;
    }
    if (m.author() == from) continue;  // its own messages go from its outbox
    SOTTO_ASSIGN_OR_RETURN(auto ours, copies.mark(channel_id, m.author()));
    if (!ours) continue;
    if (*ours > held) requests_.push_back({from, channel_id, m.author(), held});
    if (*ours < held) they_hold_more = true;
  }
  const int64_t now = clock_.now_ms();
  if (sync.want_reply()) {
    asked_by_.insert(from);
  } else if (they_hold_more && now - replied_at_ms_[from] >= kUnaskedReplyMs) {
    replied_at_ms_[from] = now;
    reply_to_.insert(from);
  }
  released_.insert(from);
  hooks_.count(Counter::relay_syncs_received, 1);
  return Status::ok();
}

Status ChannelRelay::acknowledge_own(const std::string& from, ByteView channel_id, int64_t held,
                                     Effects& effects) {
  SOTTO_ASSIGN_OR_RETURN(auto rows,
                         storage::ChannelCopyRepo(AccountInternals::db(account_))
                             .waiting_through(channel_id, account_.fingerprint(), held, from));
  if (rows.empty()) return Status::ok();
  hooks_.count(Counter::relay_acknowledged, rows.size());
  return ledger_.acknowledge_rows(from, rows, effects.events);
}

// --- on the loop ----------------------------------------------------------------------------

Result<std::optional<wire::ChannelSync>> ChannelRelay::marks_for(const std::string& fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(
      auto shared, storage::ChannelRepo(AccountInternals::db(account_)).shared_with(fingerprint));
  storage::ChannelCopyRepo copies(AccountInternals::db(account_));
  wire::ChannelSync sync;
  for (const Bytes& channel_id : shared) {
    SOTTO_ASSIGN_OR_RETURN(auto marks, copies.marks(channel_id));
    for (const auto& m : marks) {
      if (sync.marks_size() == kMaxMarks) break;
      auto* mark = sync.add_marks();
      mark->set_channel_id(as_chars(channel_id).data(), channel_id.size());
      mark->set_author(m.author);
      mark->set_held_through(static_cast<uint64_t>(m.held_through));
    }
  }
  if (sync.marks_size() == 0) return std::optional<wire::ChannelSync>();
  return std::optional<wire::ChannelSync>(std::move(sync));
}

void ChannelRelay::send_marks(const std::string& fingerprint, bool want_reply, bool even_empty) {
  auto sync = marks_for(fingerprint);
  if (!sync.is_ok() || (!sync.value() && !even_empty)) return;
  wire::Envelope envelope;
  if (sync.value()) *envelope.mutable_sync() = std::move(*sync.value());
  envelope.mutable_sync()->set_want_reply(want_reply);
  auto frame = net::encode_frame(std::move(envelope));
  if (frame.is_ok() && hooks_.send_frame(fingerprint, frame.value())) {
    hooks_.count(Counter::relay_syncs_sent, 1);
  }
}

bool ChannelRelay::on_peer_online(const std::string& fingerprint, bool reconnected,
                                  bool outbox_waiting) {
  auto shared = storage::ChannelRepo(AccountInternals::db(account_)).shared_with(fingerprint);
  if (!shared.is_ok() || shared.value().empty()) return false;
  const int64_t now = clock_.now_ms();
  if (outbox_waiting) {
    // Its marks first: what it got from others while away leaves our outbox without a resend.
    waiting_[fingerprint] = {reconnected, now + kSyncWaitMs};
    send_marks(fingerprint, true, true);
    return true;
  }
  int64_t& greeted = greeted_at_ms_[fingerprint];
  if (greeted != 0 && now - greeted < kGreetIntervalMs) return false;
  // A few partners per channel a while are enough to catch up (each answers with its own marks
  // when it holds more); marks to every co-member coming online would cost a channel of
  // hundreds a link to each.
  bool wanted = false;
  for (const Bytes& channel_id : shared.value()) {
    auto& times = greets_by_channel_[channel_id];
    std::erase_if(times, [&](int64_t at) { return now - at >= kGreetWindowMs; });
    if (times.size() < kGreetPartners) wanted = true;
  }
  if (!wanted) return false;
  for (const Bytes& channel_id : shared.value()) greets_by_channel_[channel_id].push_back(now);
  greeted = now;
  send_marks(fingerprint, false);
  return false;
}

bool ChannelRelay::offer(const Request& request, int64_t& budget) {
  const std::string key = stream_of(request.channel_id, request.author);
  Offered& offered = offered_[{request.to, key}];
  const int64_t now = clock_.now_ms();
  int64_t from = request.held;
  // Copies already on their way are not sent again while the receiver works through them (this
  // is also where a request cut short by the budget goes on from).
  if (offered.through > from && now - offered.at_ms < kOfferStaleMs) from = offered.through;
  const int64_t room = request.held + kWindow - from;
  if (room <= 0) return true;
  const int64_t limit = std::min(room, budget);
  auto copies = storage::ChannelCopyRepo(AccountInternals::db(account_))
                    .after(request.channel_id, request.author, from, limit);
  if (!copies.is_ok()) return true;
  budget -= static_cast<int64_t>(copies.value().size());
  int64_t expect = from + 1;
  int64_t generation = -1;
  for (const auto& copy : copies.value()) {
    // A gap (trimmed, or never held): the receiver could take nothing after it.
    if (copy.seq != expect) return true;
    if (copy.generation != generation) {
      generation = copy.generation;
      if (!offer_key(request, generation)) return true;
    }
    Bytes clip;
    if (!copy.clip_key.empty()) {
      auto sealed = sealed_clip(copy);
      if (!sealed.is_ok()) return true;
      clip = std::move(sealed).value();
    }
    auto frame = net::encode_frame(relayed_group(copy, clip));
    if (!frame.is_ok() || !hooks_.send_frame(request.to, frame.value())) return true;
    hooks_.count(Counter::relay_copies_sent, 1);
    offered.through = copy.seq;
    offered.at_ms = now;
    expect += 1;
  }
  // Not done only when the budget, not the window or the copies held, ended the read.
  return limit == room || static_cast<int64_t>(copies.value().size()) < limit;
}

Result<Bytes> ChannelRelay::sealed_clip(const storage::ChannelCopy& copy) {
  SOTTO_ASSIGN_OR_RETURN(
      auto clip, storage::VoiceClipRepo(AccountInternals::db(account_)).find(copy.message_row));
  if (!clip) return Status::not_found("the clip is no longer archived");
  wire::RelayedClip relayed;
  *relayed.mutable_start() =
      voice_start_of(clip->channel_id, clip->transmission_id, static_cast<uint32_t>(clip->frame_ms),
                     static_cast<uint32_t>(clip->bitrate), clip->started_at_us);
  relayed.mutable_start()->set_sample_rate(static_cast<uint32_t>(clip->sample_rate));
  relayed.set_packets(as_chars(clip->packets).data(), clip->packets.size());
  relayed.set_frames(static_cast<uint32_t>(clip->frames));
  return seal_relayed_clip(copy.clip_key, relayed);
}

bool ChannelRelay::offer_key(const Request& request, int64_t generation) {
  storage::Database& db = AccountInternals::db(account_);
  auto key = storage::ChannelCopyRepo(db).key(request.channel_id, request.author, generation);
  if (!key.is_ok()) return false;
  if (!key.value()) return true;  // not ours to give: the receiver may have it, or waits for it
  auto members = storage::ChannelRepo(db).members(request.channel_id);
  if (!members.is_ok()) return false;
  auto to = std::find_if(members.value().begin(), members.value().end(),
                         [&](const auto& m) { return m.fingerprint == request.to; });
  // Only to a member on the roster since the key began: it opens nothing from before it joined.
  if (to == members.value().end() || to->since_epoch > key.value()->epoch) return true;
  wire::Envelope envelope;
  auto* relayed = envelope.mutable_relayed_key();
  relayed->set_author(request.author);
  relayed->set_sender_key(as_chars(key.value()->signed_key).data(), key.value()->signed_key.size());
  auto frame = net::encode_frame(std::move(envelope));
  if (!frame.is_ok() || !hooks_.send_frame(request.to, frame.value())) return false;
  hooks_.count(Counter::relay_keys_sent, 1);
  return true;
}

void ChannelRelay::after_commit() {
  std::vector<Request> requests;
  requests.swap(requests_);
  int64_t budget = kCopiesPerRound;
  auto next = requests.begin();
  while (next != requests.end() && budget > 0 && offer(*next, budget)) ++next;
  // Left for the next round, ahead of requests that come in the meantime: the one cut short
  // (offer goes on where it stopped) and those not reached.
  requests_.assign(std::make_move_iterator(next), std::make_move_iterator(requests.end()));
  std::set<std::string> marks_to;
  marks_to.swap(reply_to_);
  for (const auto& relay : relayed_from_) marks_to.insert(relay);
  relayed_from_.clear();
  // Whoever asked gets an answer even with no marks: its outbox waits for it.
  std::set<std::string> asked;
  asked.swap(asked_by_);
  for (const auto& fingerprint : asked) send_marks(fingerprint, false, true);
  for (const auto& fingerprint : marks_to) {
    if (asked.count(fingerprint) == 0) send_marks(fingerprint, false);
  }
  std::set<std::string> released;
  released.swap(released_);
  for (const auto& fingerprint : released) {
    auto it = waiting_.find(fingerprint);
    if (it == waiting_.end()) continue;
    const bool reconnected = it->second.reconnected;
    waiting_.erase(it);
    release_outbox_(fingerprint, reconnected);
  }
}

void ChannelRelay::on_timer() {
  const int64_t now = clock_.now_ms();
  for (auto it = resync_at_ms_.begin(); it != resync_at_ms_.end();) {
    if (now < it->second) {
      ++it;
      continue;
    }
    send_marks(it->first, false);
    it = resync_at_ms_.erase(it);
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (now < it->second.until_ms) {
      ++it;
      continue;
    }
    const std::string fingerprint = it->first;
    const bool reconnected = it->second.reconnected;
    it = waiting_.erase(it);
    hooks_.count(Counter::relay_sync_timeouts, 1);
    release_outbox_(fingerprint, reconnected);
  }
}

}  // namespace sotto::core
