// VoiceEngine: live push-to-talk on the node's loop (doc/guide.md, Push-to-talk voice), the owner
// of the voice side. It wires the parts that each have one job:
//
//   Transmission (voice_transmission.h)  our own transmissions, paced frame by frame;
//   CaptureFeed  (voice_capture.h)       their frames, from a file or from a device's thread;
//   Reception    (voice_reception.h)     a member's transmission: replay window, jitter, decoder;
//   Receptions   (voice_receptions.h)    all those we hear now, by talker and transmission;
//   EarlyFrames  (voice_early_frames.h)  frames that overtook their VoiceStart (Receptions');
//   the floor    (voice_floor.h)         who may talk on a channel that is not free;
//   VoiceOutput  (voice_output.h)        where received audio goes: device, files or nowhere.
//
// Voice depends on messaging, never the other way round. The engine asks VoiceMessaging
// (voice_messaging.h) for channels, VoiceStart and the clip under our sender key, and the
// archiving of a clip heard whole; the Messenger knows nothing of the engine. What the
// Messenger decrypts for voice leaves it as a VoiceSignal, and roster changes as a roster hook;
// the node routes both here (on_signal, on_roster), as it routes VoiceFrames (on_frame). Both
// arrive inside a Messenger transaction, so the engine answers them without writing through
// messaging (it may read names): a clip heard whole is archived at the next tick, in a
// transaction of its own, and a clip the outbox delivered is shown (and written out) then too.
//
//   talk:    open_transmission (VoiceStart) → a frame per period → close_transmission (the
//            signed clip archived, VoiceEnd, outbox).
//   listen:  VoiceStart → a Reception; its frames played out as due; VoiceEnd → the clip.
//   floor:   a PTT while someone talks is refused; starts that cross are settled by rank.
//   roster:  only members take part. A roster change ends our transmission when it removed
//            someone who could hear it (they hold its key), and drops whoever it removed at
//            once; frames that overtake their VoiceStart are held for members only.
//
// Thread-safety: the node's loop thread only (a device's capture reads on a thread of its own,
// which only wakes the loop).
#pragma once

#include <cstdint>
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
#include "src/core/counters.h"
#include "src/core/voice_messaging.h"
#include "src/core/voice_output.h"
#include "src/core/voice_reception.h"
#include "src/core/voice_receptions.h"
#include "src/core/voice_transmission.h"
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
  bool trace_costs = false;  // NodeOptions::voice_trace_costs
};

// What the engine needs around it.
struct VoiceEngineHooks {
  VoiceMessaging* messaging = nullptr;  // REQUIRES: set, and outlives the engine
  std::function<void(Event)> publish;
  std::function<void(Counter counter, uint64_t n)> count;
  // Wakes the loop; called on a capture thread. Optional: without it a device's frames wait for
  // the loop's next round.
  std::function<void()> wake;
};

class VoiceEngine {
 public:
  using TalkDone = Transmission::Done;
  // kPaced: a file or null source, read on the loop when the clock says a frame is due.
  // kThreaded: a device, whose read() blocks: read on a thread of its own (voice_capture.h).
  enum class Capture { kPaced, kThreaded };

  VoiceEngine(const std::string& own_fingerprint, const Clock& clock, VoiceOptions options,
              VoiceEngineHooks hooks);
  ~VoiceEngine();
  // Opens the output named by options.audio_out. InvalidArgument/Unavailable with a message
  // that says what to use instead.
  Status start();

  // Transmits `source` to `channel` until it ends (or stop_talking, or the time-out); `done`
  // gets the archived clip's message. Busy when someone else holds the channel's floor.
  void talk(const std::string& channel, std::unique_ptr<voice::AudioSource> source, TalkDone done,
            Capture capture = Capture::kPaced);
  // Ends our transmission on `channel` (a PTT released); false when there is none.
  bool stop_talking(const std::string& channel);

