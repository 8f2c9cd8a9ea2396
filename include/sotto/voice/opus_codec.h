// OpusEncoder / OpusDecoder: the voice codec, fixed to sotto's wire profile (doc/guide.md,
// Push-to-talk voice).
//
// 48 kHz mono, 20 ms frames (10 ms selectable), OPUS_APPLICATION_VOIP, hard CBR, DTX off. Hard CBR
// matters for privacy: with VBR the packet sizes reveal which phrases were spoken (RFC 6562); with
// CBR every packet of a transmission has the same length, bitrate * frame / 8 bytes (60 bytes for
// 20 ms at 24 kbit/s).
//
// Thread-safety: one encoder or decoder per thread; instances are move-only and own their Opus
// state, freed on destruction. REQUIRES for every member function: the object was not moved from.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::voice {

inline constexpr int kSampleRateHz = 48'000;
inline constexpr int kDefaultFrameMs = 20;
inline constexpr int kDefaultBitrateBps = 24'000;
// Set, not left to the library's default (which differs between libopus versions): 9, today's
// default, about 500 us per 20 ms frame here; 5 would halve that at a small cost in quality.
inline constexpr int kEncoderComplexity = 9;
inline constexpr int kMinBitrateBps = 8'000;
inline constexpr int kMaxBitrateBps = 64'000;

// Samples in one mono frame of `frame_ms` at 48 kHz: 960 for 20 ms, 480 for 10 ms.
constexpr int frame_samples_for(int frame_ms) {
  return kSampleRateHz / 1000 * frame_ms;
}

struct CodecOptions {
  int frame_ms = kDefaultFrameMs;        // 10 or 20
  int bitrate_bps = kDefaultBitrateBps;  // kMinBitrateBps .. kMaxBitrateBps
};

// What the Opus encoder reports about itself (queried from the library, not echoed from options),
// so tests and diagnostics can assert the privacy-relevant settings.
struct EncoderSettings {
  bool vbr = true;
  bool dtx = true;
  bool voip_application = false;
  int bitrate_bps = 0;
  int complexity = 0;
  int lookahead_samples = 0;  // the encoder's algorithmic delay
};

// Checks an options struct: frame 10 or 20 ms, bitrate within bounds. InvalidArgument otherwise.
Status validate(const CodecOptions& options);

// Bytes in every packet of a hard-CBR stream with these options: bitrate * frame / 8.
int cbr_packet_bytes(const CodecOptions& options);

// The samples one packet decodes to at 48 kHz, read from its TOC byte (no decoding).
// Corruption for an empty or malformed packet.
Result<int> packet_samples(ByteView packet);

class OpusEncoder {
 public:
  static Result<OpusEncoder> create(const CodecOptions& options = {});

  OpusEncoder(OpusEncoder&&) noexcept;
  OpusEncoder& operator=(OpusEncoder&&) noexcept;
  OpusEncoder(const OpusEncoder&) = delete;
  OpusEncoder& operator=(const OpusEncoder&) = delete;
  ~OpusEncoder();

  // Encodes one frame. REQUIRES: pcm.size() == frame_samples() (else InvalidArgument).
  // With hard CBR the packet is always cbr_packet_bytes(options()) long.
  Result<Bytes> encode(std::span<const int16_t> pcm);

  Result<EncoderSettings> settings() const;
  const CodecOptions& options() const { return options_; }
  int frame_samples() const { return frame_samples_for(options_.frame_ms); }

 private:
  // Owns the C library's encoder (opus.h's own OpusEncoder, which this header does not name, so
  // that `using namespace sotto::voice` stays unambiguous next to <opus.h>).
  struct State;
  OpusEncoder(std::unique_ptr<State> state, const CodecOptions& options);

  std::unique_ptr<State> state_;
  CodecOptions options_;
};

class OpusDecoder {
 public:
  // Only options.frame_ms matters: it sets the length of a concealed frame.
  static Result<OpusDecoder> create(const CodecOptions& options = {});

  OpusDecoder(OpusDecoder&&) noexcept;
  OpusDecoder& operator=(OpusDecoder&&) noexcept;
  OpusDecoder(const OpusDecoder&) = delete;
  OpusDecoder& operator=(const OpusDecoder&) = delete;
  ~OpusDecoder();

  // Decodes one packet to 48 kHz mono samples (as many as the packet holds, normally
  // frame_samples()). An empty or malformed packet is Corruption; the decoder stays usable.
  Result<std::vector<int16_t>> decode(ByteView packet);

  // Opus packet-loss concealment: a frame_samples() long guess for one lost frame, continuing
  // from the decoder's state (decoding a null packet).
  Result<std::vector<int16_t>> conceal();

  int frame_samples() const { return frame_samples_for(frame_ms_); }

 private:
  struct State;  // owns the C library's decoder
  OpusDecoder(std::unique_ptr<State> state, int frame_ms);

  std::unique_ptr<State> state_;
  int frame_ms_;
};

}  // namespace sotto::voice
