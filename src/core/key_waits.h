// KeyWaits: channel messages that came before their author's sender key (doc/guide.md,
// Channels).
//
//   A member hands out its sender key when it first uses it, over 1:1 sessions it may have to
//   start first, so its first messages can overtake the key. Such a message from a member on the
//   roster (nobody else gets a slot) is held here unacknowledged and handled again as soon as the
//   key is applied: the author's outbox would resend it only after its patience (2 s or more),
//   and a live VoiceStart it would never resend. Bounded per author and in all, so one member
//   cannot crowd out the others; a message that finds no room, or waits past kTtlMs, is still
//   resent by its author's outbox (live voice frames are lost, as on any late key).
//
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "src/core/message_ledger.h"

namespace sotto::core {

class KeyWaits {
 public:
  static constexpr size_t kMaxPerAuthor = 64;
  static constexpr size_t kMax = 1024;
  static constexpr size_t kMaxBytes = size_t{4} << 20;
  static constexpr int64_t kTtlMs = 30'000;

  // Holds `item`, a GroupMessage from a roster member whose key we lack (once: a resend of a held
  // message changes nothing); false when there is no room (the per-author bound, or kMax or
  // kMaxBytes in all).
  bool hold(const Received& item, int64_t now_ms);
  // `from`'s key for the channel `channel_id` (raw bytes) was applied: its messages are due.
  void key_applied(const std::string& from, const std::string& channel_id);
  // The due messages, in the order they came, taken out.
  std::vector<Received> take_due();
  // Drops what waited longer than kTtlMs; returns how many.
  size_t expire(int64_t now_ms);

  size_t size() const { return held_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Held {
    Received item;
    int64_t at_ms = 0;
    size_t bytes = 0;
    bool due = false;
  };
  std::deque<Held> held_;  // in arrival order
  size_t bytes_ = 0;
};

}  // namespace sotto::core
