#include "sotto/voice/opus_codec.h"

#include <opus.h>

#include <array>
#include <string>

namespace sotto::voice {
namespace {

// The one place Opus error codes become Status values.
Status status_from_opus(int code, const std::string& context) {
  const std::string message = context + ": " + opus_strerror(code);
  switch (code) {
    case OPUS_BAD_ARG:
      return Status::invalid_argument(message);
    case OPUS_INVALID_PACKET:
      return Status::corruption(message);
    default:  // OPUS_BUFFER_TOO_SMALL, OPUS_INTERNAL_ERROR, OPUS_UNIMPLEMENTED, OPUS_ALLOC_FAIL,
              // ...
      return Status::internal(message);
  }
}

// The longest packet Opus produces (RFC 6716 §3.2.1: 1275 bytes per frame).
constexpr int kMaxPacketBytes = 1275;
// The longest frame a packet may carry: 120 ms at 48 kHz.
constexpr int kMaxPacketSamples = 5760;

}  // namespace

Status validate(const CodecOptions& options) {
  if (options.frame_ms != 10 && options.frame_ms != 20) {
    return Status::invalid_argument("voice frame must be 10 or 20 ms, not " +
                                    std::to_string(options.frame_ms));
  }
  if (options.bitrate_bps < kMinBitrateBps || options.bitrate_bps > kMaxBitrateBps) {
    return Status::invalid_argument("voice bitrate must be 8 to 64 kbit/s, not " +
                                    std::to_string(options.bitrate_bps) + " bit/s");
  }
  return Status::ok();
}

int cbr_packet_bytes(const CodecOptions& options) {
  return options.bitrate_bps * options.frame_ms / 1000 / 8;
}

Result<int> packet_samples(ByteView packet) {
  if (packet.empty()) return Status::corruption("empty voice packet");
  const int n = opus_packet_get_nb_samples(packet.data(), static_cast<opus_int32>(packet.size()),
                                           kSampleRateHz);
  if (n < 0) return status_from_opus(n, "reading a voice packet's length");
  return n;
}

namespace {
struct FreeEncoder {
  void operator()(::OpusEncoder* encoder) const { opus_encoder_destroy(encoder); }
};
struct FreeDecoder {
  void operator()(::OpusDecoder* decoder) const { opus_decoder_destroy(decoder); }
};
}  // namespace

struct OpusEncoder::State {
  std::unique_ptr<::OpusEncoder, FreeEncoder> encoder;
};
struct OpusDecoder::State {
  std::unique_ptr<::OpusDecoder, FreeDecoder> decoder;
};

OpusEncoder::OpusEncoder(std::unique_ptr<State> state, const CodecOptions& options)
    : state_(std::move(state)), options_(options) {}
OpusEncoder::OpusEncoder(OpusEncoder&&) noexcept = default;
OpusEncoder& OpusEncoder::operator=(OpusEncoder&&) noexcept = default;
OpusEncoder::~OpusEncoder() = default;

OpusDecoder::OpusDecoder(std::unique_ptr<State> state, int frame_ms)
    : state_(std::move(state)), frame_ms_(frame_ms) {}
OpusDecoder::OpusDecoder(OpusDecoder&&) noexcept = default;
OpusDecoder& OpusDecoder::operator=(OpusDecoder&&) noexcept = default;
OpusDecoder::~OpusDecoder() = default;

Result<OpusEncoder> OpusEncoder::create(const CodecOptions& options) {
  SOTTO_RETURN_IF_ERROR(validate(options));
  int error = OPUS_OK;
  auto state = std::make_unique<State>();
  state->encoder.reset(opus_encoder_create(kSampleRateHz, 1, OPUS_APPLICATION_VOIP, &error));
  if (error != OPUS_OK || !state->encoder) {
    return status_from_opus(error, "creating the Opus encoder");
  }
  ::OpusEncoder* e = state->encoder.get();
  // Hard CBR (not constrained VBR) and no DTX: every packet the same length, silence included.
  const int results[] = {
      opus_encoder_ctl(e, OPUS_SET_BITRATE(options.bitrate_bps)),
      opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(kEncoderComplexity)),
      opus_encoder_ctl(e, OPUS_SET_VBR(0)),
      opus_encoder_ctl(e, OPUS_SET_DTX(0)),
      opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)),
  };
  for (int result : results) {
    if (result != OPUS_OK) return status_from_opus(result, "configuring the Opus encoder");
  }
  return OpusEncoder(std::move(state), options);
}

