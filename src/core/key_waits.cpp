#include "src/core/key_waits.h"

#include <algorithm>

namespace sotto::core {
namespace {

const wire::GroupMessage& group_of(const Received& item) {
  return item.envelope.group();
}

size_t size_of(const Received& item) {
  const auto& g = group_of(item);
  return item.from.size() + g.channel_id().size() + g.message_id().size() + g.body().size();
}

}  // namespace

bool KeyWaits::hold(const Received& item, int64_t now_ms) {
  const auto& g = group_of(item);
  size_t from_author = 0;
  for (const Held& held : held_) {
    if (held.item.from != item.from) continue;
    if (group_of(held.item).message_id() == g.message_id()) return true;
    ++from_author;
  }
  const size_t bytes = size_of(item);
  if (from_author >= kMaxPerAuthor || held_.size() >= kMax || bytes_ + bytes > kMaxBytes) {
    return false;
  }
  held_.push_back(Held{item, now_ms, bytes, false});
  bytes_ += bytes;
  return true;
}

void KeyWaits::key_applied(const std::string& from, const std::string& channel_id) {
  for (Held& held : held_) {
    if (held.item.from == from && group_of(held.item).channel_id() == channel_id) held.due = true;
  }
}

std::vector<Received> KeyWaits::take_due() {
  std::vector<Received> due;
  for (Held& held : held_) {
    if (held.due) due.push_back(std::move(held.item));
  }
  if (due.empty()) return due;
  std::erase_if(held_, [this](const Held& held) {
    if (held.due) bytes_ -= held.bytes;
    return held.due;
  });
  return due;
}

size_t KeyWaits::expire(int64_t now_ms) {
  const size_t before = held_.size();
  std::erase_if(held_, [&](const Held& held) {
    const bool old = now_ms - held.at_ms > kTtlMs;
    if (old) bytes_ -= held.bytes;
    return old;
  });
  return before - held_.size();
}

}  // namespace sotto::core
