#include "src/core/voice_receptions.h"

#include <algorithm>

#include "sotto/crypto/frame_cipher.h"
#include "sotto/voice/clip.h"
#include "src/net/content.h"

namespace sotto::core {

Reception* Receptions::find(const Key& key) {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second.get();
}

void Receptions::add(const Key& key, std::unique_ptr<Reception> reception) {
  Reception& r = *reception;
  by_key_[key] = std::move(reception);
  // Frames that overtook their VoiceStart (it waits for a database commit, they do not).
  for (const auto& frame : early_.take(key.first, r.transmission_id())) {
    r.on_frame(frame, env_.clock->now_ms(), env_);
  }
}

void Receptions::on_frame(const std::string& from, const wire::VoiceFrame& frame) {
  const int64_t now = env_.clock->now_ms();
  if (frame.channel_id().size() != net::kChannelIdSize ||
      frame.transmission_id().size() != net::kMessageIdSize ||
      frame.body().size() > voice::kMaxPacketBytes + crypto::kFrameTagSize ||
      frame.seq() >= net::kVoiceMaxFrames) {
    env_.count(Counter::voice_frames_dropped_malformed, 1);
    return;
  }
  if (Reception* r = find({from, to_hex(as_bytes(frame.transmission_id()))})) {
    return r->on_frame(frame, now, env_);
  }
  early_.expire(now, env_.count);
  if (!messaging_.is_voice_member(as_bytes(frame.channel_id()), from)) {
    env_.count(Counter::voice_frames_dropped_not_member, 1);
    return;
  }
  early_.hold(from, frame, now, env_.count);
}

std::unique_ptr<Reception> Receptions::take(const Key& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return nullptr;
  std::unique_ptr<Reception> r = std::move(it->second);
  by_key_.erase(it);
  return r;
}

std::vector<Reception*> Receptions::live_on(const std::string& channel_hex) const {
  std::vector<Reception*> live;
  for (const auto& [key, r] : by_key_) {
    if (r->live() && to_hex(r->channel.id) == channel_hex) live.push_back(r.get());
  }
  return live;
}

std::vector<std::unique_ptr<Reception>> Receptions::take_unlisted(
    const Bytes& channel_id, const std::function<bool(const std::string&)>& listed) {
  std::vector<std::unique_ptr<Reception>> taken;
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    if (it->second->channel.id == channel_id && !listed(it->second->talker)) {
      taken.push_back(std::move(it->second));
      it = by_key_.erase(it);
    } else {
      ++it;
    }
  }
  return taken;
}

void Receptions::drop_early_unlisted(const Bytes& channel_id,
                                     const std::function<bool(const std::string&)>& listed) {
  const size_t early = early_.drop_unless(std::string(as_chars(channel_id)), listed);
  if (early > 0) env_.count(Counter::voice_frames_dropped_not_member, early);
}

std::vector<Receptions::Key> Receptions::play_due(int64_t now_ms, int64_t timeout_ms) {
  std::vector<Key> over;
  for (auto& [key, r] : by_key_) {
    r->play_due(now_ms, env_);
    if (r->over(now_ms, timeout_ms)) over.push_back(key);
  }
  early_.expire(now_ms, env_.count);
  return over;
}

void Receptions::mix_into(VoiceOutput& output) {
  for (auto& [key, r] : by_key_) {
    if (auto frame = r->take_playout())
      output.add(key.first + "/" + key.second, frame->first, frame->second);
  }
}

std::optional<int64_t> Receptions::next_deadline_ms(int64_t now_ms, int64_t timeout_ms,
                                                    std::optional<int64_t> device_due_ms) const {
  std::optional<int64_t> next;
  auto sooner = [&](std::optional<int64_t> at) {
    if (at) next = next ? std::min(*next, *at) : *at;
  };
  for (const auto& [key, r] : by_key_) {
    sooner(r->next_deadline_ms(now_ms, timeout_ms));
    if (r->has_playout()) sooner(device_due_ms);
  }
  sooner(early_.next_expiry_ms());
  return next;
}

std::vector<std::string> Receptions::busy_channels() const {
  std::vector<std::string> busy;
  for (const auto& [key, r] : by_key_) {
    if (r->live() && !r->channel.free_voice &&
        std::find(busy.begin(), busy.end(), r->channel.name) == busy.end()) {
      busy.push_back(r->channel.name);
    }
  }
  return busy;
}

}  // namespace sotto::core
