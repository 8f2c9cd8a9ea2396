// Outbox: committed frames on their way to each recipient, in order, until a receipt removes
// them (doc/guide.md, Text). One OutboxFlow per recipient decides when to send, wait and resend;
// this class does the sending and reads the stored outbox. Frames reach it only after their commit.
// Thread-safety: the node's loop thread only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"
#include "src/core/commit_effects.h"
#include "src/core/outbox_flow.h"

namespace sotto::core {

struct MessengerHooks;

class Outbox {
 public:
  Outbox(storage::Database& db, const Clock& clock, OutboxFlowOptions options,
         const MessengerHooks& hooks);

  // A flow for every recipient with frames waiting from an earlier run.
  Status start();
  // Committed frames, per recipient in commit order: straight out when they are what waits next.
  void transmit(const std::vector<Outgoing>& out);
  // `reconnected`: over a new connection (resend everything unacknowledged); else the same one
  // after a quiet spell (carry on where the outbox was).
  void on_peer_online(const std::string& recipient, bool reconnected);
  // Receipts from `recipient` removed some of its frames (inside the receive transaction).
  void on_progress(const std::string& recipient);
  // On the timer: retries, recovery windows and blocked flows, for recipients online now.
  void resend_due();
  // On the timer: the "sent" marks, now and then (display only, so batched and without an fsync).
  void mark_sent_if_due();
  // Inside a transaction: moves the messages handed to the socket from pending to sent.
  void mark_sent();
  // Whether the frame went to the socket on this connection.
  bool handed_over(const Outgoing& frame);
  // True while some recipient's socket queue was full (the loop should come back soon).
  bool blocked() const;
  // Frames waiting for a receipt (0 when the count cannot be read).
  uint64_t waiting();

 private:
  void transmit_to(const std::string& recipient, std::vector<const Outgoing*> frames);
  void flush(const std::string& recipient, bool from_start);
  // A flow's state changed through these only, so blocked() counts instead of walking the flows:
  // the loop asks it several times a round, and on air every round is a frame's cold wake-up.
  void block(OutboxFlow& flow);
  void unblock(OutboxFlow& flow);
  // Resends up to one window of frames already sent on this connection, oldest first, with id >
  // after_id; recovery continues from the last of them while receipts come back.
  void resend_window(const std::string& recipient, int64_t after_id);
  void retry_or_recover(const std::string& recipient, OutboxFlow& flow);
  bool online(const std::string& recipient) const;
  // Sends a frame as the outbox stores it (net::frame_without_padding): false when the socket's
  // queue is full. One that cannot be padded again (a damaged row) is skipped, not sent.
  bool send_stored(const std::string& recipient, ByteView stored);
  OutboxFlow& flow_of(const std::string& recipient);

  storage::Database& db_;
  const Clock& clock_;
  OutboxFlowOptions options_;
  const MessengerHooks& hooks_;
  std::map<std::string, OutboxFlow> flows_;
  size_t blocked_flows_ = 0;        // of flows_, those blocked()
  std::vector<int64_t> sent_rows_;  // to mark "sent" now and then (cosmetic: no fsync)
  int64_t sent_marked_ms_ = 0;
};

}  // namespace sotto::core
