#include "src/core/outbox_flow.h"

#include <algorithm>

namespace sotto::core {

void OutboxFlow::restart() {
  sent_through_ = 0;
  resent_through_ = 0;  // everything goes out again anyway
}

int64_t OutboxFlow::least_wait() const {
  return std::max(patience_ms_, options_.retry_initial_ms);
}

void OutboxFlow::arm_retry(int64_t now_ms) {
  if (retry_at_ms_ != 0) return;  // already waiting for a receipt
  backoff_ms_ = least_wait();
  retry_at_ms_ = now_ms + backoff_ms_;
  awaiting_since_ms_ = now_ms;
}

void OutboxFlow::back_off(int64_t now_ms) {
  backoff_ms_ = std::min(backoff_ms_ * 2, options_.retry_max_ms);
  retry_at_ms_ = now_ms + backoff_ms_;
}

void OutboxFlow::on_progress(bool more_waiting, int64_t now_ms) {
  // Progress: the peer is working through the queue, so the retry clock starts over, from how
  // long this peer takes between receipts (see the header).
  const int64_t least = options_.retry_initial_ms;
  if (awaiting_since_ms_ != 0) {
    const int64_t gap = now_ms - awaiting_since_ms_;
    const int64_t patience = least_wait();
    patience_ms_ = std::clamp(std::max(2 * gap, patience - (patience - least) / 8), least,
                              options_.retry_max_ms);
  }
  receipts_since_check_ = true;
  if (!more_waiting) {
    idle();
    return;
  }
  awaiting_since_ms_ = now_ms;
  backoff_ms_ = least_wait();
  retry_at_ms_ = now_ms + backoff_ms_;
}

void OutboxFlow::idle() {
  retry_at_ms_ = 0;
  awaiting_since_ms_ = 0;
  resent_through_ = 0;
}

void OutboxFlow::begin_resend() {
  resent_through_ = 0;
  receipts_since_check_ = false;
}

void OutboxFlow::end_resend(int64_t after_id, int64_t last_id, int64_t fetched) {
  const bool more =
      fetched == options_.retry_window && last_id < sent_through_ && last_id > after_id;
  if (more) resent_through_ = last_id;
}

std::optional<int64_t> OutboxFlow::take_recovery_point() {
  if (resent_through_ == 0 || !receipts_since_check_) return std::nullopt;
  receipts_since_check_ = false;
  return resent_through_;
}

}  // namespace sotto::core
