// Receptions: the members' transmissions we hear now, keyed by (talker, transmission id), at
// most kMax of them, and the frames that overtook their VoiceStart (EarlyFrames) (doc/guide.md,
// Push-to-talk voice). Frames are checked at the door and routed here. What the engine asks of the
// receptions all at once: who is live on a channel (its floor, who is on air), whom a roster
// removed, what the clock has made due, and the next frames for the device's mix.
//
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "src/core/voice_early_frames.h"
#include "src/core/voice_messaging.h"
#include "src/core/voice_output.h"
#include "src/core/voice_reception.h"

namespace sotto::core {

class Receptions {
 public:
  // REQUIRES: both outlive this.
  Receptions(const VoiceEnv& env, VoiceMessaging& messaging) : env_(env), messaging_(messaging) {}

  using Key = HeardLog::Key;
  // A talker per channel and a few crossing starts, over a handful of channels; a peer sending
  // VoiceStarts cannot grow the table beyond this.
  static constexpr size_t kMax = 64;

  bool empty() const { return by_key_.empty(); }
  bool full() const { return by_key_.size() >= kMax; }
  bool contains(const Key& key) const { return by_key_.contains(key); }
  // The reception `key`, or nullptr.
  Reception* find(const Key& key);
  // Adds the reception, and hands it the frames that overtook its VoiceStart.
  void add(const Key& key, std::unique_ptr<Reception> reception);
  // One VoiceFrame from `from`: to its reception, else held until its VoiceStart comes (for a
  // member only); malformed ones counted and dropped.
  void on_frame(const std::string& from, const wire::VoiceFrame& frame);
  // Takes `key` out; nullptr when there is none.
  std::unique_ptr<Reception> take(const Key& key);

  // The live receptions on the channel whose id is `channel_hex`.
  std::vector<Reception*> live_on(const std::string& channel_hex) const;
  // Takes out the receptions on `channel_id` whose talker `listed` refuses.
  std::vector<std::unique_ptr<Reception>> take_unlisted(
      const Bytes& channel_id, const std::function<bool(const std::string&)>& listed);
  // Drops the held frames on `channel_id` whose sender `listed` refuses (counted).
  void drop_early_unlisted(const Bytes& channel_id,
                           const std::function<bool(const std::string&)>& listed);

  // Plays what is due in each; returns those that are over (silent for `timeout_ms`, or done).
  // Held frames no VoiceStart came for expire.
  std::vector<Key> play_due(int64_t now_ms, int64_t timeout_ms);
  // The next decoded frame of each into `output`'s mix.
  void mix_into(VoiceOutput& output);
  // When play_due next has work (a reception's or a held frame's); `device_due_ms` (a device
  // output) counts for those with decoded frames waiting for the mix.
  std::optional<int64_t> next_deadline_ms(int64_t now_ms, int64_t timeout_ms,
                                          std::optional<int64_t> device_due_ms) const;
  // The channels (not free voice) someone is live on, by name, each once.
  std::vector<std::string> busy_channels() const;

 private:
  const VoiceEnv& env_;
  VoiceMessaging& messaging_;
  std::map<Key, std::unique_ptr<Reception>> by_key_;
  EarlyFrames early_;
};

}  // namespace sotto::core
