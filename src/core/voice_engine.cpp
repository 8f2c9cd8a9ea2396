#include "src/core/voice_engine.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>

#include "sotto/crypto/frame_cipher.h"
#include "sotto/crypto/primitives.h"
#include "sotto/voice/clip.h"
#include "sotto/voice/mixer.h"
#include "sotto/voice/opus_codec.h"
#include "sotto/voice/wav.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

// A clip travels as one frame: its packets must fit the largest content bucket, with room for
// the VoiceClip fields around them.
constexpr size_t kClipBudgetBytes = net::kContentBuckets.back() - 1024;
// Frames overtake their VoiceStart in a burst: the talker sends VoiceStart after a commit (an
// fsync) and then catches up with the frames captured meanwhile, and a listener handles them at
// once but VoiceStart only after its poll round. 32 frames is 640 ms of 20 ms frames (320 ms of
// 10 ms ones), far more than such a commit takes; the total holds two talkers crossing with
// room for two more, at most 128 sealed frames of a few hundred bytes.
constexpr size_t kMaxEarlyFramesPerTalker = 32;
constexpr size_t kMaxEarlyFrames = 4 * kMaxEarlyFramesPerTalker;
constexpr int64_t kEarlyFrameTtlMs = 2'000;
constexpr size_t kRecentPerChannel = 8;
constexpr size_t kMaxReceptions = 64;

std::string hex_of(const std::string& bytes) {
  return to_hex(as_bytes(bytes));
}

// What settles the floor between overlapping transmissions (DESIGN §6, §8): the same on every
// member whatever order the VoiceStarts arrive in, and nothing a talker sets by its clock.
Bytes floor_rank(ByteView channel_id, ByteView transmission_id) {
  Bytes input(channel_id.begin(), channel_id.end());
  input.insert(input.end(), transmission_id.begin(), transmission_id.end());
  return crypto::sha256(input);
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    out.push_back(safe ? c : '_');
  }
  return out.empty() ? "_" : out;
}

// Writes beside the final name, then renames: a watcher of the directory sees whole files only.
Status write_wav_atomically(const std::string& path, std::span<const int16_t> samples) {
  const std::string partial = path + ".part";
  SOTTO_RETURN_IF_ERROR(voice::write_wav(partial, samples));
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return Status::io_error("cannot rename " + partial);
  }
  return Status::ok();
}

// Decodes a whole clip with the edge fades a live listener hears.
Result<std::vector<int16_t>> render_clip(const std::vector<Bytes>& packets, int frame_ms) {
  SOTTO_ASSIGN_OR_RETURN(voice::OpusDecoder decoder, voice::OpusDecoder::create({frame_ms}));
  voice::Mixer mixer(voice::MixerOptions{voice::frame_samples_for(frame_ms)});
  std::vector<int16_t> out;
  for (size_t i = 0; i < packets.size(); ++i) {
    auto pcm = decoder.decode(packets[i]);
    if (!pcm.is_ok()) pcm = decoder.conceal();
    if (!pcm.is_ok()) return pcm.status();
    SOTTO_RETURN_IF_ERROR(mixer.add("clip", pcm.value(), i + 1 == packets.size()));
    const auto mixed = mixer.mix();
    out.insert(out.end(), mixed.begin(), mixed.end());
  }
  return out;
}

}  // namespace

struct VoiceEngine::Transmission {
  Transmission(TransmissionStart opened_, crypto::FrameCipher cipher_, voice::OpusEncoder encoder_,
               std::unique_ptr<voice::AudioSource> source_, int64_t start_ms_, uint32_t max_frames_,
               TalkDone done_)
      : opened(std::move(opened_)),
        cipher(std::move(cipher_)),
        encoder(std::move(encoder_)),
        source(std::move(source_)),
        start_ms(start_ms_),
        max_frames(max_frames_),
        done(std::move(done_)) {}

  TransmissionStart opened;
  Bytes floor_rank;
  crypto::FrameCipher cipher;
  voice::OpusEncoder encoder;
  std::unique_ptr<voice::AudioSource> source;
  int64_t start_ms = 0;
  uint32_t max_frames = 0;
  std::vector<Bytes> packets;
  Bytes timing;
  std::vector<int16_t> pcm;
  TalkDone done;
  VoiceStats stats;
  bool stopping = false;
  double level_dbfs = -96.0;
};

