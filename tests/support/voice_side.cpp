#include "tests/support/voice_side.h"

#include <algorithm>
#include <stdexcept>

#include "sotto/crypto/frame_cipher.h"
#include "sotto/crypto/primitives.h"
#include "sotto/voice/opus_codec.h"
#include "sotto/voice/wav.h"

namespace sotto::test {
namespace {

std::vector<int16_t> tone(size_t samples) {
  std::vector<int16_t> out(samples);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int16_t>((i % 48) * 400 - 9600);
  return out;
}

template <typename T>
T value_or_throw(Result<T> result, const std::string& what) {
  if (!result.is_ok()) throw std::runtime_error(what + ": " + result.status().message());
  return std::move(result).value();
}

}  // namespace

uint64_t VoiceSide::counter(const std::string& name) const {
  auto it = counters.find(name);
  return it == counters.end() ? 0 : it->second;
}

std::vector<std::string> VoiceSide::phases(const std::string& talker,
                                           const std::string& id_hex) const {
  std::vector<std::string> out;
  for (const auto& e : events) {
    const auto* v = std::get_if<core::VoiceEvent>(&e.body);
    if (v && v->voice.talker == talker && v->voice.id == id_hex)
      out.emplace_back(core::to_string(v->phase));
  }
  return out;
}

// What the engine's Messenger would do, as the VoiceSide says.
class SideMessaging : public core::VoiceMessaging {
 public:
  SideMessaging(VoiceSide& side, core::VoiceChannel channel, const SecretBytes& key,
                Bytes transmission_id)
      : side_(side),
        channel_(std::move(channel)),
        key_(key),
        transmission_id_(std::move(transmission_id)) {}

  Result<core::VoiceChannel> voice_channel(const std::string&) override { return channel_; }
  bool is_voice_member(ByteView channel_id, const std::string& fp) override {
    return Bytes(channel_id.begin(), channel_id.end()) == channel_.id && side_.members.contains(fp);
  }
  std::string name_of(const std::string& fp) override { return fp; }
  Result<core::TransmissionStart> open_transmission(const std::string&, uint32_t, uint32_t,
                                                    int64_t started_at_us) override {
    core::TransmissionStart start;
    start.channel = channel_;
    start.transmission_id = transmission_id_;
    start.key = SecretBytes::copy_of(key_.view());
    start.started_at_us = started_at_us;
    start.recipients = side_.recipients;
    start.members = side_.recipients;
    return start;
  }
  Result<core::MessageInfo> close_transmission(const core::TransmissionEnd& end) override {
    side_.closed = end;
    core::MessageInfo info;
    info.kind = core::MessageKind::kVoice;
    return info;
  }
  Result<std::optional<core::ArchivedClip>> archive_heard_clip(const std::string&, ByteView,
                                                               const core::HeardClip&,
                                                               ByteView) override {
    return std::optional<core::ArchivedClip>();
  }
  bool send_live(const std::string& to, ByteView frame) override {
    side_.sent.emplace_back(to, Bytes(frame.begin(), frame.end()));
    return true;
  }

