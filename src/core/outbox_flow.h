// OutboxFlow: when the outbox towards one recipient sends, waits and resends (doc/guide.md, Text).
//
//   idle --a frame handed to the socket--> awaiting: a retry is armed after the peer's patience
//   awaiting --a receipt, frames still waiting--> awaiting, the retry re-armed from now
//   awaiting --a receipt, nothing waiting--> idle
//   awaiting --the retry falls due--> the oldest window is resent, the backoff doubles
//   recovering (a full window was resent) --half of it acknowledged--> the next window
//
// Patience is learnt from the gaps between one peer's receipts: a slow peer (a small board, a
// node under a sanitizer) teaches it at once, and it wears off by an eighth per receipt while
// the peer keeps up, so retries go to a peer that went silent, not to a long queue being drained.
// Invariants: retry_initial_ms <= backoff <= retry_max_ms once armed; a retry is armed exactly
// while frames handed to the socket wait for a receipt (or after a reconnect, until the flush).
// Times are monotonic milliseconds passed in by the caller. Thread-safety: none (loop thread).
#pragma once

#include <cstdint>
#include <optional>

namespace sotto::core {

struct OutboxFlowOptions {
  int64_t retry_initial_ms = 2000;  // no receipt for this long: resend the unacknowledged
  int64_t retry_max_ms = 60000;
  // A retry resends at most this many of the oldest unacknowledged frames, and the next ones only
  // as receipts come back: a receiver that is merely slow must not be buried in duplicates.
  int64_t retry_window = 256;
};

class OutboxFlow {
 public:
  explicit OutboxFlow(OutboxFlowOptions options = {}) : options_(options) {}

  // --- sending on this connection ---
  // The highest outbox id handed to the socket since the peer came online.
  int64_t sent_through() const { return sent_through_; }
  void note_sent(int64_t outbox_id) { sent_through_ = outbox_id; }
  // A new connection: everything waiting goes out again from the start.
  void restart();
  // The socket's queue was full: nothing more goes out until the outbox flushes again.
  bool blocked() const { return blocked_; }
  void block() { blocked_ = true; }
  void unblock() { blocked_ = false; }

  // --- waiting for receipts ---
  // Starts the retry clock unless it already runs.
  void arm_retry(int64_t now_ms);
  // Stops it; the next flush arms it afresh.
  void disarm() { retry_at_ms_ = 0; }
  bool retry_due(int64_t now_ms) const { return retry_at_ms_ != 0 && now_ms >= retry_at_ms_; }
  // A retry goes out now: the next one waits twice as long (up to retry_max_ms).
  void back_off(int64_t now_ms);
  // Receipts came back for frames of this flow; `more_waiting`: frames still unacknowledged.
  void on_progress(bool more_waiting, int64_t now_ms);
  // Everything acknowledged: no retry, and the time until the next send is not a gap.
  void idle();

  // --- resending ---
  int64_t window() const { return options_.retry_window; }
  // A window is about to be resent (a retry, or the next one of a recovery).
  void begin_resend();
  // The window after `after_id` went out up to `last_id`, `fetched` frames read for it: when the
  // window was full and more was sent on this connection, recovery continues from `last_id`.
  void end_resend(int64_t after_id, int64_t last_id, int64_t fetched);
  // Where the next recovery window starts, once receipts came since the last look; consumes them.
  std::optional<int64_t> take_recovery_point();
  // The next window goes once half of the last one is acknowledged: as fast as the peer commits,
  // never faster. (Receipts of originals that were merely slow count too, so a slow peer sees
  // each frame at most twice; one that lost frames gets them back at its own pace.)
  bool ready_for_next_window(int64_t waiting_after_point) const {
    return waiting_after_point <= options_.retry_window / 2;
  }

  // For tests and the loop's deadline: 0 when no retry is armed.
  int64_t retry_at_ms() const { return retry_at_ms_; }
  int64_t backoff_ms() const { return backoff_ms_; }
  int64_t patience_ms() const { return patience_ms_; }
  bool recovering() const { return resent_through_ != 0; }

 private:
  int64_t least_wait() const;

  OutboxFlowOptions options_;
  int64_t sent_through_ = 0;
  int64_t retry_at_ms_ = 0;  // resend the oldest window if no receipt came by then
  int64_t backoff_ms_ = 0;
  int64_t patience_ms_ = 0;        // learnt from the gaps between this peer's receipts
  int64_t awaiting_since_ms_ = 0;  // the last send from idle, or the last receipt; 0 when idle
  int64_t resent_through_ = 0;     // recovering after a retry: the highest id resent; else 0
  bool receipts_since_check_ = false;
  bool blocked_ = false;
};

}  // namespace sotto::core