  // From the Messenger, through the node (inside its receive transaction).
  void on_signal(const VoiceSignal& signal);
  void on_voice_start(const std::string& from, const VoiceChannel& channel,
                      const wire::VoiceStart& start);
  // The whole clip when every frame was heard, else nullopt (the clip comes from the outbox).
  std::optional<HeardClip> on_voice_end(const std::string& from, const wire::VoiceEnd& end);
  // On the tick: a clip archived (heard whole by us, or delivered by the outbox) is shown.
  void on_archived(const std::string& from, const VoiceChannel& channel, const ArchivedClip& clip);
  // From the Messenger, inside the transaction applying a roster of the channel: `members` is
  // its roster now, `still_member` whether we are on it. Our transmission stops going to anyone
  // removed, and nobody removed is heard any more.
  void on_roster(const Bytes& channel_id, const std::vector<std::string>& members,
                 bool still_member);
  // From the network: one VoiceFrame.
  void on_frame(const std::string& from, const wire::VoiceFrame& frame);

  // Paces transmissions, conceals late frames, plays out, ends receptions, archives what was
  // heard whole.
  void tick();
  // When tick() next has work (monotonic ms), or nullopt when idle.
  std::optional<int64_t> next_deadline_ms() const;
  // While we talk: when the middle half of a frame period next begins, away from a frame's
  // send and its listeners' decoding (nullopt: we are in it, or do not talk). What can wait a
  // few milliseconds and wakes other hosts (heartbeats) waits for it.
  std::optional<int64_t> quiet_from_ms() const;
  // A transmission is live here, ours or one we hear: the loop must not stall on housekeeping
  // (a checkpoint or a search-index batch takes tens of milliseconds, longer than the jitter
  // buffer holds).
  bool on_air() const { return !transmissions_.empty() || !receptions_.empty(); }
  PttState ptt_state() const;
  // The sound devices' callbacks since the engine started: the output device's and those of
  // every capture device a transmission used, finished or live.
  voice::AudioDeviceStats audio_stats() const;
  // Who is on air, and the latest transmissions, for a channel's description.
  void describe(ChannelInfo& info) const;

 private:
  using ReceptionKey = Receptions::Key;
  // A clip heard whole, to archive once the transaction that brought its VoiceEnd is over.
  struct HeardWhole {
    std::string from;
    VoiceChannel channel;
    HeardClip clip;
    Bytes signature;
  };

  std::optional<Status> refuse_talk(const VoiceChannel& channel);
  std::unique_ptr<CaptureFeed> feed_of(std::unique_ptr<voice::AudioSource> source,
                                       Capture capture) const;
  void finish_transmission(const std::string& channel_hex, Status why);
  // The floor for a member's new reception: refused, or it takes the floor from whoever holds it.
  void settle_floor(Reception& r);
  void finish_reception(const ReceptionKey& key);
  void drop_removed(const Bytes& channel_id, const std::function<bool(const std::string&)>& listed);
  void archive_heard();
  void mix_to_device(int64_t now_ms);
  // The file written for `stats` (kFiles), or a failure counted.
  void note_wav(Result<std::string> path, VoiceStats& stats);
  void remember(const VoiceStats& stats);
  void publish(VoicePhase phase, const VoiceStats& stats);
  // The transmission holding `channel`'s floor (own or heard), if any.
  std::optional<FloorClaim> floor_holder(const std::string& channel_hex) const;
  voice::CodecOptions codec() const { return {options_.frame_ms, options_.bitrate_bps}; }

  std::string own_fingerprint_;
  const Clock& clock_;
  VoiceOptions options_;
  VoiceEngineHooks hooks_;
  VoiceMessaging& messaging_;
  VoiceEnv env_;
  VoiceOutput output_;
  std::map<std::string, std::unique_ptr<Transmission>> transmissions_;  // by channel id (hex)
  Receptions receptions_{env_, messaging_};
  std::map<std::string, std::vector<VoiceStats>> recent_;  // by channel name
  HeardLog heard_;
  std::vector<HeardWhole> to_archive_;
  // Clips the outbox delivered, archived inside a receive transaction: shown (and written out
  // with --audio-out DIR, a whole clip decoded) at the next tick, after that commit.
  std::vector<VoiceSignal> delivered_;
  voice::AudioDeviceStats captured_;  // the capture devices of finished transmissions
};

}  // namespace sotto::core