 private:
  VoiceSide& side_;
  core::VoiceChannel channel_;
  const SecretBytes& key_;
  Bytes transmission_id_;
};

core::VoiceEngineHooks voice_hooks(VoiceSide& side, const core::VoiceChannel& channel,
                                   const SecretBytes& key, const Bytes& transmission_id) {
  side.messaging = std::make_unique<SideMessaging>(side, channel, key, transmission_id);
  core::VoiceEngineHooks hooks;
  hooks.messaging = side.messaging.get();
  hooks.publish = [&side](core::Event e) { side.events.push_back(std::move(e)); };
  hooks.count = [&side](core::Counter c, uint64_t n) {
    side.counters[std::string(to_string(c))] += n;
  };
  return hooks;
}

wire::VoiceStart voice_start(const core::VoiceChannel& channel, const Bytes& transmission_id,
                             const SecretBytes& key, uint64_t started_at_us) {
  wire::VoiceStart start;
  start.set_transmission_id(as_chars(transmission_id).data(), transmission_id.size());
  start.set_channel_id(as_chars(channel.id).data(), channel.id.size());
  start.set_sample_rate(48000);
  start.set_frame_ms(20);
  start.set_bitrate(24000);
  start.set_key(key.chars().data(), key.size());
  start.set_started_at_us(started_at_us);
  return start;
}

std::vector<wire::VoiceFrame> sealed_frames(const core::VoiceChannel& channel,
                                            const Bytes& transmission_id, const SecretBytes& key,
                                            uint32_t count, uint32_t first) {
  const auto cipher =
      value_or_throw(crypto::FrameCipher::create(key, channel.id, transmission_id), "frame cipher");
  auto encoder = value_or_throw(voice::OpusEncoder::create({}), "opus encoder");
  const std::vector<int16_t> pcm = tone(960);
  std::vector<wire::VoiceFrame> out;
  for (uint32_t seq = first; seq < first + count; ++seq) {
    const Bytes packet = value_or_throw(encoder.encode(pcm), "opus encode");
    wire::VoiceFrame frame;
    frame.set_channel_id(as_chars(channel.id).data(), channel.id.size());
    frame.set_transmission_id(as_chars(transmission_id).data(), transmission_id.size());
    frame.set_seq(seq);
    const Bytes sealed = cipher.seal(seq, packet);
    frame.set_body(as_chars(sealed).data(), sealed.size());
    out.push_back(std::move(frame));
  }
  return out;
}

void write_tone(const std::string& path, int ms) {
  const Status written = voice::write_wav(path, tone(static_cast<size_t>(ms) * 48));
  if (!written.is_ok()) throw std::runtime_error(path + ": " + written.message());
}

Talker talker(const std::string& fingerprint, Bytes transmission_id, uint64_t started_at_us) {
  return {fingerprint, std::move(transmission_id), SecretBytes::copy_of(crypto::random_bytes(32)),
          started_at_us};
}

Listener::Listener(const std::string& fingerprint, const core::VoiceChannel& channel)
    : unused_key(SecretBytes::copy_of(crypto::random_bytes(32))),
      engine(fingerprint, clock, core::VoiceOptions{},
             voice_hooks(side, channel, unused_key, crypto::random_bytes(16))) {
  side.members.insert(fingerprint);
  const Status started = engine.start();
  if (!started.is_ok()) throw std::runtime_error("voice engine: " + started.message());
}

void Listener::hear(const core::VoiceChannel& channel, const Talker& t) {
  engine.on_voice_start(t.fingerprint, channel,
                        voice_start(channel, t.transmission_id, t.key, t.started_at_us));
}

void Listener::frames_from(const core::VoiceChannel& channel, const Talker& t, uint32_t count,
                           uint32_t first) {
  for (const auto& f : sealed_frames(channel, t.transmission_id, t.key, count, first)) {
    engine.on_frame(t.fingerprint, f);
  }
}

Speaker::Speaker(const std::string& fingerprint, const core::VoiceChannel& channel,
                 const Bytes& transmission_id, std::vector<std::string> recipients, int tone_ms)
    : key(SecretBytes::copy_of(crypto::random_bytes(32))),
      engine(fingerprint, clock, core::VoiceOptions{},
             voice_hooks(side, channel, key, transmission_id)) {
  side.recipients = std::move(recipients);
  side.members.insert(fingerprint);
  const Status started = engine.start();
  if (!started.is_ok()) throw std::runtime_error("voice engine: " + started.message());
  const std::string path = tmp / "tone.wav";
  write_tone(path, tone_ms);
  auto source = value_or_throw(voice::open_wav_source(path, 960), path);
  engine.talk(channel.name, std::move(source), [this](Result<core::MessageInfo> r) { done = r; });
}

void Speaker::run_ms(int ms) {
  for (int t = 0; t < ms; t += 20) {
    clock.advance_ms(20);
    engine.tick();
  }
}

size_t Speaker::frames_sent_to(const std::string& fingerprint) const {
  return static_cast<size_t>(std::count_if(side.sent.begin(), side.sent.end(),
                                           [&](const auto& s) { return s.first == fingerprint; }));
}

std::set<std::string> on_air(const core::VoiceEngine& engine, const core::VoiceChannel& channel,
                             const std::set<std::string>& members) {
  core::ChannelInfo info;
  info.id = to_hex(channel.id);
  info.name = channel.name;
  for (const auto& fp : members)
    info.members.push_back({fp, fp, {}, false, false, false, core::MemberTrust::kUnverified, ""});
  engine.describe(info);
  std::set<std::string> out;
  for (const auto& m : info.members) {
    if (m.on_air) out.insert(m.fingerprint);
  }
  return out;
}

}  // namespace sotto::test
