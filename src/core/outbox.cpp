#include "src/core/outbox.h"

#include <algorithm>

#include "sotto/storage/outbox_repo.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/core/relaxed_sync.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

constexpr int64_t kFlushChunk = 256;
constexpr int64_t kSentMarkIntervalMs = 250;

}  // namespace

Outbox::Outbox(storage::Database& db, const Clock& clock, OutboxFlowOptions options,
               const MessengerHooks& hooks)
    : db_(db), clock_(clock), options_(options), hooks_(hooks) {}

Status Outbox::start() {
  SOTTO_ASSIGN_OR_RETURN(auto recipients, storage::OutboxRepo(db_).recipients());
  for (const auto& recipient : recipients) flows_.try_emplace(recipient, options_);
  return Status::ok();
}

OutboxFlow& Outbox::flow_of(const std::string& recipient) {
  return flows_.try_emplace(recipient, options_).first->second;
}

bool Outbox::online(const std::string& recipient) const {
  return is_online(hooks_.peer(recipient));
}

void Outbox::transmit(const std::vector<Outgoing>& out) {
  // Per recipient, in commit order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Outgoing*>> by_recipient;
  for (const Outgoing& o : out) {
    auto& frames = by_recipient[o.recipient];
    if (frames.empty()) order.push_back(o.recipient);
    frames.push_back(&o);
  }
  for (const std::string& recipient : order) transmit_to(recipient, by_recipient[recipient]);
}

void Outbox::transmit_to(const std::string& recipient, std::vector<const Outgoing*> frames) {
  OutboxFlow& flow = flow_of(recipient);
  if (!online(recipient) || flow.blocked()) return;
  std::erase_if(frames, [&](const Outgoing* o) { return o->outbox_id <= flow.sent_through(); });
  if (frames.empty()) return;
  // In order: straight out only when they are exactly what waits next for this recipient on
  // this connection; otherwise older frames wait too, and the outbox sends them all in order.
  auto next = storage::OutboxRepo(db_).next_ids(recipient, flow.sent_through(),
                                                static_cast<int64_t>(frames.size()));
  const bool in_order =
      next.is_ok() && next.value().size() == frames.size() &&
      std::equal(frames.begin(), frames.end(), next.value().begin(),
                 [](const Outgoing* o, int64_t id) { return o->outbox_id == id; });
  if (!in_order) {
    flush(recipient, false);
    return;
  }
  for (const Outgoing* o : frames) {
    if (!o->held && !hooks_.send_frame(recipient, o->frame)) {
      block(flow);  // the socket's queue is full: the outbox sends the rest later
      return;
    }
    flow.note_sent(o->outbox_id);
    sent_rows_.push_back(o->row);
    flow.arm_retry(clock_.now_ms());
  }
}

void Outbox::flush(const std::string& recipient, bool from_start) {
  OutboxFlow& flow = flow_of(recipient);
  if (from_start) flow.restart();
  unblock(flow);
  storage::OutboxRepo outbox(db_);
  for (;;) {
    auto entries = outbox.pending(recipient, flow.sent_through(), kFlushChunk);
    if (!entries.is_ok() || entries.value().empty()) break;
    for (const auto& entry : entries.value()) {
      if (!send_stored(recipient, entry.frame)) {
        block(flow);  // the socket's queue is full: continue on the next turn
        return;
      }
      flow.note_sent(entry.id);
      sent_rows_.push_back(entry.message_row);
      hooks_.count(Counter::outbox_frames_sent, 1);
    }
  }
  flow.arm_retry(clock_.now_ms());
}

void Outbox::resend_window(const std::string& recipient, int64_t after_id) {
  OutboxFlow& flow = flow_of(recipient);
  flow.begin_resend();
  auto entries = storage::OutboxRepo(db_).pending(recipient, after_id, flow.window());
  if (!entries.is_ok()) return;
  int64_t last = after_id;
  for (const auto& entry : entries.value()) {
    if (entry.id > flow.sent_through()) break;  // never sent on this connection: flush's part
    if (!send_stored(recipient, entry.frame)) {
      block(flow);
      break;
    }
    last = entry.id;
    hooks_.count(Counter::outbox_frames_resent, 1);
  }
  flow.end_resend(after_id, last, static_cast<int64_t>(entries.value().size()));
}