struct VoiceEngine::Reception {
  Reception(std::string talker_, VoiceChannel channel_, const wire::VoiceStart& start_,
            crypto::FrameCipher cipher_, voice::OpusDecoder decoder_,
            const voice::JitterOptions& jitter_options, int64_t now_ms)
      : talker(std::move(talker_)),
        channel(std::move(channel_)),
        start(start_),
        cipher(std::move(cipher_)),
        decoder(std::move(decoder_)),
        jitter(jitter_options),
        last_activity_ms(now_ms),
        file_mixer(voice::MixerOptions{voice::frame_samples_for(jitter_options.frame_ms)}) {}

  std::string talker;
  VoiceChannel channel;
  wire::VoiceStart start;  // key cleared
  Bytes floor_rank;
  crypto::FrameCipher cipher;
  voice::OpusDecoder decoder;
  voice::JitterBuffer jitter;
  crypto::ReplayWindow window;
  std::vector<Bytes> packets;  // by seq; empty: not (yet) arrived
  std::vector<int64_t> arrival_ms;
  int64_t first_arrival_ms = -1;
  int64_t schedule_ms = 0;  // earliest arrival - seq * frame_ms: when frames are due
  bool scheduled = false;
  int64_t last_activity_ms = 0;
  std::optional<uint32_t> end_frames;
  bool refused = false;  // lost the floor: frames ignored, nothing played
  bool complete = false;
  std::vector<double> delays_ms;
  VoiceStats stats;
  // One WAV file per transmission: a frame is held back until the next one shows it was not the
  // last, so the last one gets the fade-out.
  std::vector<int16_t> file_pcm;
  std::vector<int16_t> held;
  voice::Mixer file_mixer;
  std::deque<std::vector<int16_t>> playout;  // decoded, waiting for the device mixer
};

VoiceEngine::VoiceEngine(const std::string& own_fingerprint, const Clock& clock,
                         VoiceOptions options, VoiceEngineHooks hooks)
    : own_fingerprint_(own_fingerprint),
      clock_(clock),
      options_(std::move(options)),
      hooks_(std::move(hooks)) {}

VoiceEngine::~VoiceEngine() {
  for (auto& [channel, t] : transmissions_) {
    if (t->done) t->done(Status::unavailable("the node stopped during the transmission"));
  }
  if (device_) (void)device_->close();
}

Status VoiceEngine::start() {
  const voice::CodecOptions codec{options_.frame_ms, options_.bitrate_bps};
  SOTTO_RETURN_IF_ERROR(voice::validate(codec));
  options_.jitter.frame_ms = options_.frame_ms;
  const std::string& out = options_.audio_out;
  if (out.empty()) return Status::ok();
  if (is_directory(out)) {
    wav_dir_ = true;
    return Status::ok();
  }
  if (ends_with(out, ".wav")) {
    SOTTO_ASSIGN_OR_RETURN(device_, voice::open_wav_sink(out));
  } else {
    SOTTO_ASSIGN_OR_RETURN(
        device_, voice::open_device_sink(out, voice::frame_samples_for(options_.frame_ms)));
  }
  device_mixer_ = std::make_unique<voice::Mixer>(
      voice::MixerOptions{voice::frame_samples_for(options_.frame_ms)});
  return Status::ok();
}

// --- talking -------------------------------------------------------------------------------------

