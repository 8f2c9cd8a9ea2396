#include "src/core/voice_engine.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "sotto/voice/clip.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

// A clip travels as one frame: its packets must fit the largest content bucket, with room for
// the VoiceClip fields around them.
constexpr size_t kClipBudgetBytes = net::kContentBuckets.back() - 1024;
constexpr size_t kRecentPerChannel = 8;

std::string hex_of(const std::string& bytes) {
  return to_hex(as_bytes(bytes));
}

}  // namespace

VoiceEngine::VoiceEngine(const std::string& own_fingerprint, const Clock& clock,
                         VoiceOptions options, VoiceEngineHooks hooks)
    : own_fingerprint_(own_fingerprint),
      clock_(clock),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      messaging_(*hooks_.messaging),
      env_{&clock_, hooks_.count, options_.trace, options_.trace_costs},
      output_(options_.audio_out, options_.frame_ms) {}

VoiceEngine::~VoiceEngine() {
  for (auto& [channel, t] : transmissions_) {
    if (t->done) t->done(Status::unavailable("the node stopped during the transmission"));
  }
}

Status VoiceEngine::start() {
  SOTTO_RETURN_IF_ERROR(voice::validate(codec()));
  options_.jitter.frame_ms = options_.frame_ms;
  return output_.open();
}

// --- talking -------------------------------------------------------------------------------------

void VoiceEngine::talk(const std::string& channel_name, std::unique_ptr<voice::AudioSource> source,
                       TalkDone done, Capture capture) {
  auto channel = messaging_.voice_channel(channel_name);
  if (!channel.is_ok()) return done(channel.status());
  if (auto refused = refuse_talk(channel.value())) return done(*refused);
  // Frames are paced from the start announced in VoiceStart, not from after opening: opening
  // commits to the database (an fsync), and every frame would be encoded that much later than
  // its last sample was captured.
  const int64_t start_ms = clock_.now_ms();
  auto opened =
      messaging_.open_transmission(channel_name, static_cast<uint32_t>(options_.frame_ms),
                                   static_cast<uint32_t>(options_.bitrate_bps), clock_.wall_us());
  if (!opened.is_ok()) return done(opened.status());
  const size_t packet_bytes = static_cast<size_t>(voice::cbr_packet_bytes(codec()));
  const auto by_time = static_cast<uint32_t>(options_.max_transmission_ms / options_.frame_ms);
  const auto by_size = static_cast<uint32_t>(kClipBudgetBytes / (packet_bytes + 2));
  auto created =
      Transmission::create(std::move(opened).value(), codec(), feed_of(std::move(source), capture),
                           start_ms, std::min(by_time, by_size));
  if (!created.is_ok()) return done(created.status());
  Transmission& t = *created.value();
  t.done = std::move(done);
  t.stats.talker = own_fingerprint_;
  t.stats.talker_name = messaging_.name_of(own_fingerprint_);
  publish(VoicePhase::kStarted, t.stats);
  transmissions_[to_hex(t.opened().channel.id)] = std::move(created).value();
}

std::optional<Status> VoiceEngine::refuse_talk(const VoiceChannel& channel) {
  if (transmissions_.contains(to_hex(channel.id))) {
    return Status::busy("you are already talking on #" + channel.name);
  }
  if (channel.free_voice) return std::nullopt;
  auto holder = floor_holder(to_hex(channel.id));
  if (!holder) return std::nullopt;
  VoiceStats refused;
  refused.channel = channel.name;
  refused.talker = own_fingerprint_;
  refused.outgoing = true;
  publish(VoicePhase::kRefused, refused);
  return Status::busy("#" + channel.name + " is busy: " + messaging_.name_of(holder->second) +
                      " is talking");
}

std::unique_ptr<CaptureFeed> VoiceEngine::feed_of(std::unique_ptr<voice::AudioSource> source,
                                                  Capture capture) const {
  if (capture == Capture::kPaced) return CaptureFeed::paced(std::move(source));
  return CaptureFeed::threaded(std::move(source), voice::frame_samples_for(options_.frame_ms),
                               hooks_.wake);
}

