// VoiceEngine: live push-to-talk on the node's loop (DESIGN §8) — our own transmissions paced
// frame by frame, the members' transmissions received, buffered, decoded and played out, and
// the floor of each channel.
//
//   talk:    open_transmission (Messenger: VoiceStart under our sender key) → every frame period
//            one frame from the source: Opus encode, seal with the transmission key
//            (crypto::FrameCipher), one VoiceFrame to every member that got VoiceStart, sent
//            without waiting (a slow peer's queue drops, it never grows without bound) →
//            close_transmission (Messenger: signed clip archived, VoiceEnd, outbox).
//   listen:  VoiceStart → a Reception: replay window, jitter buffer (adaptive 1–4 frames), Opus
//            decoder. Each frame is played as soon as it is the next one due; a frame that has
//            not come by its deadline is concealed. Played frames go to the output (a device
//            through the mixer, or one WAV file per transmission) and their packets into the
//            clip that VoiceEnd lets the Messenger archive.
//   floor:   a channel carries one talker at a time unless it is `free`. A PTT while someone
//            talks is refused; starts that cross on the network are settled the same way on
//            every member, in any arrival order: of the overlapping transmissions (our own
//            included) the one with the smaller SHA-256(channel id ‖ transmission id) wins.
//            started_at_us is the talker's wall clock, shown and used to measure delay, never
//            to order (DESIGN §6). Receptions are keyed by (talker, transmission id): a member
//            reusing another's id gets a reception of its own, not the other's frames.
//   roster:  only members take part. A roster change ends our transmission when it removed
//            someone who could hear it (they hold its key), and drops whoever it removed at
//            once; frames that overtake their VoiceStart are held for members only, a share each.
//
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "sotto/voice/audio_device.h"
#include "sotto/voice/jitter_buffer.h"
#include "sotto/voice/mixer.h"
#include "src/core/counters.h"
#include "src/core/voice_types.h"

namespace sotto::core {

struct VoiceOptions {
  int frame_ms = 20;
  int bitrate_bps = 24'000;
  // Where received audio goes: empty = nowhere (still archived); an existing directory = one WAV
  // file per transmission; anything else names an output device (see sotto audio devices).
  std::string audio_out;
  std::string audio_in;  // the device (or FILE.wav) a PTT without a file captures from
  voice::JitterOptions jitter;
  int64_t max_transmission_ms = 60'000;  // like a radio's time-out timer; a clip must fit a frame
  int64_t reception_timeout_ms = 3'000;  // a talker silent this long without VoiceEnd is gone
  std::function<void(const VoiceTrace&)> trace;
};

struct VoiceEngineHooks {
  std::function<Result<VoiceChannel>(const std::string& channel)> lookup;
  std::function<Result<TransmissionStart>(const std::string& channel, uint32_t frame_ms,
                                          uint32_t bitrate, int64_t started_at_us)>
      open;
  std::function<Result<MessageInfo>(const TransmissionEnd& end)> close;
  std::function<bool(const std::string& fingerprint, ByteView frame)> send_frame;
  // True when `fingerprint` is on the roster of `channel_id` and we are a member of it too.
  std::function<bool(ByteView channel_id, const std::string& fingerprint)> is_member;
  std::function<std::string(const std::string& fingerprint)> name_of;
  std::function<void(Event)> publish;
  std::function<void(Counter counter, uint64_t n)> count;
};

class VoiceEngine {
 public:
  using TalkDone = std::function<void(Result<MessageInfo>)>;

  VoiceEngine(const std::string& own_fingerprint, const Clock& clock, VoiceOptions options,
              VoiceEngineHooks hooks);
  ~VoiceEngine();
  // Opens the output named by options.audio_out. InvalidArgument/Unavailable with a message
  // that says what to use instead.
  Status start();

  // Transmits `source` to `channel` until it ends (or stop_talking, or the time-out); `done`
  // gets the archived clip's message. Busy when someone else holds the channel's floor.
  void talk(const std::string& channel, std::unique_ptr<voice::AudioSource> source, TalkDone done);
  // Ends our transmission on `channel` (a PTT released); false when there is none.
  bool stop_talking(const std::string& channel);

