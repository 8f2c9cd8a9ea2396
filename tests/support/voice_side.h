// VoiceSide: one VoiceEngine's surroundings when the test is its network and its Messenger —
// every frame it sends, every event it publishes and every counter it bumps is recorded, and
// the test builds the VoiceStarts and sealed frames a member (or an attacker who is one) would
// send. The frames are real: Opus packets of a tone, sealed with crypto::FrameCipher.
//
// Thread-safety: one test thread. The helpers throw std::runtime_error when a real part fails.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/clock.h"
#include "sotto/base/secret.h"
#include "sotto/core/events.h"
#include "src/core/voice_engine.h"
#include "tests/support/temp_dir.h"

namespace sotto::test {

struct VoiceSide {
  std::map<std::string, uint64_t> counters;
  std::vector<core::Event> events;
  std::vector<std::pair<std::string, Bytes>> sent;
  std::optional<core::TransmissionEnd> closed;
  // What the engine's Messenger would say: who our own VoiceStart went to, and who is on the
  // channel's roster (the engine's own fingerprint included, as in a real roster).
  std::vector<std::string> recipients = {"listener"};
  std::set<std::string> members = {"talker", "listener"};
  // The engine's messaging: answers as above, records what is closed and sent (voice_hooks).
  std::unique_ptr<core::VoiceMessaging> messaging;

  uint64_t counter(const std::string& name) const;
  // The phases published for transmission `id_hex` by `talker`, in order ("started", ...).
  std::vector<std::string> phases(const std::string& talker, const std::string& id_hex) const;
};

// Hooks for an engine on `channel` whose own transmissions get `transmission_id` and `key`;
// `side` holds the messaging they point at, so it must outlive the engine.
core::VoiceEngineHooks voice_hooks(VoiceSide& side, const core::VoiceChannel& channel,
                                   const SecretBytes& key, const Bytes& transmission_id);

wire::VoiceStart voice_start(const core::VoiceChannel& channel, const Bytes& transmission_id,
                             const SecretBytes& key, uint64_t started_at_us = 0);

// Frames seq first..first+count-1 of a tone, encoded and sealed as the talker's engine does.
std::vector<wire::VoiceFrame> sealed_frames(const core::VoiceChannel& channel,
                                            const Bytes& transmission_id, const SecretBytes& key,
                                            uint32_t count, uint32_t first = 0);

// A 48 kHz mono tone, `ms` long, written as a WAV file at `path` (a talker's recording).
void write_tone(const std::string& path, int ms);

// A member who talks, as the others see it: its transmission and the start its clock claims.
struct Talker {
  std::string fingerprint;
  Bytes transmission_id;
  SecretBytes key;
  uint64_t started_at_us = 0;
};
// With a fresh random key.
Talker talker(const std::string& fingerprint, Bytes transmission_id, uint64_t started_at_us = 0);

// A member's engine that only listens, on its own FakeClock.
struct Listener {
  FakeClock clock;
  VoiceSide side;
  SecretBytes unused_key;
  core::VoiceEngine engine;

  Listener(const std::string& fingerprint, const core::VoiceChannel& channel);
  // `t`'s VoiceStart arrives.
  void hear(const core::VoiceChannel& channel, const Talker& t);
  // `t`'s frames seq first..first+count-1 arrive.
  void frames_from(const core::VoiceChannel& channel, const Talker& t, uint32_t count,
                   uint32_t first = 0);
};

// A member's engine on air: from construction on it talks a tone `tone_ms` long on `channel`
// with `transmission_id`, its VoiceStart gone to `recipients` (every member but itself).
struct Speaker {
  TempDir tmp;
  FakeClock clock;
  VoiceSide side;
  SecretBytes key;
  core::VoiceEngine engine;
  std::optional<Result<core::MessageInfo>> done;  // what talk() reported, once it did

  Speaker(const std::string& fingerprint, const core::VoiceChannel& channel,
          const Bytes& transmission_id, std::vector<std::string> recipients = {"listener"},
          int tone_ms = 3000);
  // `ms` pass in frame-period ticks.
  void run_ms(int ms);
  size_t frames_sent_to(const std::string& fingerprint) const;
};

// The members `engine` shows on air in `channel` (fingerprints).
std::set<std::string> on_air(const core::VoiceEngine& engine, const core::VoiceChannel& channel,
                             const std::set<std::string>& members);

}  // namespace sotto::test