bool VoiceEngine::stop_talking(const std::string& channel_name) {
  auto channel = messaging_.voice_channel(channel_name);
  if (!channel.is_ok()) return false;
  auto it = transmissions_.find(to_hex(channel.value().id));
  if (it == transmissions_.end()) return false;
  it->second->stopping = true;
  return true;
}

void VoiceEngine::finish_transmission(const std::string& channel_hex, Status why) {
  auto it = transmissions_.find(channel_hex);
  if (it == transmissions_.end()) return;
  std::unique_ptr<Transmission> t = std::move(it->second);
  transmissions_.erase(it);
  captured_ += t->device_stats();
  t->stats.duration_ms = static_cast<int64_t>(t->frames()) * options_.frame_ms;
  if (!why.is_ok()) {
    publish(VoicePhase::kInterrupted, t->stats);
    return t->done(why);
  }
  if (t->frames() == 0) {
    publish(VoicePhase::kEnded, t->stats);
    return t->done(Status::invalid_argument("nothing to transmit: the recording is empty"));
  }
  auto closed = messaging_.close_transmission(t->end(codec()));
  t->stats.archived = closed.is_ok();
  remember(t->stats);
  publish(VoicePhase::kEnded, t->stats);
  t->done(std::move(closed));
}

// --- listening -----------------------------------------------------------------------------------

void VoiceEngine::on_signal(const VoiceSignal& signal) {
  if (const auto* start = std::get_if<wire::VoiceStart>(&signal.content)) {
    return on_voice_start(signal.from, signal.channel, *start);
  }
  if (std::holds_alternative<ArchivedClip>(signal.content)) {
    delivered_.push_back(signal);
    return;
  }
  const auto& end = std::get<wire::VoiceEnd>(signal.content);
  auto heard = on_voice_end(signal.from, end);
  if (!heard || heard->packets.size() != end.frames() ||
      heard->start.transmission_id() != end.transmission_id()) {
    // Not heard whole: the clip comes from the outbox, since it is not acknowledged.
    hooks_.count(Counter::voice_clips_awaited, 1);
    return;
  }
  const Bytes signature(end.signature().begin(), end.signature().end());
  to_archive_.push_back({signal.from, signal.channel, std::move(*heard), signature});
}

std::optional<FloorClaim> VoiceEngine::floor_holder(const std::string& channel_hex) const {
  FloorHolder floor;
  if (auto it = transmissions_.find(channel_hex); it != transmissions_.end()) {
    floor.consider(it->second->floor_rank(), own_fingerprint_);
  }
  for (const Reception* r : receptions_.live_on(channel_hex)) {
    floor.consider(r->floor_rank, r->talker);
  }
  return floor.holder();
}

void VoiceEngine::on_voice_start(const std::string& from, const VoiceChannel& channel,
                                 const wire::VoiceStart& start) {
  const ReceptionKey key{from, hex_of(start.transmission_id())};
  if (receptions_.contains(key) || heard_.contains(key) || from == own_fingerprint_) return;
  if (receptions_.full()) {
    hooks_.count(Counter::voice_starts_dropped_too_many, 1);
    return;
  }
  auto created =
      Reception::create(from, channel, start, options_.jitter, output_.kind(), clock_.now_ms());
  if (!created.is_ok()) {
    hooks_.count(Counter::voice_starts_rejected, 1);
    return;
  }
  Reception& r = *created.value();
  r.stats.talker_name = messaging_.name_of(from);
  if (!channel.free_voice) settle_floor(r);
  if (!r.refused) publish(VoicePhase::kStarted, r.stats);
  receptions_.add(key, std::move(created).value());
}