void VoiceEngine::talk(const std::string& channel_name, std::unique_ptr<voice::AudioSource> source,
                       TalkDone done) {
  auto channel = hooks_.lookup(channel_name);
  if (!channel.is_ok()) return done(channel.status());
  const std::string key = to_hex(channel.value().id);
  if (transmissions_.contains(key)) {
    return done(Status::busy("you are already talking on #" + channel.value().name));
  }
  if (!channel.value().free_voice) {
    if (auto holder = floor_holder(key)) {
      VoiceStats refused;
      refused.channel = channel.value().name;
      refused.talker = own_fingerprint_;
      refused.outgoing = true;
      publish("refused", refused);
      return done(Status::busy("#" + channel.value().name +
                               " is busy: " + hooks_.name_of(holder->second) + " is talking"));
    }
  }
  const voice::CodecOptions codec{options_.frame_ms, options_.bitrate_bps};
  auto encoder = voice::OpusEncoder::create(codec);
  if (!encoder.is_ok()) return done(encoder.status());
  // Frames are paced from the start announced in VoiceStart, not from after opening: opening
  // commits to the database (an fsync), and every frame would be encoded that much later than
  // its last sample was captured.
  const int64_t start_ms = clock_.now_ms();
  auto opened = hooks_.open(channel_name, static_cast<uint32_t>(options_.frame_ms),
                            static_cast<uint32_t>(options_.bitrate_bps), clock_.wall_us());
  if (!opened.is_ok()) return done(opened.status());
  auto cipher = crypto::FrameCipher::create(opened.value().key, opened.value().channel.id,
                                            opened.value().transmission_id);
  if (!cipher.is_ok()) return done(cipher.status());
  const size_t packet_bytes = static_cast<size_t>(voice::cbr_packet_bytes(codec));
  const auto by_time = static_cast<uint32_t>(options_.max_transmission_ms / options_.frame_ms);
  const auto by_size = static_cast<uint32_t>(kClipBudgetBytes / (packet_bytes + 2));
  auto t = std::make_unique<Transmission>(std::move(opened).value(), std::move(cipher).value(),
                                          std::move(encoder).value(), std::move(source), start_ms,
                                          std::min(by_time, by_size), std::move(done));
  t->pcm.resize(static_cast<size_t>(voice::frame_samples_for(options_.frame_ms)));
  t->floor_rank = floor_rank(t->opened.channel.id, t->opened.transmission_id);
  t->stats.id = to_hex(t->opened.transmission_id);
  t->stats.channel = t->opened.channel.name;
  t->stats.talker = own_fingerprint_;
  t->stats.talker_name = hooks_.name_of(own_fingerprint_);
  t->stats.outgoing = true;
  t->stats.frame_ms = options_.frame_ms;
  t->stats.started_at_ms = t->opened.started_at_us / 1000;
  publish("started", t->stats);
  transmissions_[key] = std::move(t);
}

bool VoiceEngine::stop_talking(const std::string& channel_name) {
  auto channel = hooks_.lookup(channel_name);
  if (!channel.is_ok()) return false;
  auto it = transmissions_.find(to_hex(channel.value().id));
  if (it == transmissions_.end()) return false;
  it->second->stopping = true;
  return true;
}

void VoiceEngine::send_frame(Transmission& t) {
  auto more = t.source->read(t.pcm);
  if (!more.is_ok() || !more.value()) {
    t.stopping = true;
    return;
  }
  const auto seq = static_cast<uint32_t>(t.packets.size());
  double power = 0;
  for (int16_t x : t.pcm) power += static_cast<double>(x) * x;
  power /= static_cast<double>(t.pcm.size()) * 32768.0 * 32768.0;
  t.level_dbfs = power > 0 ? std::max(-96.0, 10.0 * std::log10(power)) : -96.0;
  if (options_.trace) {
    options_.trace({VoiceTrace::Kind::kEncodeStart, t.stats.id, seq, clock_.wall_us(), 0});
  }
  auto packet = t.encoder.encode(t.pcm);
  if (!packet.is_ok()) {
    hooks_.count(Counter::voice_encode_failures, 1);
    t.stopping = true;
    return;
  }
  wire::Envelope envelope;
  wire::VoiceFrame* frame = envelope.mutable_voice();
  frame->set_channel_id(as_chars(t.opened.channel.id).data(), t.opened.channel.id.size());
  frame->set_transmission_id(as_chars(t.opened.transmission_id).data(),
                             t.opened.transmission_id.size());
  frame->set_seq(seq);
  const Bytes sealed = t.cipher.seal(seq, packet.value());
  frame->set_body(as_chars(sealed).data(), sealed.size());
  auto wire_frame = net::encode_frame(std::move(envelope));
  if (wire_frame.is_ok()) {
    for (const std::string& to : t.opened.recipients) {
      // No waiting and no queue of our own: a peer that cannot keep up loses frames.
      if (!hooks_.send_frame(to, wire_frame.value()))
        hooks_.count(Counter::voice_frames_send_dropped, 1);
    }
  }
  append_le32(t.timing, static_cast<uint32_t>(clock_.now_ms() - t.start_ms));
  t.packets.push_back(std::move(packet).value());
  ++t.stats.frames_sent;
  hooks_.count(Counter::voice_frames_sent, 1);
  if (t.packets.size() >= t.max_frames) t.stopping = true;  // the time-out timer
}

