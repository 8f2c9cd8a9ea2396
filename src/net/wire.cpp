#include "src/net/wire.h"

#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <string>

namespace sotto::net {
namespace {

Status refuse(FrameDrop reason, FrameDrop* drop, std::string message) {
  if (drop != nullptr) *drop = reason;
  return Status::corruption("frame: " + message);
}

// The payload's length, from a frame at least kFrameHeaderSize long.
size_t length_prefix(ByteView frame) {
  return (size_t{frame[0]} << 24) | (size_t{frame[1]} << 16) | (size_t{frame[2]} << 8) |
         size_t{frame[3]};
}

}  // namespace

std::string_view frame_drop_name(FrameDrop drop) {
  switch (drop) {
    case FrameDrop::kSize:
      return "size";
    case FrameDrop::kLength:
      return "length";
    case FrameDrop::kPadding:
      return "padding";
    case FrameDrop::kParse:
      return "parse";
    case FrameDrop::kNoVersion:
      return "no_version";
    case FrameDrop::kVersion:
      return "version";
    case FrameDrop::kNoBody:
      return "no_body";
  }
  return "unknown";
}

size_t frame_bucket(size_t payload_size) {
  if (payload_size > kMaxFrameSize - kFrameHeaderSize) return 0;  // also keeps the sum in range
  for (size_t bucket : kFrameBuckets) {
    if (kFrameHeaderSize + payload_size <= bucket) return bucket;
  }
  return 0;
}

Result<Bytes> encode_frame(wire::Envelope envelope) {
  envelope.set_version(kProtocolVersion);
  return frame_of(envelope);
}

Result<Bytes> frame_of(const wire::Envelope& envelope) {
  if (envelope.body_case() == wire::Envelope::BODY_NOT_SET) {
    return Status::invalid_argument("frame: envelope has no body");
  }
  const size_t payload_size = envelope.ByteSizeLong();
  const size_t bucket = frame_bucket(payload_size);
  if (bucket == 0) {
    return Status::invalid_argument("frame: envelope of " + std::to_string(payload_size) +
                                    " bytes exceeds the " + std::to_string(kMaxFrameSize) +
                                    "-byte frame limit");
  }
  Bytes frame(bucket, 0);  // zero-filled: the padding is already in place
  frame[0] = static_cast<uint8_t>(payload_size >> 24);
  frame[1] = static_cast<uint8_t>(payload_size >> 16);
  frame[2] = static_cast<uint8_t>(payload_size >> 8);
  frame[3] = static_cast<uint8_t>(payload_size);
  // payload_size < kMaxFrameSize, so the int conversion is exact.
  if (!envelope.SerializeToArray(frame.data() + kFrameHeaderSize, static_cast<int>(payload_size))) {
    return Status::internal("frame: envelope does not serialize");
  }
  return frame;
}

ByteView frame_without_padding(ByteView frame) {
  if (frame.size() < kFrameHeaderSize) return frame;
  const size_t length = length_prefix(frame);
  if (length > frame.size() - kFrameHeaderSize) return frame;
  return frame.first(kFrameHeaderSize + length);
}

Result<Bytes> frame_with_padding(ByteView stored) {
  if (stored.size() < kFrameHeaderSize) return Status::corruption("stored frame: no length");
  const size_t length = length_prefix(stored);
  if (length > stored.size() - kFrameHeaderSize) {
    return Status::corruption("stored frame: shorter than its length prefix");
  }
  const size_t bucket = frame_bucket(length);
  if (bucket == 0) return Status::corruption("stored frame: larger than any frame");
  Bytes frame(bucket, 0);
  std::copy_n(stored.begin(), kFrameHeaderSize + length, frame.begin());
  return frame;
}

Result<wire::Envelope> decode_frame(ByteView frame, FrameDrop* drop) {
  if (std::find(kFrameBuckets.begin(), kFrameBuckets.end(), frame.size()) == kFrameBuckets.end()) {
    return refuse(FrameDrop::kSize, drop, "size is not a bucket");
  }
  const size_t length = length_prefix(frame);
  if (length > frame.size() - kFrameHeaderSize) {
    return refuse(FrameDrop::kLength, drop, "length prefix beyond the frame");
  }
  const ByteView payload = frame.subspan(kFrameHeaderSize, length);
  const ByteView padding = frame.subspan(kFrameHeaderSize + length);
  // Zero padding only, so the padding cannot carry anything on the side.
  if (std::any_of(padding.begin(), padding.end(), [](uint8_t b) { return b != 0; })) {
    return refuse(FrameDrop::kPadding, drop, "non-zero padding");
  }

  wire::Envelope envelope;
  bool parsed = false;
  {
    // libprotobuf logs some malformed input (invalid UTF-8 in a string field) to stderr: a
    // peer must not be able to write to our terminal, under the TUI at that. The silencer is
    // thread-safe and drops only non-fatal messages.
    google::protobuf::LogSilencer quiet;
    // length <= kMaxFrameSize - 4, so the int conversion is exact. The lite runtime reports
    // malformed input by returning false; it does not throw.
    parsed = envelope.ParseFromArray(payload.data(), static_cast<int>(length));
  }
  if (!parsed) return refuse(FrameDrop::kParse, drop, "envelope does not parse");
  if (envelope.version() == 0) {
    return refuse(FrameDrop::kNoVersion, drop, "envelope has no version");
  }
  if (envelope.version() != kProtocolVersion) {
    return refuse(FrameDrop::kVersion, drop,
                  "unsupported protocol version " + std::to_string(envelope.version()));
  }
  // A body type from a later version arrives as an unknown field and leaves the oneof unset.
  if (envelope.body_case() == wire::Envelope::BODY_NOT_SET) {
    return refuse(FrameDrop::kNoBody, drop, "envelope has no body");
  }
  return envelope;
}

}  // namespace sotto::net