void VoiceEngine::settle_floor(Reception& r) {
  // Of the transmissions that overlap, the smallest rank wins (voice_floor.h).
  const std::string channel_hex = to_hex(r.channel.id);
  if (auto holder = floor_holder(channel_hex);
      holder && *holder < FloorClaim{r.floor_rank, r.talker}) {
    r.refused = true;
    hooks_.count(Counter::voice_transmissions_refused, 1);
    publish(VoicePhase::kDropped, r.stats);
    return;
  }
  if (transmissions_.contains(channel_hex)) {
    finish_transmission(channel_hex,
                        Status::busy("#" + r.channel.name + ": " + r.stats.talker_name +
                                     " started talking first; try again"));
  }
  for (Reception* other : receptions_.live_on(channel_hex)) {
    other->refused = true;
    hooks_.count(Counter::voice_transmissions_refused, 1);
    publish(VoicePhase::kDropped, other->stats);
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
                                                                 t.opened().channel.name));
    } else if (!std::all_of(t.opened().members.begin(), t.opened().members.end(), listed)) {
      // Someone removed holds the transmission key: no frame more under it. What was said is
      // archived at the next tick (closing commits, and we are inside the roster's transaction).
      t.stopping = true;
    }
  }
  drop_removed(channel_id, listed);
}

void VoiceEngine::drop_removed(const Bytes& channel_id,
                               const std::function<bool(const std::string&)>& listed) {
  for (const auto& r : receptions_.take_unlisted(channel_id, listed)) {
    hooks_.count(Counter::voice_receptions_dropped_removed, 1);
    if (!r->refused) publish(VoicePhase::kDropped, r->stats);
  }
  receptions_.drop_early_unlisted(channel_id, listed);
}

void VoiceEngine::on_frame(const std::string& from, const wire::VoiceFrame& frame) {
  receptions_.on_frame(from, frame);
}

std::optional<HeardClip> VoiceEngine::on_voice_end(const std::string& from,
                                                   const wire::VoiceEnd& end) {
  Reception* r = receptions_.find({from, hex_of(end.transmission_id())});
  if (r == nullptr || r->refused) return std::nullopt;
  return r->end(end.frames(), clock_.now_ms());
}

void VoiceEngine::on_archived(const std::string& from, const VoiceChannel& channel,
                              const ArchivedClip& clip) {
  const ReceptionKey key{from, to_hex(clip.clip.transmission_id)};
  if (Reception* r = receptions_.find(key); r != nullptr && r->complete) {
    r->stats.archived = true;
    return;
  }
  if (heard_.heard_whole(key)) return;
  // Delivered later through the outbox (we were away, or lost frames): archived, not played.
  VoiceStats stats = delivered_stats(from, messaging_.name_of(from), channel, clip.clip);
  if (output_.kind() == VoiceOutput::Kind::kFiles)
    note_wav(output_.write_clip(stats, clip.clip), stats);
  heard_.note(key, true);
  remember(stats);
  publish(VoicePhase::kDelivered, stats);
}

void VoiceEngine::note_wav(Result<std::string> path, VoiceStats& stats) {
  if (!path.is_ok()) return hooks_.count(Counter::voice_wav_write_failures, 1);
  stats.wav = path.value();
}

void VoiceEngine::finish_reception(const ReceptionKey& key) {
  std::unique_ptr<Reception> r = receptions_.take(key);
  if (!r || r->refused) return;
  const std::vector<int16_t> samples = r->finish();
  if (output_.kind() == VoiceOutput::Kind::kFiles && !samples.empty()) {
    note_wav(output_.write_file(r->stats, samples), r->stats);
  }
  heard_.note(key, r->complete);
  remember(r->stats);
  publish(VoicePhase::kEnded, r->stats);
}

// --- the clock -----------------------------------------------------------------------------------

void VoiceEngine::tick() {
  const int64_t now = clock_.now_ms();
  archive_heard();
  for (const VoiceSignal& d : std::exchange(delivered_, {})) {
    on_archived(d.from, d.channel, std::get<ArchivedClip>(d.content));
  }
  std::vector<std::string> finished;
  for (auto& [channel_hex, t] : transmissions_) {
    t->send_due(now, messaging_, env_);
    if (t->stopping) finished.push_back(channel_hex);
  }
  for (const auto& channel_hex : finished) finish_transmission(channel_hex, Status::ok());

  const auto ended = receptions_.play_due(now, options_.reception_timeout_ms);
  if (output_.kind() == VoiceOutput::Kind::kDevice && now >= output_.device_due_ms()) {
    mix_to_device(now);
  }
  for (const auto& key : ended) finish_reception(key);
}