void VoiceEngine::finish_transmission(const std::string& channel_hex, Status why) {
  auto it = transmissions_.find(channel_hex);
  if (it == transmissions_.end()) return;
  std::unique_ptr<Transmission> t = std::move(it->second);
  transmissions_.erase(it);
  t->stats.duration_ms = static_cast<int64_t>(t->packets.size()) * options_.frame_ms;
  if (!why.is_ok()) {
    publish("interrupted", t->stats);
    t->done(why);
    return;
  }
  if (t->packets.empty()) {
    publish("ended", t->stats);
    t->done(Status::invalid_argument("nothing to transmit: the recording is empty"));
    return;
  }
  TransmissionEnd end{t->opened.channel,
                      t->opened.transmission_id,
                      static_cast<uint32_t>(options_.frame_ms),
                      static_cast<uint32_t>(options_.bitrate_bps),
                      t->opened.started_at_us,
                      std::move(t->packets),
                      std::move(t->timing),
                      t->opened.recipients,
                      t->opened.members};
  auto closed = hooks_.close(end);
  t->stats.archived = closed.is_ok();
  remember(t->stats);
  publish("ended", t->stats);
  t->done(std::move(closed));
}

// --- listening -----------------------------------------------------------------------------------

std::optional<VoiceEngine::FloorClaim> VoiceEngine::floor_holder(
    const std::string& channel_hex) const {
  std::optional<FloorClaim> holder;
  auto consider = [&](const Bytes& rank, const std::string& talker) {
    FloorClaim candidate{rank, talker};
    if (!holder || candidate < *holder) holder = std::move(candidate);
  };
  if (auto it = transmissions_.find(channel_hex); it != transmissions_.end()) {
    consider(it->second->floor_rank, own_fingerprint_);
  }
  for (const auto& [key, r] : receptions_) {
    if (!r->refused && !r->end_frames && to_hex(r->channel.id) == channel_hex) {
      consider(r->floor_rank, r->talker);
    }
  }
  return holder;
}

void VoiceEngine::on_voice_start(const std::string& from, const VoiceChannel& channel,
                                 const wire::VoiceStart& start) {
  const std::string id = hex_of(start.transmission_id());
  const ReceptionKey key{from, id};
  if (receptions_.contains(key) || heard_whole_.contains(key) || from == own_fingerprint_) return;
  if (receptions_.size() >= kMaxReceptions) {
    hooks_.count(Counter::voice_starts_dropped_too_many, 1);
    return;
  }
  auto cipher =
      crypto::FrameCipher::create(SecretBytes::copy_of(as_bytes(start.key())),
                                  as_bytes(start.channel_id()), as_bytes(start.transmission_id()));
  auto decoder = voice::OpusDecoder::create({static_cast<int>(start.frame_ms())});
  if (!cipher.is_ok() || !decoder.is_ok()) {
    hooks_.count(Counter::voice_starts_rejected, 1);
    return;
  }
  voice::JitterOptions jitter = options_.jitter;
  jitter.frame_ms = static_cast<int>(start.frame_ms());
  auto r = std::make_unique<Reception>(from, channel, start, std::move(cipher).value(),
                                       std::move(decoder).value(), jitter, clock_.now_ms());
  r->start.clear_key();
  r->floor_rank = floor_rank(channel.id, as_bytes(start.transmission_id()));
  r->stats.id = id;
  r->stats.channel = channel.name;
  r->stats.talker = from;
  r->stats.talker_name = hooks_.name_of(from);
  r->stats.frame_ms = jitter.frame_ms;
  r->stats.started_at_ms = static_cast<int64_t>(start.started_at_us() / 1000);

  // The floor: of the transmissions that overlap, the smallest rank wins (the talker breaks a
  // tie, which only a copied transmission id makes). Every member ranks the same VoiceStarts the
  // same way and the winner is their minimum, so every member agrees, in any arrival order.
  const std::string channel_hex = to_hex(channel.id);
  if (!channel.free_voice) {
    const FloorClaim mine{r->floor_rank, from};
    if (auto holder = floor_holder(channel_hex); holder && *holder < mine) {
      r->refused = true;
      hooks_.count(Counter::voice_transmissions_refused, 1);
      publish("dropped", r->stats);
    } else {
      if (transmissions_.contains(channel_hex)) {
        finish_transmission(channel_hex,
                            Status::busy("#" + channel.name + ": " + r->stats.talker_name +
                                         " started talking first; try again"));
      }
      for (auto& [other_id, other] : receptions_) {
        if (!other->refused && !other->end_frames && to_hex(other->channel.id) == channel_hex) {
          other->refused = true;
          hooks_.count(Counter::voice_transmissions_refused, 1);
          publish("dropped", other->stats);
        }
      }
    }
  }
  if (!r->refused) publish("started", r->stats);
  receptions_[key] = std::move(r);
  // Frames that overtook their VoiceStart (it waits for a database commit, they do not).
  std::vector<Early> waiting;
  waiting.swap(early_);
  for (auto& e : waiting) {
    if (e.from == from && hex_of(e.frame.transmission_id()) == id) {
      on_frame(e.from, e.frame);
    } else {
      early_.push_back(std::move(e));
    }
  }
}