bool Outbox::send_stored(const std::string& recipient, ByteView stored) {
  auto frame = net::frame_with_padding(stored);
  if (!frame.is_ok()) return true;  // SQLCipher's MAC makes this a bug of ours, not a peer's
  return hooks_.send_frame(recipient, frame.value());
}

void Outbox::on_peer_online(const std::string& recipient, bool reconnected) {
  auto it = flows_.find(recipient);
  if (it == flows_.end()) return;
  it->second.disarm();  // the flush arms it afresh
  flush(recipient, reconnected);
}

void Outbox::on_progress(const std::string& recipient) {
  auto waiting = storage::OutboxRepo(db_).has_waiting(recipient);
  // A count that cannot be read keeps the retry armed: a lost receipt costs a resend, not a frame.
  const bool more = !(waiting.is_ok() && !waiting.value());
  flow_of(recipient).on_progress(more, clock_.now_ms());
}

void Outbox::mark_sent_if_due() {
  const int64_t now = clock_.now_ms();
  // "sent" is for display only: batched, and without an fsync of its own.
  if (!sent_rows_.empty() && now - sent_marked_ms_ >= kSentMarkIntervalMs) {
    sent_marked_ms_ = now;
    RelaxedSync relaxed(db_, true);
    storage::Transaction tx(db_);
    if (tx.begin_status().is_ok()) {
      mark_sent();
      (void)tx.commit();
    }
  }
}

void Outbox::resend_due() {
  for (auto& [recipient, flow] : flows_) {
    if (online(recipient)) retry_or_recover(recipient, flow);
  }
}

void Outbox::retry_or_recover(const std::string& recipient, OutboxFlow& flow) {
  const int64_t now = clock_.now_ms();
  if (flow.blocked()) {
    flush(recipient, false);
  } else if (flow.retry_due(now)) {
    auto waiting = storage::OutboxRepo(db_).has_waiting(recipient);
    if (waiting.is_ok() && !waiting.value()) {
      flow.idle();
      return;
    }
    hooks_.count(Counter::outbox_retries, 1);
    flow.back_off(now);
    resend_window(recipient, 0);
  } else if (auto point = flow.take_recovery_point()) {
    auto waiting = storage::OutboxRepo(db_).count_waiting(recipient, *point);
    if (waiting.is_ok() && flow.ready_for_next_window(waiting.value())) {
      resend_window(recipient, *point);
    }
  }
}

void Outbox::mark_sent() {
  for (int64_t row : sent_rows_) {
    // Only pending rows move to sent; a receipt may already have made one delivered. OR FAIL:
    // no statement journal (see SignalRepo::store_session).
    auto stmt = db_.prepare("UPDATE OR FAIL messages SET state = 1 WHERE id = ?1 AND state = 0");
    if (!stmt.is_ok()) break;
    stmt.value()->bind(1, row);
    (void)stmt.value()->run();
  }
  sent_rows_.clear();
}

bool Outbox::handed_over(const Outgoing& frame) {
  auto it = flows_.find(frame.recipient);
  return it != flows_.end() && it->second.sent_through() >= frame.outbox_id;
}

bool Outbox::blocked() const {
  return blocked_flows_ > 0;
}

void Outbox::block(OutboxFlow& flow) {
  if (!flow.blocked()) ++blocked_flows_;
  flow.block();
}

void Outbox::unblock(OutboxFlow& flow) {
  if (flow.blocked()) --blocked_flows_;
  flow.unblock();
}

uint64_t Outbox::waiting() {
  auto n = storage::OutboxRepo(db_).count();
  return n.is_ok() ? static_cast<uint64_t>(n.value()) : 0;
}

}  // namespace sotto::core