void VoiceEngine::archive_heard() {
  std::vector<HeardWhole> heard;
  heard.swap(to_archive_);
  for (const HeardWhole& h : heard) {
    auto archived = messaging_.archive_heard_clip(h.from, h.channel.id, h.clip, h.signature);
    if (archived.is_ok() && archived.value()) on_archived(h.from, h.channel, *archived.value());
  }
}

void VoiceEngine::mix_to_device(int64_t now_ms) {
  receptions_.mix_into(output_);
  if (!output_.play_mix(now_ms).is_ok()) hooks_.count(Counter::voice_output_failures, 1);
}

std::optional<int64_t> VoiceEngine::next_deadline_ms() const {
  const int64_t now = clock_.now_ms();
  std::optional<int64_t> next;
  auto sooner = [&](std::optional<int64_t> at) {
    if (at) next = next ? std::min(*next, *at) : *at;
  };
  if (!to_archive_.empty() || !delivered_.empty()) sooner(now);
  for (const auto& [channel_hex, t] : transmissions_) sooner(t->next_due_ms());
  const bool device = output_.kind() == VoiceOutput::Kind::kDevice;
  sooner(
      receptions_.next_deadline_ms(now, options_.reception_timeout_ms,
                                   device ? std::optional(output_.device_due_ms()) : std::nullopt));
  return next;
}

std::optional<int64_t> VoiceEngine::quiet_from_ms() const {
  std::optional<int64_t> next_frame;
  for (const auto& [channel_hex, t] : transmissions_) {
    next_frame = std::min(next_frame.value_or(t->next_frame_ms()), t->next_frame_ms());
  }
  if (!next_frame) return std::nullopt;
  // Where we are on the frame grid (0: a frame's due time); late frames and a capture device
  // that lags behind the grid included.
  const int64_t period = std::max(options_.frame_ms, 4);
  const int64_t now = clock_.now_ms();
  const int64_t into = ((now - *next_frame) % period + period) % period;
  const int64_t opens = period / 4, closes = period * 3 / 4;
  if (into >= opens && into < closes) return std::nullopt;
  return now + (into < opens ? opens - into : period + opens - into);
}

// --- reporting -----------------------------------------------------------------------------------

voice::AudioDeviceStats VoiceEngine::audio_stats() const {
  voice::AudioDeviceStats total = captured_;
  total += output_.device_stats();
  for (const auto& [channel_hex, t] : transmissions_) total += t->device_stats();
  return total;
}

void VoiceEngine::remember(const VoiceStats& stats) {
  auto& list = recent_[stats.channel];
  list.push_back(stats);
  if (list.size() > kRecentPerChannel) list.erase(list.begin());
}

void VoiceEngine::publish(VoicePhase phase, const VoiceStats& stats) {
  hooks_.publish(Event{clock_.wall_ms(), VoiceEvent{phase, stats}});
}

PttState VoiceEngine::ptt_state() const {
  PttState state;
  for (const auto& [channel_hex, t] : transmissions_) {
    state.on_air = true;
    state.channel = t->opened().channel.name;
    state.level_dbfs = t->level_dbfs();
    state.elapsed_ms = static_cast<int64_t>(t->frames()) * options_.frame_ms;
  }
  state.busy = receptions_.busy_channels();
  return state;
}

void VoiceEngine::describe(ChannelInfo& info) const {
  const bool talking = transmissions_.contains(info.id);
  const std::vector<Reception*> live = receptions_.live_on(info.id);
  for (auto& member : info.members) {
    member.on_air = (talking && member.fingerprint == own_fingerprint_) ||
                    std::any_of(live.begin(), live.end(), [&](const Reception* r) {
                      return r->talker == member.fingerprint;
                    });
  }
  if (auto it = recent_.find(info.name); it != recent_.end()) info.voice = it->second;
}

}  // namespace sotto::core