void VoiceEngine::on_roster(const Bytes& channel_id, const std::vector<std::string>& members,
                            bool still_member) {
  auto listed = [&](const std::string& fingerprint) {
    return still_member && std::find(members.begin(), members.end(), fingerprint) != members.end();
  };
  const std::string channel_hex = to_hex(channel_id);
  if (auto it = transmissions_.find(channel_hex); it != transmissions_.end()) {
    Transmission& t = *it->second;
    if (!still_member) {
      // Nobody is left to hear it, and the Messenger would refuse to archive it.
      finish_transmission(channel_hex, Status::permission_denied("you were removed from #" +
                                                                 t.opened.channel.name));
    } else if (!std::all_of(t.opened.members.begin(), t.opened.members.end(), listed)) {
      // Someone removed holds the transmission key: no frame more under it. What was said is
      // archived at the next tick (closing commits, and we are inside the roster's transaction).
      t.stopping = true;
    }
  }
  std::vector<ReceptionKey> dropped;
  for (const auto& [key, r] : receptions_) {
    if (r->channel.id == channel_id && !listed(r->talker)) dropped.push_back(key);
  }
  for (const auto& key : dropped) {
    std::unique_ptr<Reception> r = std::move(receptions_[key]);
    receptions_.erase(key);
    hooks_.count(Counter::voice_receptions_dropped_removed, 1);
    if (!r->refused) publish("dropped", r->stats);
  }
  const size_t early = std::erase_if(early_, [&](const Early& e) {
    return e.frame.channel_id() == as_chars(channel_id) && !listed(e.from);
  });
  if (early > 0) hooks_.count(Counter::voice_frames_dropped_not_member, early);
}

void VoiceEngine::on_frame(const std::string& from, const wire::VoiceFrame& frame) {
  const int64_t now = clock_.now_ms();
  if (frame.channel_id().size() != net::kChannelIdSize ||
      frame.transmission_id().size() != net::kMessageIdSize ||
      frame.body().size() > voice::kMaxPacketBytes + crypto::kFrameTagSize ||
      frame.seq() >= net::kVoiceMaxFrames) {
    hooks_.count(Counter::voice_frames_dropped_malformed, 1);
    return;
  }
  auto it = receptions_.find({from, hex_of(frame.transmission_id())});
  if (it == receptions_.end()) return hold_early(from, frame, now);
  Reception& r = *it->second;
  if (frame.channel_id() != as_chars(r.channel.id)) {
    hooks_.count(Counter::voice_frames_dropped_wrong_channel, 1);
    ++r.stats.frames_dropped;
    return;
  }
  if (r.refused) {
    hooks_.count(Counter::voice_frames_dropped_floor, 1);
    return;
  }
  const auto seq = static_cast<uint32_t>(frame.seq());
  if (!r.window.fresh(seq) || (seq < r.packets.size() && !r.packets[seq].empty())) {
    hooks_.count(Counter::voice_frames_dropped_replay, 1);
    ++r.stats.frames_dropped;
    return;
  }
  auto packet = r.cipher.open(seq, as_bytes(frame.body()));
  if (!packet.is_ok() || packet.value().empty()) {
    hooks_.count(Counter::voice_frames_dropped_auth, 1);
    ++r.stats.frames_dropped;
    return;
  }
  r.window.accept(seq);
  r.last_activity_ms = now;
  if (r.first_arrival_ms < 0) r.first_arrival_ms = now;
  if (seq >= r.packets.size()) {
    r.packets.resize(seq + 1);
    r.arrival_ms.resize(seq + 1, -1);
  }
  r.packets[seq] = packet.value();
  r.arrival_ms[seq] = now;
  ++r.stats.frames_received;
  hooks_.count(Counter::voice_frames_received, 1);
  const int64_t due = now - static_cast<int64_t>(seq) * r.stats.frame_ms;
  if (!r.scheduled || due < r.schedule_ms) {
    r.schedule_ms = due;
    r.scheduled = true;
  }
  if (r.jitter.push(seq, std::move(packet).value(), now) == voice::PushResult::kLate) {
    hooks_.count(Counter::voice_frames_late, 1);
  }
  drain(r, now);
}

int64_t VoiceEngine::late_allowance_ms(const Reception& r) const {
  return static_cast<int64_t>(std::max(options_.jitter.max_depth, r.jitter.target_depth())) *
         r.stats.frame_ms;
}

