#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <vector>

#include "sotto/voice/opus_codec.h"
#include "sotto/voice/wav.h"
#include "tests/support/skip.h"

using namespace sotto;
using namespace sotto::voice;

namespace {

constexpr const char* kSpeech = "/usr/share/sounds/alsa/Front_Center.wav";

static_assert(!std::is_copy_constructible_v<OpusEncoder> &&
              std::is_move_constructible_v<OpusEncoder>);
static_assert(!std::is_copy_constructible_v<OpusDecoder> &&
              std::is_move_constructible_v<OpusDecoder>);

// Normalized cross-correlation of `out` delayed by `lag` against `in`, over their overlap.
double correlation_at(const std::vector<int16_t>& in, const std::vector<int16_t>& out, size_t lag) {
  double xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i + lag < out.size() && i < in.size(); ++i) {
    const double x = in[i], y = out[i + lag];
    xy += x * y;
    xx += x * x;
    yy += y * y;
  }
  return xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0.0;
}

// The best correlation over the lags Opus's delay can take (up to 10 ms).
std::pair<double, size_t> best_alignment(const std::vector<int16_t>& in,
                                         const std::vector<int16_t>& out) {
  double best = -1;
  size_t best_lag = 0;
  for (size_t lag = 0; lag <= 480; ++lag) {
    const double c = correlation_at(in, out, lag);
    if (c > best) best = c, best_lag = lag;
  }
  return {best, best_lag};
}

std::vector<int16_t> tone(size_t n, double hz, double amplitude) {
  std::vector<int16_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<int16_t>(amplitude * std::sin(2 * std::numbers::pi * hz * i / 48000.0));
  }
  return out;
}

}  // namespace

TEST_CASE("real speech survives an Opus round trip at 24 kbit/s, every packet exactly 60 bytes",
          "[voice][opus]") {
  SOTTO_SKIP_UNLESS(std::filesystem::exists(kSpeech), test::kNoAlsaSpeech);
  auto wav = read_wav(kSpeech);
  REQUIRE(wav.is_ok());
  std::vector<int16_t> in = wav->samples;
  REQUIRE(in.size() > 48000);  // about 1.4 s of "front center"
  in.resize(in.size() / 960 * 960);

  auto encoder = OpusEncoder::create();
  auto decoder = OpusDecoder::create();
  REQUIRE(encoder.is_ok());
  REQUIRE(decoder.is_ok());
  CHECK(cbr_packet_bytes(encoder->options()) == 60);

  std::vector<int16_t> out;
  size_t wrong_size = 0;
  for (size_t at = 0; at < in.size(); at += 960) {
    auto packet = encoder->encode(std::span(in).subspan(at, 960));
    REQUIRE(packet.is_ok());
    if (packet->size() != 60) ++wrong_size;
    // Held for the clip at its own size: not the 1,275 bytes any packet might need.
    REQUIRE(packet->capacity() < 2 * packet->size());
    auto pcm = decoder->decode(*packet);
    REQUIRE(pcm.is_ok());
    REQUIRE(pcm->size() == 960);
    out.insert(out.end(), pcm->begin(), pcm->end());
  }
  CHECK(wrong_size == 0);  // silence included: CBR without DTX never shrinks a packet

  const auto [corr, lag] = best_alignment(in, out);
  INFO("correlation " << corr << " at lag " << lag << " samples");
  CHECK(corr > 0.85);
  // The alignment found is Opus's own delay, not a chance match: the encoder's lookahead (312
  // samples, 6.5 ms) give or take half a millisecond of phase shift from the speech coder.
  auto settings = encoder->settings();
  REQUIRE(settings.is_ok());
  CHECK(std::abs(static_cast<int>(lag) - settings->lookahead_samples) <= 24);
  // And a misaligned or unrelated signal does not pass the same threshold.
  CHECK(correlation_at(in, out, lag + 240) < 0.5);
}

TEST_CASE("the encoder runs hard CBR without DTX in VOIP mode at a set complexity",
          "[voice][opus]") {
  for (int bitrate : {8000, 24000, 64000}) {
    for (int frame_ms : {10, 20}) {
      auto encoder = OpusEncoder::create({frame_ms, bitrate});
      REQUIRE(encoder.is_ok());
      auto settings = encoder->settings();
      REQUIRE(settings.is_ok());
      CHECK_FALSE(settings->vbr);
      CHECK_FALSE(settings->dtx);
      CHECK(settings->voip_application);
      CHECK(settings->bitrate_bps == bitrate);
      CHECK(settings->complexity == kEncoderComplexity);
      // Silence, a quiet tone and a loud tone all give packets of one length.
      const size_t n = static_cast<size_t>(encoder->frame_samples());
      const std::vector<std::vector<int16_t>> inputs = {std::vector<int16_t>(n, 0),
                                                        tone(n, 440, 300), tone(n, 1000, 30000)};
      for (const auto& input : inputs) {
        for (int repeat = 0; repeat < 5; ++repeat) {
          auto packet = encoder->encode(input);
          REQUIRE(packet.is_ok());
          CHECK(static_cast<int>(packet->size()) == cbr_packet_bytes({frame_ms, bitrate}));
        }
      }
    }
  }
  CHECK(cbr_packet_bytes({10, 24000}) == 30);
  CHECK(cbr_packet_bytes({20, 8000}) == 20);
}

