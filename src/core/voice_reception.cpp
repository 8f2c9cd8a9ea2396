#include "src/core/voice_reception.h"

#include <algorithm>

#include "sotto/voice/clip.h"
#include "src/net/content.h"

namespace sotto::core {
namespace {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace

Result<std::unique_ptr<Reception>> Reception::create(std::string talker, VoiceChannel channel,
                                                     wire::VoiceStart start,
                                                     voice::JitterOptions jitter,
                                                     VoiceOutput::Kind output, int64_t now_ms) {
  SOTTO_ASSIGN_OR_RETURN(
      crypto::FrameCipher cipher,
      crypto::FrameCipher::create(SecretBytes::copy_of(as_bytes(start.key())),
                                  as_bytes(start.channel_id()), as_bytes(start.transmission_id())));
  SOTTO_ASSIGN_OR_RETURN(voice::OpusDecoder decoder,
                         voice::OpusDecoder::create({static_cast<int>(start.frame_ms())}));
  jitter.frame_ms = static_cast<int>(start.frame_ms());
  start.clear_key();
  return std::unique_ptr<Reception>(new Reception(std::move(talker), std::move(channel),
                                                  std::move(start), std::move(cipher),
                                                  std::move(decoder), jitter, output, now_ms));
}

Reception::Reception(std::string talker_, VoiceChannel channel_, wire::VoiceStart start,
                     crypto::FrameCipher cipher, voice::OpusDecoder decoder,
                     const voice::JitterOptions& jitter, VoiceOutput::Kind output, int64_t now_ms)
    : talker(std::move(talker_)),
      channel(std::move(channel_)),
      floor_rank(core::floor_rank(channel.id, as_bytes(start.transmission_id()))),
      start_(std::move(start)),
      cipher_(std::move(cipher)),
      decoder_(std::move(decoder)),
      jitter_options_(jitter),
      jitter_(jitter),
      output_(output),
      last_activity_ms_(now_ms),
      file_mixer_(voice::MixerOptions{voice::frame_samples_for(jitter.frame_ms)}) {
  stats.id = to_hex(as_bytes(start_.transmission_id()));
  stats.channel = channel.name;
  stats.talker = talker;
  stats.frame_ms = jitter.frame_ms;
  stats.started_at_ms = static_cast<int64_t>(start_.started_at_us() / 1000);
}

void Reception::on_frame(const wire::VoiceFrame& frame, int64_t now_ms, const VoiceEnv& env) {
  if (frame.channel_id() != as_chars(channel.id)) {
    env.count(Counter::voice_frames_dropped_wrong_channel, 1);
    ++stats.frames_dropped;
    return;
  }
  if (refused) {
    env.count(Counter::voice_frames_dropped_floor, 1);
    return;
  }
  auto packet = open(frame, env);
  if (!packet) return;
  const auto seq = static_cast<uint32_t>(frame.seq());
  window_.accept(seq);
  last_activity_ms_ = now_ms;
  if (first_arrival_ms_ < 0) first_arrival_ms_ = now_ms;
  if (seq >= packets_.size()) {
    packets_.resize(seq + 1);
    arrival_ms_.resize(seq + 1, -1);
  }
  packets_[seq] = *packet;
  arrival_ms_[seq] = now_ms;
  ++stats.frames_received;
  env.count(Counter::voice_frames_received, 1);
  const int64_t due = now_ms - static_cast<int64_t>(seq) * stats.frame_ms;
  if (!scheduled_ || due < schedule_ms_) {
    schedule_ms_ = due;
    scheduled_ = true;
  }
  if (jitter_.push(seq, std::move(*packet), now_ms) == voice::PushResult::kLate) {
    env.count(Counter::voice_frames_late, 1);
    if (env.trace) trace(VoiceTrace::Kind::kLate, seq, env);
  }
  drain(env);
}

std::optional<Bytes> Reception::open(const wire::VoiceFrame& frame, const VoiceEnv& env) {
  const auto seq = static_cast<uint32_t>(frame.seq());
  if (!window_.fresh(seq) || (seq < packets_.size() && !packets_[seq].empty())) {
    env.count(Counter::voice_frames_dropped_replay, 1);
    ++stats.frames_dropped;
    return std::nullopt;
  }
  auto packet = cipher_.open(seq, as_bytes(frame.body()));
  if (!packet.is_ok() || packet.value().empty()) {
    env.count(Counter::voice_frames_dropped_auth, 1);
    ++stats.frames_dropped;
    return std::nullopt;
  }
  return std::move(packet).value();
}

int64_t Reception::late_allowance_ms() const {
  return static_cast<int64_t>(std::max(jitter_options_.max_depth, jitter_.target_depth())) *
         stats.frame_ms;
}

void Reception::play_due(int64_t now_ms, const VoiceEnv& env) {
  if (refused || !scheduled_) return;
  // A slot whose frame is later than the jitter allowance is played as concealment. Frames are
  // played the moment they are due and here, so waiting longer for a late one costs no delay on
  // the others: the allowance is the buffer's full depth (4 frames, 80 ms), and a stall of the
  // talker's machine shorter than that loses nothing.
  const int64_t allowance = late_allowance_ms();
  while (jitter_.playing() && !jitter_.ready() &&
         now_ms >=
             schedule_ms_ + static_cast<int64_t>(jitter_.next_seq()) * stats.frame_ms + allowance) {
    auto frame = jitter_.pop();
    if (!frame) break;
    play(*frame, env);
  }
  drain(env);
}

void Reception::drain(const VoiceEnv& env) {
  while (jitter_.ready()) {
    auto frame = jitter_.pop();
    if (!frame) break;
    play(*frame, env);
  }
}

Result<std::vector<int16_t>> Reception::decode(const voice::JitterFrame& frame,
                                               const VoiceEnv& env) {
  if (frame.kind == voice::JitterFrame::Kind::kFrame) {
    auto pcm = decoder_.decode(frame.payload);
    if (pcm.is_ok()) {
      const int64_t now_us = env.clock->wall_us();
      const int64_t captured_us = static_cast<int64_t>(start_.started_at_us()) +
                                  (int64_t{frame.seq} + 1) * stats.frame_ms * 1000;
      const double delay_ms = static_cast<double>(now_us - captured_us) / 1000.0;
      delays_ms_.push_back(delay_ms);
      if (env.trace) trace_decoded(frame.seq, now_us, delay_ms, env);
      return pcm;
    }
  }
  if (env.trace) trace(VoiceTrace::Kind::kConcealed, frame.seq, env);
  auto pcm = decoder_.conceal();
  if (pcm.is_ok()) {
    ++stats.frames_concealed;
    env.count(Counter::voice_frames_concealed, 1);
  }
  return pcm;
}

VoiceTrace Reception::trace_of(VoiceTrace::Kind kind, uint32_t seq, const VoiceEnv& env) const {
  VoiceTrace t;
  t.kind = kind;
  t.transmission = stats.id;
  t.seq = seq;
  t.wall_us = env.clock->wall_us();
  t.target_depth = jitter_.target_depth();
  t.jitter_ms = jitter_.jitter_ms();
  return t;
}

void Reception::trace(VoiceTrace::Kind kind, uint32_t seq, const VoiceEnv& env) const {
  env.trace(trace_of(kind, seq, env));
}

void Reception::trace_decoded(uint32_t seq, int64_t now_us, double delay_ms,
                              const VoiceEnv& env) const {
  VoiceTrace t = trace_of(VoiceTrace::Kind::kDecoded, seq, env);
  t.wall_us = now_us;
  t.delay_ms = delay_ms;
  // Arrivals are kept in monotonic ms: their wall time, to the millisecond.
  t.arrived_us = now_us - (env.clock->now_ms() - arrival_ms_[seq]) * 1000;
  env.trace(t);
}

void Reception::play(const voice::JitterFrame& frame, const VoiceEnv& env) {
  auto pcm = decode(frame, env);
  if (!pcm.is_ok()) return;
  if (output_ == VoiceOutput::Kind::kFiles) {
    if (!held_.empty()) {
      (void)file_mixer_.add("talker", held_);
      const auto mixed = file_mixer_.mix();
      file_pcm_.insert(file_pcm_.end(), mixed.begin(), mixed.end());
    }
    held_ = std::move(pcm).value();
  } else if (output_ == VoiceOutput::Kind::kDevice) {
    playout_.push_back(std::move(pcm).value());
  }
}

std::optional<HeardClip> Reception::end(uint32_t frames, int64_t now_ms) {
  end_frames = frames;
  stats.frames_sent = frames;
  jitter_.finish();
  last_activity_ms_ = now_ms;
  complete = packets_.size() == frames && std::none_of(packets_.begin(), packets_.end(),
                                                       [](const Bytes& p) { return p.empty(); });
  if (!complete) return std::nullopt;
  HeardClip clip{start_, packets_, {}};
  for (int64_t at : arrival_ms_) {
    append_le32(clip.timing, static_cast<uint32_t>(std::max<int64_t>(0, at - first_arrival_ms_)));
  }
  return clip;
}

bool Reception::over(int64_t now_ms, int64_t timeout_ms) const {
  const bool played_out = end_frames && (jitter_.done() || !jitter_.playing());
  return played_out || (refused && end_frames) || now_ms - last_activity_ms_ > timeout_ms;
}

std::optional<int64_t> Reception::next_deadline_ms(int64_t now_ms, int64_t timeout_ms) const {
  if (refused) return last_activity_ms_ + timeout_ms;
  if (scheduled_ && jitter_.playing()) {
    return schedule_ms_ + static_cast<int64_t>(jitter_.next_seq()) * stats.frame_ms +
           late_allowance_ms();
  }
  return end_frames ? now_ms : last_activity_ms_ + timeout_ms;
}

std::optional<std::pair<std::vector<int16_t>, bool>> Reception::take_playout() {
  if (playout_.empty()) return std::nullopt;
  const bool last = end_frames && playout_.size() == 1 && jitter_.done();
  std::pair<std::vector<int16_t>, bool> out{std::move(playout_.front()), last};
  playout_.pop_front();
  return out;
}

std::vector<int16_t> Reception::finish() {
  const uint64_t announced = end_frames.value_or(static_cast<uint32_t>(packets_.size()));
  stats.frames_lost = announced > stats.frames_received ? announced - stats.frames_received : 0;
  stats.delay_p50_ms = percentile(delays_ms_, 0.5);
  stats.delay_max_ms = percentile(delays_ms_, 1.0);
  stats.duration_ms = static_cast<int64_t>(announced) * stats.frame_ms;
  if (!held_.empty()) {
    (void)file_mixer_.add("talker", held_, true);
    const auto mixed = file_mixer_.mix();
    file_pcm_.insert(file_pcm_.end(), mixed.begin(), mixed.end());
    held_.clear();
  }
  return std::move(file_pcm_);
}

VoiceStats delivered_stats(const std::string& talker, const std::string& talker_name,
                           const VoiceChannel& channel, const storage::VoiceClipRecord& clip) {
  VoiceStats stats;
  stats.id = to_hex(clip.transmission_id);
  stats.channel = channel.name;
  stats.talker = talker;
  stats.talker_name = talker_name;
  stats.frame_ms = static_cast<int>(clip.frame_ms);
  stats.frames_sent = static_cast<uint64_t>(clip.frames);
  stats.duration_ms = clip.frames * clip.frame_ms;
  stats.started_at_ms = clip.started_at_us / 1000;
  stats.archived = true;
  return stats;
}

void HeardLog::note(const Key& key, bool whole) {
  if (whole_.emplace(key, whole).second) {
    order_.push_back(key);
  } else {
    whole_[key] = whole;
  }
  while (order_.size() > kRemembered) {
    whole_.erase(order_.front());
    order_.pop_front();
  }
}

bool HeardLog::heard_whole(const Key& key) const {
  auto it = whole_.find(key);
  return it != whole_.end() && it->second;
}

}  // namespace sotto::core