void VoiceEngine::hold_early(const std::string& from, const wire::VoiceFrame& frame,
                             int64_t now_ms) {
  expire_early(now_ms);
  // A slot for members only: anyone who passed the transport handshake could otherwise fill them
  // all and make the members' real early frames drop. Shares per talker, so no one member can.
  if (!hooks_.is_member(as_bytes(frame.channel_id()), from)) {
    hooks_.count(Counter::voice_frames_dropped_not_member, 1);
    return;
  }
  const auto held = static_cast<size_t>(
      std::count_if(early_.begin(), early_.end(), [&](const Early& e) { return e.from == from; }));
  if (held >= kMaxEarlyFramesPerTalker) {
    hooks_.count(Counter::voice_frames_dropped_early_talker, 1);
    return;
  }
  if (early_.size() >= kMaxEarlyFrames) {
    hooks_.count(Counter::voice_frames_dropped_early_full, 1);
    return;
  }
  early_.push_back({from, frame, now_ms});
}

void VoiceEngine::expire_early(int64_t now_ms) {
  // No VoiceStart came for them (lost, never sent, or its talker lost the channel): dropped.
  const size_t expired =
      std::erase_if(early_, [&](const Early& e) { return now_ms - e.at_ms > kEarlyFrameTtlMs; });
  if (expired > 0) hooks_.count(Counter::voice_frames_dropped_unknown, expired);
}

void VoiceEngine::drain(Reception& r, int64_t now_ms) {
  while (r.jitter.ready()) {
    auto frame = r.jitter.pop();
    if (!frame) break;
    play(r, *frame, now_ms);
  }
}

void VoiceEngine::play(Reception& r, const voice::JitterFrame& frame, int64_t now_ms) {
  (void)now_ms;
  Result<std::vector<int16_t>> pcm = Status::internal("unset");
  if (frame.kind == voice::JitterFrame::Kind::kFrame) {
    pcm = r.decoder.decode(frame.payload);
    if (pcm.is_ok()) {
      const int64_t now_us = clock_.wall_us();
      const int64_t captured_us = static_cast<int64_t>(r.start.started_at_us()) +
                                  (int64_t{frame.seq} + 1) * r.stats.frame_ms * 1000;
      const double delay_ms = static_cast<double>(now_us - captured_us) / 1000.0;
      r.delays_ms.push_back(delay_ms);
      if (options_.trace) {
        options_.trace({VoiceTrace::Kind::kDecoded, r.stats.id, frame.seq, now_us, delay_ms});
      }
    }
  }
  if (!pcm.is_ok()) {
    pcm = r.decoder.conceal();
    if (!pcm.is_ok()) return;
    ++r.stats.frames_concealed;
    hooks_.count(Counter::voice_frames_concealed, 1);
  }
  if (wav_dir_) {
    if (!r.held.empty()) {
      (void)r.file_mixer.add("talker", r.held);
      const auto mixed = r.file_mixer.mix();
      r.file_pcm.insert(r.file_pcm.end(), mixed.begin(), mixed.end());
    }
    r.held = std::move(pcm).value();
  } else if (device_) {
    r.playout.push_back(std::move(pcm).value());
  }
}

std::optional<HeardClip> VoiceEngine::on_voice_end(const std::string& from,
                                                   const wire::VoiceEnd& end) {
  auto it = receptions_.find({from, hex_of(end.transmission_id())});
  if (it == receptions_.end()) return std::nullopt;
  Reception& r = *it->second;
  if (r.refused) return std::nullopt;
  r.end_frames = end.frames();
  r.stats.frames_sent = end.frames();
  r.jitter.finish();
  r.last_activity_ms = clock_.now_ms();
  r.complete =
      r.packets.size() == end.frames() &&
      std::none_of(r.packets.begin(), r.packets.end(), [](const Bytes& p) { return p.empty(); });
  if (!r.complete) return std::nullopt;
  HeardClip clip{r.start, r.packets, {}};
  for (int64_t at : r.arrival_ms) {
    append_le32(clip.timing, static_cast<uint32_t>(std::max<int64_t>(0, at - r.first_arrival_ms)));
  }
  return clip;
}

