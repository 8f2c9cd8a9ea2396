#include "src/core/voice_transmission.h"

#include <time.h>

#include <algorithm>
#include <cmath>

#include "src/core/voice_floor.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

// A frame's mean square, of full scale's. Summed in integers: a frame of 16-bit samples (at
// most 2,880) cannot overflow 64 bits.
double power_of(const std::vector<int16_t>& pcm) {
  int64_t sum = 0;
  for (int16_t x : pcm) sum += int32_t{x} * x;
  return static_cast<double>(sum) / (static_cast<double>(pcm.size()) * 32768.0 * 32768.0);
}

// Instrumentation only (NodeOptions::voice_trace_costs): a system call, not the vDSO.
int64_t this_thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Result<std::unique_ptr<Transmission>> Transmission::create(TransmissionStart opened,
                                                           const voice::CodecOptions& codec,
                                                           std::unique_ptr<CaptureFeed> feed,
                                                           int64_t start_ms, uint32_t max_frames) {
  SOTTO_ASSIGN_OR_RETURN(voice::OpusEncoder encoder, voice::OpusEncoder::create(codec));
  SOTTO_ASSIGN_OR_RETURN(
      crypto::FrameCipher cipher,
      crypto::FrameCipher::create(opened.key, opened.channel.id, opened.transmission_id));
  auto t = std::unique_ptr<Transmission>(new Transmission(std::move(opened), std::move(cipher),
                                                          std::move(encoder), std::move(feed),
                                                          start_ms, max_frames));
  t->frame_ms_ = codec.frame_ms;
  t->frame_envelope_.set_version(net::kProtocolVersion);
  wire::VoiceFrame* frame = t->frame_envelope_.mutable_voice();
  frame->set_channel_id(as_chars(t->opened_.channel.id).data(), t->opened_.channel.id.size());
  frame->set_transmission_id(as_chars(t->opened_.transmission_id).data(),
                             t->opened_.transmission_id.size());
  t->pcm_.resize(static_cast<size_t>(voice::frame_samples_for(codec.frame_ms)));
  t->stats.id = to_hex(t->opened_.transmission_id);
  t->stats.channel = t->opened_.channel.name;
  t->stats.outgoing = true;
  t->stats.frame_ms = codec.frame_ms;
  t->stats.started_at_ms = t->opened_.started_at_us / 1000;
  return t;
}

Transmission::Transmission(TransmissionStart opened, crypto::FrameCipher cipher,
                           voice::OpusEncoder encoder, std::unique_ptr<CaptureFeed> feed,
                           int64_t start_ms, uint32_t max_frames)
    : opened_(std::move(opened)),
      floor_rank_(core::floor_rank(opened_.channel.id, opened_.transmission_id)),
      cipher_(std::move(cipher)),
      encoder_(std::move(encoder)),
      feed_(std::move(feed)),
      start_ms_(start_ms),
      max_frames_(max_frames) {}

double Transmission::level_dbfs() const {
  return level_power_ > 0 ? std::max(-96.0, 10.0 * std::log10(level_power_)) : -96.0;
}

// Frame k holds the samples captured up to (k + 1) frame periods after the start.
int64_t Transmission::due_ms(size_t frame) const {
  return start_ms_ + (static_cast<int64_t>(frame) + 1) * frame_ms_;
}

std::optional<int64_t> Transmission::next_due_ms() const {
  if (!stopping && !feed_->ready()) return std::nullopt;
  return due_ms(packets_.size());
}

void Transmission::send_due(int64_t now_ms, VoiceMessaging& messaging, const VoiceEnv& env) {
  while (!stopping && now_ms >= due_ms(packets_.size())) {
    const CaptureFeed::Next next = feed_->next(pcm_);
    if (next == CaptureFeed::Next::kNotYet) return;
    if (next == CaptureFeed::Next::kEnd) {
      stopping = true;
      return;
    }
    send(messaging, env);
  }
}

void Transmission::send(VoiceMessaging& messaging, const VoiceEnv& env) {
  const auto seq = static_cast<uint32_t>(packets_.size());
  level_power_ = power_of(pcm_);
  const int64_t began_us = env.trace ? env.clock->wall_us() : 0;
  const bool cost = env.trace && env.trace_costs;
  const int64_t began_cpu_ns = cost ? this_thread_cpu_ns() : 0;
  auto packet = encoder_.encode(pcm_);
  if (env.trace) {
    VoiceTrace trace;
    trace.kind = VoiceTrace::Kind::kEncodeStart;
    trace.transmission = stats.id;
    trace.seq = seq;
    trace.wall_us = began_us;
    if (cost) trace.encode_cpu_ns = this_thread_cpu_ns() - began_cpu_ns;
    env.trace(trace);
  }
  if (!packet.is_ok()) {
    env.count(Counter::voice_encode_failures, 1);
    stopping = true;
    return;
  }
  if (auto frame = wire_frame(seq, packet.value()); frame.is_ok()) {
    for (const std::string& to : opened_.recipients) {
      // No waiting and no queue of our own: a peer that cannot keep up loses frames.
      if (!messaging.send_live(to, frame.value())) env.count(Counter::voice_frames_send_dropped, 1);
    }
  }
  append_le32(timing_, static_cast<uint32_t>(env.clock->now_ms() - start_ms_));
  packets_.push_back(std::move(packet).value());
  ++stats.frames_sent;
  env.count(Counter::voice_frames_sent, 1);
  if (packets_.size() >= max_frames_) stopping = true;  // the time-out timer
}

Result<Bytes> Transmission::wire_frame(uint32_t seq, const Bytes& packet) {
  wire::VoiceFrame* frame = frame_envelope_.mutable_voice();
  frame->set_seq(seq);
  std::string* body = frame->mutable_body();
  body->resize(packet.size() + crypto::kFrameTagSize);
  cipher_.seal_into(seq, packet,
                    std::span<uint8_t>(reinterpret_cast<uint8_t*>(body->data()), body->size()));
  return net::frame_of(frame_envelope_);
}

TransmissionEnd Transmission::end(const voice::CodecOptions& codec) {
  return TransmissionEnd{opened_.channel,
                         opened_.transmission_id,
                         static_cast<uint32_t>(codec.frame_ms),
                         static_cast<uint32_t>(codec.bitrate_bps),
                         opened_.started_at_us,
                         std::move(packets_),
                         std::move(timing_),
                         opened_.recipients,
                         opened_.members};
}

}  // namespace sotto::core
