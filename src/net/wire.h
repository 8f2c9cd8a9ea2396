// The frame codec: one sotto::wire::Envelope (src/net/proto/sotto.proto) per ZeroMQ message.
//
//   payload length (4, big-endian) | serialized Envelope | zero padding to a size bucket
//
// Frames come in a few sizes only (256 B ... 256 KiB, see kFrameBuckets) so their length says
// little about what was said (doc/protocol.md). Decoding is strict and total: any bytes give an
// Envelope or a Corruption status with a drop reason, never a crash. Layout in doc/protocol.md.
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::net {

constexpr uint32_t kProtocolVersion = 1;
// The largest bucket, length prefix and padding included; the socket's ZMQ_MAXMSGSIZE is this
// plus CURVE's box (TransportOptions).
constexpr size_t kMaxFrameSize = 256 * 1024;
constexpr size_t kFrameHeaderSize = 4;
// Each bucket is 4x the one before it: padding costs at most 4x on the wire, and an observer
// learns a size class, not a size.
constexpr std::array<size_t, 6> kFrameBuckets = {256, 1024, 4096, 16384, 65536, 262144};
static_assert(kFrameBuckets.back() == kMaxFrameSize);

// Why decode_frame refused a frame, so the node can count drops by reason.
enum class FrameDrop : uint8_t {
  kSize,       // not exactly one of the bucket sizes
  kLength,     // length prefix larger than the frame can hold
  kPadding,    // a non-zero byte after the payload
  kParse,      // the payload is not a protobuf Envelope
  kNoVersion,  // version missing (0)
  kVersion,    // a version this build does not speak (older or newer)
  kNoBody,     // no body, or one this build does not know
};
constexpr size_t kFrameDropReasons = static_cast<size_t>(FrameDrop::kNoBody) + 1;
// A short lowercase name for stats output: "size", "length", ... "no_body".
std::string_view frame_drop_name(FrameDrop drop);

// The frame size for a payload of `payload_size` bytes: the smallest bucket that holds
// kFrameHeaderSize + payload_size; 0 when even the largest does not.
size_t frame_bucket(size_t payload_size);

// Sets envelope.version to kProtocolVersion and frames it. InvalidArgument when the envelope
// has no body or the frame would exceed kMaxFrameSize.
Result<Bytes> encode_frame(wire::Envelope envelope);
// The same for an envelope whose version is already set, left as it is: one kept and refilled
// frame after frame (a transmission's VoiceFrames) is framed without being rebuilt each time.
Result<Bytes> frame_of(const wire::Envelope& envelope);

// The Envelope in `frame`. Every refusal is Corruption ("frame: ..."); when `drop` is given it
// receives the reason. A frame in a larger bucket than its payload needs is accepted: a sender
// may pad more to hide more.
Result<wire::Envelope> decode_frame(ByteView frame, FrameDrop* drop = nullptr);

// Frames at rest. A frame kept to be sent later (the outbox) is stored without its padding: a
// voice clip's frame is 256 KiB around a ~71 KB Envelope, and every stored page is encrypted and
// MAC'd on the way in and wiped (secure_delete) on the way out. The padding hides a size on the
// wire; on disk, inside the encrypted database, it only costs.
//
// `frame` without its padding: the length prefix and the payload. A frame too short to hold its
// own length is returned whole (frame_with_padding refuses it).
ByteView frame_without_padding(ByteView frame);
// The frame again, padded to the bucket encode_frame would have chosen. A stored frame that
// still has its padding (kept by an earlier version) comes back as it was. Corruption when the
// stored bytes are shorter than their length prefix says or the payload fits no bucket.
Result<Bytes> frame_with_padding(ByteView stored);

}  // namespace sotto::net