  // From the Messenger (decrypted, from a member of `channel`).
  void on_voice_start(const std::string& from, const VoiceChannel& channel,
                      const wire::VoiceStart& start);
  std::optional<HeardClip> on_voice_end(const std::string& from, const wire::VoiceEnd& end);
  void on_archived(const std::string& from, const VoiceChannel& channel, const ArchivedClip& clip);
  // From the Messenger, inside the transaction applying a roster of the channel: `members` is
  // its roster now, `still_member` whether we are on it. Our transmission stops going to anyone
  // removed, and nobody removed is heard any more.
  void on_roster(const Bytes& channel_id, const std::vector<std::string>& members,
                 bool still_member);
  // From the network: one VoiceFrame.
  void on_frame(const std::string& from, const wire::VoiceFrame& frame);

  // Paces transmissions, conceals late frames, plays out, ends receptions.
  void tick();
  // When tick() next has work (monotonic ms), or nullopt when idle.
  std::optional<int64_t> next_deadline_ms() const;
  // A transmission is live here, ours or one we hear: the loop must not stall on housekeeping
  // (a checkpoint or a search-index batch takes tens of milliseconds, longer than the jitter
  // buffer holds).
  bool on_air() const { return !transmissions_.empty() || !receptions_.empty(); }
  PttState ptt_state() const;
  // Who is on air, and the latest transmissions, for a channel's description.
  void describe(ChannelInfo& info) const;

  struct Transmission;
  struct Reception;

 private:
  void send_frame(Transmission& t);
  void finish_transmission(const std::string& channel_hex, Status why);
  // A frame whose VoiceStart has not come (yet): held for a while if a member sent it.
  void hold_early(const std::string& from, const wire::VoiceFrame& frame, int64_t now_ms);
  void expire_early(int64_t now_ms);
  int64_t late_allowance_ms(const Reception& r) const;
  void drain(Reception& r, int64_t now_ms);
  void play(Reception& r, const voice::JitterFrame& frame, int64_t now_ms);
  using ReceptionKey = std::pair<std::string, std::string>;  // talker, transmission id (hex)
  // Floor rank, talker: the smaller holds the floor.
  using FloorClaim = std::pair<Bytes, std::string>;

  void finish_reception(const ReceptionKey& key);
  void remember(const VoiceStats& stats);
  void publish(const std::string& phase, const VoiceStats& stats);
  std::string wav_path(const VoiceStats& stats) const;
  void write_clip_wav(const ArchivedClip& clip, const std::string& talker_name);
  void mix_to_device();
  // The transmission holding `channel`'s floor (own or heard), if any.
  std::optional<FloorClaim> floor_holder(const std::string& channel_hex) const;

  std::string own_fingerprint_;
  const Clock& clock_;
  VoiceOptions options_;
  VoiceEngineHooks hooks_;
  bool wav_dir_ = false;
  std::unique_ptr<voice::AudioSink> device_;
  std::unique_ptr<voice::Mixer> device_mixer_;
  int64_t device_tick_ms_ = 0;
  std::map<std::string, std::unique_ptr<Transmission>> transmissions_;  // by channel id (hex)
  std::map<ReceptionKey, std::unique_ptr<Reception>> receptions_;
  std::map<std::string, std::vector<VoiceStats>> recent_;  // by channel name
  std::map<ReceptionKey, bool> heard_whole_;               // every frame arrived live
  std::deque<ReceptionKey> heard_order_;                   // oldest first, for the cap
  static constexpr size_t kHeardRemembered = 1024;
  void note_heard(const ReceptionKey& key, bool whole);
  struct Early {
    std::string from;
    wire::VoiceFrame frame;
    int64_t at_ms = 0;
  };
  std::vector<Early> early_;  // frames that overtook their VoiceStart (bounded, per talker too)
};

}  // namespace sotto::core