TEST_CASE("bitrates outside 8 to 64 kbit/s and frames other than 10 or 20 ms are refused",
          "[voice][opus]") {
  for (int bitrate : {0, 7999, 64001, -24000}) {
    auto encoder = OpusEncoder::create({20, bitrate});
    REQUIRE_FALSE(encoder.is_ok());
    CHECK(encoder.status().code() == StatusCode::kInvalidArgument);
  }
  for (int frame_ms : {0, 5, 15, 40, 60}) {
    CHECK(OpusEncoder::create({frame_ms, 24000}).status().code() == StatusCode::kInvalidArgument);
    CHECK(OpusDecoder::create({frame_ms, 24000}).status().code() == StatusCode::kInvalidArgument);
  }
  CHECK(OpusEncoder::create({20, 8000}).is_ok());
  CHECK(OpusEncoder::create({10, 64000}).is_ok());
}

TEST_CASE("a frame of the wrong length is refused, not encoded", "[voice][opus]") {
  auto encoder = OpusEncoder::create();
  REQUIRE(encoder.is_ok());
  CHECK(encoder->encode(std::vector<int16_t>(959)).status().code() == StatusCode::kInvalidArgument);
  CHECK(encoder->encode(std::vector<int16_t>(480)).status().code() == StatusCode::kInvalidArgument);
  CHECK(encoder->encode(std::vector<int16_t>(960)).is_ok());
}

TEST_CASE("concealment gives a full frame that continues the signal", "[voice][opus]") {
  for (int frame_ms : {10, 20}) {
    auto encoder = OpusEncoder::create({frame_ms, 24000});
    auto decoder = OpusDecoder::create({frame_ms, 24000});
    REQUIRE(encoder.is_ok());
    REQUIRE(decoder.is_ok());
    const size_t n = static_cast<size_t>(frame_samples_for(frame_ms));
    const std::vector<int16_t> signal = tone(n * 20, 300, 8000);
    for (size_t at = 0; at < signal.size(); at += n) {
      auto packet = encoder->encode(std::span(signal).subspan(at, n));
      REQUIRE(packet.is_ok());
      REQUIRE(decoder->decode(*packet).is_ok());
    }
    auto concealed = decoder->conceal();
    REQUIRE(concealed.is_ok());
    CHECK(concealed->size() == n);
    // Not silence: concealment extrapolates the tone.
    double energy = 0;
    for (int16_t s : *concealed) energy += double(s) * s;
    CHECK(std::sqrt(energy / n) > 500);
    // The decoder carries on after a concealed frame.
    auto packet = encoder->encode(std::span(signal).subspan(0, n));
    REQUIRE(packet.is_ok());
    auto pcm = decoder->decode(*packet);
    REQUIRE(pcm.is_ok());
    CHECK(pcm->size() == n);
  }
}

TEST_CASE("empty and garbage packets are Corruption and the decoder stays usable",
          "[voice][opus]") {
  auto decoder = OpusDecoder::create();
  REQUIRE(decoder.is_ok());
  CHECK(decoder->decode(Bytes{}).status().code() == StatusCode::kCorruption);
  // TOC byte for code 3 (arbitrary frame count) with a frame count of 0: invalid (RFC 6716 §3.2.5).
  CHECK(decoder->decode(Bytes{0x03, 0x00}).status().code() == StatusCode::kCorruption);
  // Code 3 claiming 49 frames of 20 ms = 980 ms, more than the 120 ms a packet may hold.
  CHECK(decoder->decode(Bytes{0x0B, 0x31, 0, 0, 0}).status().code() == StatusCode::kCorruption);
  auto encoder = OpusEncoder::create();
  REQUIRE(encoder.is_ok());
  auto packet = encoder->encode(std::vector<int16_t>(960, 0));
  REQUIRE(packet.is_ok());
  auto pcm = decoder->decode(*packet);
  REQUIRE(pcm.is_ok());
  CHECK(pcm->size() == 960);
  // Code 3, two frames of 20 ms (CBR): 1,920 samples, as the packet's header says.
  Bytes two_frames = {0x0B, 0x02};
  for (int i = 0; i < 2; ++i)
    two_frames.insert(two_frames.end(), packet->begin() + 1, packet->end());
  auto longer = decoder->decode(two_frames);
  REQUIRE(longer.is_ok());
  CHECK(longer->size() == 1920);
}