void VoiceEngine::on_archived(const std::string& from, const VoiceChannel& channel,
                              const ArchivedClip& clip) {
  const std::string id = to_hex(clip.clip.transmission_id);
  const ReceptionKey key{from, id};
  if (auto it = receptions_.find(key); it != receptions_.end() && it->second->complete) {
    it->second->stats.archived = true;
    return;
  }
  if (auto heard = heard_whole_.find(key); heard != heard_whole_.end() && heard->second) return;
  // Delivered later through the outbox (we were away, or lost frames): archived, not played.
  VoiceStats stats;
  stats.id = id;
  stats.channel = channel.name;
  stats.talker = from;
  stats.talker_name = hooks_.name_of(from);
  stats.frame_ms = static_cast<int>(clip.clip.frame_ms);
  stats.frames_sent = static_cast<uint64_t>(clip.clip.frames);
  stats.duration_ms = clip.clip.frames * clip.clip.frame_ms;
  stats.started_at_ms = clip.clip.started_at_us / 1000;
  stats.archived = true;
  if (wav_dir_) {
    auto packets = voice::decode_packets(clip.clip.packets);
    auto pcm = packets.is_ok() ? render_clip(packets.value(), static_cast<int>(clip.clip.frame_ms))
                               : Result<std::vector<int16_t>>(packets.status());
    const std::string path = wav_path(stats);
    if (pcm.is_ok() && write_wav_atomically(path, pcm.value()).is_ok()) {
      stats.wav = path;
    } else {
      hooks_.count(Counter::voice_wav_write_failures, 1);
    }
  }
  note_heard(key, true);
  remember(stats);
  publish("delivered", stats);
}

void VoiceEngine::note_heard(const ReceptionKey& key, bool whole) {
  if (heard_whole_.emplace(key, whole).second) {
    heard_order_.push_back(key);
  } else {
    heard_whole_[key] = whole;
  }
  // A transmission's duplicates come within seconds (its VoiceEnd, its clip from the outbox):
  // the latest few hundred are enough, and a talker cannot grow the table without bound.
  while (heard_order_.size() > kHeardRemembered) {
    heard_whole_.erase(heard_order_.front());
    heard_order_.pop_front();
  }
}

void VoiceEngine::finish_reception(const ReceptionKey& key) {
  auto it = receptions_.find(key);
  if (it == receptions_.end()) return;
  std::unique_ptr<Reception> r = std::move(it->second);
  receptions_.erase(it);
  if (r->refused) return;
  const uint64_t announced = r->end_frames.value_or(static_cast<uint32_t>(r->packets.size()));
  r->stats.frames_lost =
      announced > r->stats.frames_received ? announced - r->stats.frames_received : 0;
  r->stats.delay_p50_ms = percentile(r->delays_ms, 0.5);
  r->stats.delay_max_ms = percentile(r->delays_ms, 1.0);
  r->stats.duration_ms = static_cast<int64_t>(announced) * r->stats.frame_ms;
  if (wav_dir_ && (!r->held.empty() || !r->file_pcm.empty())) {
    if (!r->held.empty()) {
      (void)r->file_mixer.add("talker", r->held, true);
      const auto mixed = r->file_mixer.mix();
      r->file_pcm.insert(r->file_pcm.end(), mixed.begin(), mixed.end());
    }
    const std::string path = wav_path(r->stats);
    if (write_wav_atomically(path, r->file_pcm).is_ok()) {
      r->stats.wav = path;
    } else {
      hooks_.count(Counter::voice_wav_write_failures, 1);
    }
  }
  note_heard(key, r->complete);
  remember(r->stats);
  publish("ended", r->stats);
}

// --- the clock -----------------------------------------------------------------------------------

void VoiceEngine::tick() {
  const int64_t now = clock_.now_ms();
  std::vector<std::string> finished;
  for (auto& [channel_hex, t] : transmissions_) {
    // Frame k holds the samples captured up to (k + 1) frame periods after the start.
    while (!t->stopping &&
           now >= t->start_ms + (static_cast<int64_t>(t->packets.size()) + 1) * options_.frame_ms) {
      send_frame(*t);
    }
    if (t->stopping) finished.push_back(channel_hex);
  }
  for (const auto& channel_hex : finished) finish_transmission(channel_hex, Status::ok());

  std::vector<ReceptionKey> ended;
  for (auto& [key, r] : receptions_) {
    if (!r->refused && r->scheduled) {
      // A slot whose frame is later than the jitter allowance is played as concealment. Frames
      // are played the moment they are due and here, so waiting longer for a late one costs no
      // delay on the others: the allowance is the buffer's full depth (4 frames, 80 ms), and a
      // stall of the talker's machine shorter than that loses nothing.
      const int64_t allowance = late_allowance_ms(*r);
      while (r->jitter.playing() && !r->jitter.ready() &&
             now >= r->schedule_ms +
                        static_cast<int64_t>(r->jitter.next_seq()) * r->stats.frame_ms +
                        allowance) {
        auto frame = r->jitter.pop();
        if (!frame) break;
        play(*r, *frame, now);
      }
      drain(*r, now);
    }
    const bool played_out = r->end_frames && (r->jitter.done() || !r->jitter.playing());
    if (played_out || (r->refused && r->end_frames) ||
        now - r->last_activity_ms > options_.reception_timeout_ms) {
      ended.push_back(key);
    }
  }
  if (device_ && now >= device_tick_ms_) {
    device_tick_ms_ = now + options_.frame_ms;
    mix_to_device();
  }
  for (const auto& key : ended) finish_reception(key);
  if (!early_.empty()) expire_early(now);
}