Result<Bytes> OpusEncoder::encode(std::span<const int16_t> pcm) {
  if (static_cast<int>(pcm.size()) != frame_samples()) {
    return Status::invalid_argument("Opus encoder wants " + std::to_string(frame_samples()) +
                                    " samples per frame, got " + std::to_string(pcm.size()));
  }
  // Encoded on the stack and returned at its own size: a transmission keeps every packet for its
  // clip, and a 1,275-byte allocation shrunk to ~60 grew the heap by ~1.3 KB a frame (a page
  // fault and an mprotect every few frames, 4 MB for a minute's clip).
  std::array<uint8_t, kMaxPacketBytes> packet;
  const opus_int32 n = opus_encode(state_->encoder.get(), pcm.data(), frame_samples(),
                                   packet.data(), static_cast<opus_int32>(packet.size()));
  if (n < 0) return status_from_opus(n, "encoding a voice frame");
  return Bytes(packet.begin(), packet.begin() + n);
}

Result<EncoderSettings> OpusEncoder::settings() const {
  ::OpusEncoder* e = state_->encoder.get();
  opus_int32 vbr = 0, dtx = 0, application = 0, bitrate = 0, complexity = 0, lookahead = 0;
  const int results[] = {
      opus_encoder_ctl(e, OPUS_GET_VBR(&vbr)),
      opus_encoder_ctl(e, OPUS_GET_DTX(&dtx)),
      opus_encoder_ctl(e, OPUS_GET_APPLICATION(&application)),
      opus_encoder_ctl(e, OPUS_GET_BITRATE(&bitrate)),
      opus_encoder_ctl(e, OPUS_GET_COMPLEXITY(&complexity)),
      opus_encoder_ctl(e, OPUS_GET_LOOKAHEAD(&lookahead)),
  };
  for (int result : results) {
    if (result != OPUS_OK) return status_from_opus(result, "querying the Opus encoder");
  }
  EncoderSettings settings;
  settings.vbr = vbr != 0;
  settings.dtx = dtx != 0;
  settings.voip_application = application == OPUS_APPLICATION_VOIP;
  settings.bitrate_bps = bitrate;
  settings.complexity = complexity;
  settings.lookahead_samples = lookahead;
  return settings;
}

Result<OpusDecoder> OpusDecoder::create(const CodecOptions& options) {
  SOTTO_RETURN_IF_ERROR(validate(CodecOptions{options.frame_ms, kDefaultBitrateBps}));
  int error = OPUS_OK;
  auto state = std::make_unique<State>();
  state->decoder.reset(opus_decoder_create(kSampleRateHz, 1, &error));
  if (error != OPUS_OK || !state->decoder) {
    return status_from_opus(error, "creating the Opus decoder");
  }
  return OpusDecoder(std::move(state), options.frame_ms);
}

Result<std::vector<int16_t>> OpusDecoder::decode(ByteView packet) {
  if (packet.empty()) return Status::corruption("empty voice packet");
  if (packet.size() > static_cast<size_t>(kMaxPacketBytes) * 48) {  // 48 frames at most, §3.2.5
    return Status::corruption("voice packet too long");
  }
  // Sized from the packet's own header (a 20 ms frame is 960 samples), not the 5,760 any
  // packet could hold.
  const opus_int32 len = static_cast<opus_int32>(packet.size());
  const int samples = opus_decoder_get_nb_samples(state_->decoder.get(), packet.data(), len);
  if (samples < 0) return status_from_opus(samples, "decoding a voice packet");
  if (samples == 0) return Status::corruption("voice packet without a frame");
  if (samples > kMaxPacketSamples) return Status::corruption("voice packet too long");
  std::vector<int16_t> pcm(static_cast<size_t>(samples));
  const int n = opus_decode(state_->decoder.get(), packet.data(), len, pcm.data(), samples,
                            /*decode_fec=*/0);
  if (n < 0) return status_from_opus(n, "decoding a voice packet");
  pcm.resize(static_cast<size_t>(n));
  return pcm;
}

Result<std::vector<int16_t>> OpusDecoder::conceal() {
  std::vector<int16_t> pcm(static_cast<size_t>(frame_samples()));
  const int n = opus_decode(state_->decoder.get(), nullptr, 0, pcm.data(), frame_samples(), 0);
  if (n < 0) return status_from_opus(n, "concealing a lost voice frame");
  pcm.resize(static_cast<size_t>(n));
  return pcm;
}

}  // namespace sotto::voice
