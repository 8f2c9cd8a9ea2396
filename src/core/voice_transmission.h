// Transmission: one of ours on a channel (doc/guide.md, Push-to-talk voice). VoiceStart has gone
// (under our sender key) to the members online; every frame period one frame from the capture feed
// is Opus-encoded, sealed with the transmission key (crypto::FrameCipher) and sent as one
// VoiceFrame to each of them without waiting (a slow peer's queue drops, it never grows without
// bound); the packets are kept for the clip archived at the end.
//
// Thread-safety: the node's loop thread only (a threaded capture feed reads on its own).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "sotto/crypto/frame_cipher.h"
#include "sotto/voice/opus_codec.h"
#include "src/core/voice_capture.h"
#include "src/core/voice_messaging.h"
#include "src/core/voice_reception.h"
#include "src/core/voice_types.h"

namespace sotto::core {

class Transmission {
 public:
  using Done = std::function<void(Result<MessageInfo>)>;

  // After open_transmission: `opened` is what VoiceStart announced; frames are paced from
  // `start_ms` (monotonic). Nothing usable in `opened` (its key): the error.
  static Result<std::unique_ptr<Transmission>> create(TransmissionStart opened,
                                                      const voice::CodecOptions& codec,
                                                      std::unique_ptr<CaptureFeed> feed,
                                                      int64_t start_ms, uint32_t max_frames);

  // Sends every frame due by `now_ms` that the feed has; stops at the end of input, an encoder
  // failure or the time-out.
  void send_due(int64_t now_ms, VoiceMessaging& messaging, const VoiceEnv& env);
  // When the next frame is due (or, stopping, when to finish); nullopt while no frame has been
  // captured yet (the capture thread wakes the loop when one is).
  std::optional<int64_t> next_due_ms() const;
  // When the next frame falls due on the frame grid, captured yet or not.
  int64_t next_frame_ms() const { return due_ms(packets_.size()); }
  // What close_transmission archives; the packets move into it.
  TransmissionEnd end(const voice::CodecOptions& codec);

  const TransmissionStart& opened() const { return opened_; }
  const Bytes& floor_rank() const { return floor_rank_; }
  size_t frames() const { return packets_.size(); }
  // The level of the latest frame in dBFS (RMS; 0 = full scale), floored at -96 (16-bit
  // silence). Worked out when asked: a meter reads it a few times a second, frames come 50.
  double level_dbfs() const;
  voice::AudioDeviceStats device_stats() const { return feed_->device_stats(); }

  VoiceStats stats;
  bool stopping = false;  // no frame more: finished at the next tick
  Done done;              // told how it ended

 private:
  Transmission(TransmissionStart opened, crypto::FrameCipher cipher, voice::OpusEncoder encoder,
               std::unique_ptr<CaptureFeed> feed, int64_t start_ms, uint32_t max_frames);
  int64_t due_ms(size_t frame) const;
  void send(VoiceMessaging& messaging, const VoiceEnv& env);
  Result<Bytes> wire_frame(uint32_t seq, const Bytes& packet);

  TransmissionStart opened_;
  Bytes floor_rank_;
  crypto::FrameCipher cipher_;
  voice::OpusEncoder encoder_;
  std::unique_ptr<CaptureFeed> feed_;
  int64_t start_ms_ = 0;
  uint32_t max_frames_ = 0;
  int frame_ms_ = 20;
  std::vector<Bytes> packets_;
  Bytes timing_;
  std::vector<int16_t> pcm_;
  double level_power_ = 0;  // the latest frame's mean square, of full scale's
  // The VoiceFrame every frame goes in: channel and transmission set once, then per frame its
  // seq and body, the body's buffer reused.
  wire::Envelope frame_envelope_;
};

}  // namespace sotto::core