void VoiceEngine::mix_to_device() {
  bool any = false;
  for (auto& [key, r] : receptions_) {
    if (r->playout.empty()) continue;
    const bool last = r->end_frames && r->playout.size() == 1 && r->jitter.done();
    (void)device_mixer_->add(key.first + "/" + key.second, r->playout.front(), last);
    r->playout.pop_front();
    any = true;
  }
  if (!any) return;
  const auto mixed = device_mixer_->mix();
  if (!device_->write(mixed).is_ok()) hooks_.count(Counter::voice_output_failures, 1);
}

std::optional<int64_t> VoiceEngine::next_deadline_ms() const {
  std::optional<int64_t> next;
  auto sooner = [&](int64_t at) { next = next ? std::min(*next, at) : at; };
  for (const auto& [channel_hex, t] : transmissions_) {
    sooner(t->start_ms + (static_cast<int64_t>(t->packets.size()) + 1) * options_.frame_ms);
  }
  for (const auto& [id, r] : receptions_) {
    if (r->refused) {
      sooner(r->last_activity_ms + options_.reception_timeout_ms);
    } else if (r->scheduled && r->jitter.playing()) {
      sooner(r->schedule_ms + static_cast<int64_t>(r->jitter.next_seq()) * r->stats.frame_ms +
             late_allowance_ms(*r));
    } else {
      sooner(r->end_frames ? clock_.now_ms() : r->last_activity_ms + options_.reception_timeout_ms);
    }
    if (device_ && !r->playout.empty()) sooner(device_tick_ms_);
  }
  if (!early_.empty()) sooner(early_.front().at_ms + kEarlyFrameTtlMs + 1);
  return next;
}

// --- reporting -----------------------------------------------------------------------------------

void VoiceEngine::remember(const VoiceStats& stats) {
  auto& list = recent_[stats.channel];
  list.push_back(stats);
  if (list.size() > kRecentPerChannel) list.erase(list.begin());
}

void VoiceEngine::publish(const std::string& phase, const VoiceStats& stats) {
  hooks_.publish(Event{clock_.wall_ms(), VoiceEvent{phase, stats}});
}

std::string VoiceEngine::wav_path(const VoiceStats& stats) const {
  const std::time_t started = static_cast<std::time_t>(stats.started_at_ms / 1000);
  std::tm local{};
  localtime_r(&started, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  return options_.audio_out + "/" + stamp + "-" + file_safe(stats.channel) + "-" +
         file_safe(stats.talker_name) + "-" + stats.id.substr(0, 12) + ".wav";
}

PttState VoiceEngine::ptt_state() const {
  PttState state;
  for (const auto& [channel_hex, t] : transmissions_) {
    state.on_air = true;
    state.channel = t->opened.channel.name;
    state.level_dbfs = t->level_dbfs;
    state.elapsed_ms = static_cast<int64_t>(t->packets.size()) * options_.frame_ms;
  }
  for (const auto& [id, r] : receptions_) {
    if (!r->refused && !r->end_frames && !r->channel.free_voice &&
        std::find(state.busy.begin(), state.busy.end(), r->channel.name) == state.busy.end()) {
      state.busy.push_back(r->channel.name);
    }
  }
  return state;
}

void VoiceEngine::describe(ChannelInfo& info) const {
  for (auto& member : info.members) {
    member.on_air = false;
    if (auto it = transmissions_.find(info.id); it != transmissions_.end()) {
      member.on_air = member.fingerprint == own_fingerprint_;
    }
    for (const auto& [id, r] : receptions_) {
      if (!r->refused && !r->end_frames && r->talker == member.fingerprint &&
          to_hex(r->channel.id) == info.id) {
        member.on_air = true;
      }
    }
  }
  if (auto it = recent_.find(info.name); it != recent_.end()) info.voice = it->second;
}

}  // namespace sotto::core
