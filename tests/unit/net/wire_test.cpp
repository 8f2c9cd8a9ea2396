// The frame codec: every body type round-trips, frames come only in bucket sizes, and every way a
// frame can be wrong is refused with its own reason and no crash.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "sotto.pb.h"
#include "src/net/wire.h"

using namespace sotto;
using namespace sotto::net;

namespace {

std::string filled(size_t size, char c) {
  return std::string(size, c);
}

// One envelope per body type, each with every field set.
std::vector<std::pair<const char*, wire::Envelope>> one_of_each_body() {
  std::vector<std::pair<const char*, wire::Envelope>> out;
  wire::Envelope e;

  auto* hello = e.mutable_hello();
  hello->set_name("alice");
  hello->set_protocol_version(kProtocolVersion);
  hello->add_capabilities("text");
  hello->add_capabilities("voice");
  out.emplace_back("hello", e);

  e.Clear();
  e.mutable_heartbeat()->set_seq(0xfedcba9876543210ull);
  out.emplace_back("heartbeat", e);

  e.Clear();
  e.mutable_bundle_request()->set_request_id(filled(16, 'r'));
  out.emplace_back("bundle_request", e);

  e.Clear();
  auto* bundle = e.mutable_bundle();
  bundle->set_request_id(filled(16, 'r'));
  bundle->set_registration_id(12345);
  bundle->set_device_id(1);
  bundle->set_pre_key_id(77);
  bundle->set_pre_key(filled(33, 'p'));
  bundle->set_signed_pre_key_id(3);
  bundle->set_signed_pre_key(filled(33, 's'));
  bundle->set_signed_pre_key_signature(filled(64, 'g'));
  bundle->set_identity_key(filled(33, 'i'));
  out.emplace_back("bundle", e);

  e.Clear();
  e.mutable_signal()->set_type(3);
  e.mutable_signal()->set_body(filled(246, 'c'));
  out.emplace_back("signal", e);

  e.Clear();
  e.mutable_group()->set_channel_id(filled(16, 'h'));
  e.mutable_group()->set_body(filled(300, 'b'));
  out.emplace_back("group", e);

  e.Clear();
  auto* voice = e.mutable_voice();
  voice->set_channel_id(filled(16, 'h'));
  voice->set_transmission_id(filled(16, 't'));
  voice->set_seq(42);
  voice->set_body(filled(76, 'o'));
  out.emplace_back("voice", e);
  return out;
}

wire::Envelope signal_envelope(size_t body_size) {
  wire::Envelope e;
  e.mutable_signal()->set_type(2);
  e.mutable_signal()->set_body(filled(body_size, 'x'));
  return e;
}

Bytes encoded(const wire::Envelope& e) {
  auto frame = encode_frame(e);
  INFO(frame.status().message());
  REQUIRE(frame.is_ok());
  return std::move(frame).value();
}

// A frame built by hand around `e` as it is (encode_frame would fix the version and refuse a
// missing body): for the cases a well-behaved sender never produces.
Bytes raw_frame(const wire::Envelope& e) {
  const std::string payload = e.SerializeAsString();
  const size_t bucket = frame_bucket(payload.size());
  REQUIRE(bucket != 0);
  Bytes frame(bucket, 0);
  const size_t n = payload.size();
  frame[0] = static_cast<uint8_t>(n >> 24);
  frame[1] = static_cast<uint8_t>(n >> 16);
  frame[2] = static_cast<uint8_t>(n >> 8);
  frame[3] = static_cast<uint8_t>(n);
  std::copy(payload.begin(), payload.end(), frame.begin() + 4);
  return frame;
}

void set_length(Bytes& frame, uint32_t length) {
  frame[0] = static_cast<uint8_t>(length >> 24);
  frame[1] = static_cast<uint8_t>(length >> 16);
  frame[2] = static_cast<uint8_t>(length >> 8);
  frame[3] = static_cast<uint8_t>(length);
}

uint32_t length_of(const Bytes& frame) {
  return (uint32_t{frame[0]} << 24) | (uint32_t{frame[1]} << 16) | (uint32_t{frame[2]} << 8) |
         uint32_t{frame[3]};
}

// Decodes a frame that must be refused; returns the reason after checking the status agrees.
FrameDrop refusal(ByteView frame) {
  auto drop = static_cast<FrameDrop>(0xff);  // not a reason: shows whether it was written
  auto decoded = decode_frame(frame, &drop);
  REQUIRE_FALSE(decoded.is_ok());
  CHECK(decoded.status().code() == StatusCode::kCorruption);
  CHECK(decoded.status().message().rfind("frame: ", 0) == 0);
  CHECK(static_cast<size_t>(drop) < kFrameDropReasons);
  return drop;
}

bool is_bucket(size_t size) {
  return std::find(kFrameBuckets.begin(), kFrameBuckets.end(), size) != kFrameBuckets.end();
}

}  // namespace

TEST_CASE("every body type survives a frame round trip with the protocol version set",
          "[net][wire]") {
  for (auto& [name, envelope] : one_of_each_body()) {
    INFO(name);
    REQUIRE(envelope.version() == 0);  // encode_frame sets it, the caller does not have to
    const Bytes frame = encoded(envelope);
    auto decoded = decode_frame(frame);
    INFO(decoded.status().message());
    REQUIRE(decoded.is_ok());
    CHECK(decoded->version() == kProtocolVersion);
    CHECK(decoded->body_case() == envelope.body_case());
    envelope.set_version(kProtocolVersion);
    CHECK(decoded->SerializeAsString() == envelope.SerializeAsString());
  }
}

TEST_CASE("a kept envelope refilled frame after frame frames as a fresh one would", "[net][wire]") {
  wire::Envelope kept;
  kept.set_version(kProtocolVersion);
  CHECK(frame_of(kept).status().code() == StatusCode::kInvalidArgument);  // no body yet
  wire::VoiceFrame* voice = kept.mutable_voice();
  voice->set_channel_id(std::string(16, 'c'));
  voice->set_transmission_id(std::string(16, 't'));
  for (uint32_t seq : {0u, 1u, 300u, 70000u}) {
    voice->set_seq(seq);
    voice->set_body(std::string(76, static_cast<char>('a' + seq % 26)));
    wire::Envelope fresh;
    *fresh.mutable_voice() = *voice;
    auto framed = frame_of(kept);
    REQUIRE(framed.is_ok());
    CHECK(framed.value() == encoded(fresh));
    CHECK(kept.version() == kProtocolVersion);
  }
}

TEST_CASE("an empty heartbeat is still a body", "[net][wire]") {
  wire::Envelope e;
  e.mutable_heartbeat();
  auto decoded = decode_frame(encoded(e));
  REQUIRE(decoded.is_ok());
  CHECK(decoded->has_heartbeat());
  CHECK(decoded->heartbeat().seq() == 0);
}

TEST_CASE("frame_bucket picks the smallest bucket that holds the length prefix and payload",
          "[net][wire]") {
  CHECK(frame_bucket(0) == 256);
  CHECK(frame_bucket(252) == 256);
  CHECK(frame_bucket(253) == 1024);
  CHECK(frame_bucket(1020) == 1024);
  CHECK(frame_bucket(1021) == 4096);
  CHECK(frame_bucket(65532) == 65536);
  CHECK(frame_bucket(65533) == 262144);
  CHECK(frame_bucket(kMaxFrameSize - 4) == kMaxFrameSize);
  CHECK(frame_bucket(kMaxFrameSize - 3) == 0);
  CHECK(frame_bucket(SIZE_MAX) == 0);
}

TEST_CASE("every frame size is a bucket and the frame is the payload's bucket", "[net][wire]") {
  std::set<size_t> sizes_seen;
  for (size_t body = 0; body < 270000; body += body < 2048 ? 1 : 997) {
    const wire::Envelope e = signal_envelope(body);
    const size_t payload = e.ByteSizeLong() + 2;  // + the version field encode_frame adds
    auto frame = encode_frame(e);
    if (payload + 4 > kMaxFrameSize) {
      CHECK_FALSE(frame.is_ok());
      continue;
    }
    REQUIRE(frame.is_ok());
    REQUIRE(is_bucket(frame->size()));
    REQUIRE(frame->size() == frame_bucket(payload));
    REQUIRE(length_of(frame.value()) == payload);
    sizes_seen.insert(frame->size());
  }
  CHECK(sizes_seen == std::set<size_t>(kFrameBuckets.begin(), kFrameBuckets.end()));
}

TEST_CASE("a 10-byte and a 200-byte text travel in frames of the same length", "[net][wire]") {
  // The SignalMessage body stands for the ciphertext that carries the text.
  const Bytes short_text = encoded(signal_envelope(10));
  const Bytes long_text = encoded(signal_envelope(200));
  CHECK(short_text.size() == 256);
  CHECK(long_text.size() == short_text.size());
  CHECK(length_of(short_text) != length_of(long_text));
}

TEST_CASE("a truncated frame is refused", "[net][wire]") {
  const Bytes frame = encoded(signal_envelope(900));
  REQUIRE(frame.size() == 1024);
  for (size_t size : {size_t{0}, size_t{3}, size_t{4}, size_t{255}, size_t{1023}}) {
    INFO("size " << size);
    CHECK(refusal(ByteView(frame).first(size)) == FrameDrop::kSize);
  }
  // Cut to a smaller bucket size: the length prefix now points past the end.
  CHECK(refusal(ByteView(frame).first(256)) == FrameDrop::kLength);
}

TEST_CASE("a frame whose size is not a bucket is refused even when the rest is valid",
          "[net][wire]") {
  Bytes frame = encoded(signal_envelope(10));
  frame.push_back(0);
  CHECK(refusal(frame) == FrameDrop::kSize);
  frame.resize(512, 0);
  CHECK(refusal(frame) == FrameDrop::kSize);
  CHECK(refusal(Bytes(kMaxFrameSize * 2, 0)) == FrameDrop::kSize);
}

TEST_CASE("a wrong length prefix is refused", "[net][wire]") {
  const Bytes good = encoded(signal_envelope(100));
  const uint32_t length = length_of(good);

  SECTION("beyond the frame") {
    for (uint32_t bad :
         {uint32_t{253}, uint32_t{256}, uint32_t{0xffffffff}, uint32_t{0x80000000}}) {
      Bytes frame = good;
      set_length(frame, bad);
      INFO("length " << bad);
      CHECK(refusal(frame) == FrameDrop::kLength);
    }
  }
  SECTION("one short: the last payload byte counts as padding") {
    Bytes frame = good;
    set_length(frame, length - 1);
    CHECK(refusal(frame) == FrameDrop::kPadding);
  }
  SECTION("one long: a zero padding byte is not a valid protobuf tag") {
    Bytes frame = good;
    set_length(frame, length + 1);
    CHECK(refusal(frame) == FrameDrop::kParse);
  }
  SECTION("exactly the frame: all of the padding is payload") {
    Bytes frame = good;
    set_length(frame, static_cast<uint32_t>(frame.size() - 4));
    CHECK(refusal(frame) == FrameDrop::kParse);
  }
}

TEST_CASE("non-zero padding is refused wherever it is", "[net][wire]") {
  const Bytes good = encoded(signal_envelope(100));
  const size_t padding_start = 4 + length_of(good);
  REQUIRE(padding_start < good.size());
  for (size_t at : {padding_start, (padding_start + good.size()) / 2, good.size() - 1}) {
    Bytes frame = good;
    frame[at] = 0x01;
    INFO("at " << at);
    CHECK(refusal(frame) == FrameDrop::kPadding);
  }
}

TEST_CASE("an envelope without the current protocol version is refused", "[net][wire]") {
  wire::Envelope e = signal_envelope(20);

  e.clear_version();
  CHECK(refusal(raw_frame(e)) == FrameDrop::kNoVersion);
  e.set_version(2);
  CHECK(refusal(raw_frame(e)) == FrameDrop::kVersion);
  e.set_version(0xffffffff);
  CHECK(refusal(raw_frame(e)) == FrameDrop::kVersion);
  e.set_version(kProtocolVersion);
  CHECK(decode_frame(raw_frame(e)).is_ok());

  // An empty payload is a valid protobuf with nothing set, so it fails on the missing version.
  Bytes empty(256, 0);
  CHECK(refusal(empty) == FrameDrop::kNoVersion);
}

TEST_CASE("an envelope without a body is refused, and encode_frame will not make one",
          "[net][wire]") {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  CHECK(refusal(raw_frame(e)) == FrameDrop::kNoBody);

  auto frame = encode_frame(wire::Envelope());
  REQUIRE_FALSE(frame.is_ok());
  CHECK(frame.status().code() == StatusCode::kInvalidArgument);

  // A body type from a later version (field 30, unassigned) is an unknown field here: no body
  // either.
  Bytes future = raw_frame(e);
  const uint8_t field30[] = {0xf2, 0x01, 0x02, 0x08, 0x01};  // tag 30, length 2, {field 1 = 1}
  const size_t at = 4 + length_of(future);
  std::copy(std::begin(field30), std::end(field30), future.begin() + static_cast<ptrdiff_t>(at));
  set_length(future, static_cast<uint32_t>(at - 4 + sizeof field30));
  CHECK(refusal(future) == FrameDrop::kNoBody);
}

// Counts what libprotobuf would have written to stderr.
int protobuf_log_lines = 0;
void count_protobuf_log(google::protobuf::LogLevel, const char*, int, const std::string&) {
  ++protobuf_log_lines;
}

TEST_CASE("a hello whose name is not UTF-8 is refused without libprotobuf writing to stderr",
          "[net][wire]") {
  wire::Envelope e;
  e.set_version(kProtocolVersion);
  e.mutable_hello()->set_name("ok");
  Bytes frame = raw_frame(e);
  const auto at = std::search(frame.begin(), frame.end(), std::begin("ok"), std::end("ok") - 1);
  REQUIRE(at != frame.end());
  at[0] = 0xff;  // never valid in UTF-8
  at[1] = 0xfe;

  protobuf_log_lines = 0;
  auto* previous = google::protobuf::SetLogHandler(&count_protobuf_log);
  const FrameDrop drop = refusal(frame);
  google::protobuf::SetLogHandler(previous);
  CHECK(drop == FrameDrop::kParse);
  CHECK(protobuf_log_lines == 0);
}

TEST_CASE("random garbage is refused without a crash", "[net][wire]") {
  std::mt19937 rng(20261123);
  std::uniform_int_distribution<int> byte(0, 255);
  std::set<FrameDrop> reasons;
  for (int i = 0; i < 2000; ++i) {
    const size_t size = kFrameBuckets[static_cast<size_t>(i) % 3];
    Bytes frame(size);
    for (auto& b : frame) b = static_cast<uint8_t>(byte(rng));
    // Half the time, a plausible prefix and zero padding, so the garbage reaches the parser.
    if (i % 2 == 0) {
      const size_t length = static_cast<size_t>(byte(rng)) % (size - 4);
      set_length(frame, static_cast<uint32_t>(length));
      std::fill(frame.begin() + static_cast<ptrdiff_t>(4 + length), frame.end(), uint8_t{0});
    }
    reasons.insert(refusal(frame));
  }
  CHECK(reasons.count(FrameDrop::kLength) == 1);
  CHECK(reasons.count(FrameDrop::kParse) == 1);
}

TEST_CASE("an envelope too large for the biggest frame is refused at both ends", "[net][wire]") {
  // The boundary case must fit: shrink the body until the frame is exactly kMaxFrameSize
  // (+ 2 for the version field encode_frame adds, + 4 for the length prefix).
  wire::Envelope largest;
  size_t body = kMaxFrameSize - 4;
  largest.mutable_voice()->set_body(filled(body, 'v'));
  while (largest.ByteSizeLong() + 2 + 4 > kMaxFrameSize) {
    largest.mutable_voice()->set_body(filled(--body, 'v'));
  }
  auto fits = encode_frame(largest);
  INFO(fits.status().message());
  REQUIRE(fits.is_ok());
  CHECK(fits->size() == kMaxFrameSize);
  CHECK(decode_frame(fits.value()).is_ok());

  wire::Envelope too_big;
  too_big.mutable_voice()->set_body(filled(kMaxFrameSize, 'v'));
  auto refused = encode_frame(too_big);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);

  // A frame one bucket beyond the limit, built by hand, is refused by size.
  const std::string payload = too_big.SerializeAsString();
  Bytes frame(kMaxFrameSize * 4, 0);
  set_length(frame, static_cast<uint32_t>(payload.size()));
  std::copy(payload.begin(), payload.end(), frame.begin() + 4);
  CHECK(refusal(frame) == FrameDrop::kSize);
}

TEST_CASE("every frame drop reason has its own name", "[net][wire]") {
  std::set<std::string> names;
  for (size_t i = 0; i < kFrameDropReasons; ++i) {
    names.insert(std::string(frame_drop_name(static_cast<FrameDrop>(i))));
  }
  CHECK(names.size() == kFrameDropReasons);
  CHECK(names.count("unknown") == 0);
}

TEST_CASE("a frame kept without its padding comes back as the same frame", "[net][wire]") {
  for (size_t body : {size_t{0}, size_t{10}, size_t{900}, size_t{5000}, size_t{31000},
                      size_t{70000}, size_t{200000}}) {
    INFO("body " << body);
    const Bytes frame = encoded(signal_envelope(body));
    const ByteView kept = frame_without_padding(frame);
    CHECK(kept.size() == length_of(frame) + kFrameHeaderSize);
    auto again = frame_with_padding(kept);
    REQUIRE(again.is_ok());
    CHECK(again.value() == frame);
    // A frame stored with its padding (an earlier version) comes back unchanged.
    auto padded = frame_with_padding(frame);
    REQUIRE(padded.is_ok());
    CHECK(padded.value() == frame);
  }
  // What a clip costs at rest: its ~71 KB Envelope, not the 256 KiB bucket it travels in.
  const Bytes clip = encoded(signal_envelope(70 * 1024));
  CHECK(clip.size() == kMaxFrameSize);
  CHECK(frame_without_padding(clip).size() < 72 * 1024);
}

TEST_CASE("a stored frame shorter than its length prefix, or too large, is refused",
          "[net][wire]") {
  const Bytes frame = encoded(signal_envelope(900));
  const ByteView kept = frame_without_padding(frame);
  CHECK(frame_with_padding(kept.first(kept.size() - 1)).status().code() == StatusCode::kCorruption);
  CHECK(frame_with_padding(ByteView(frame).first(3)).status().code() == StatusCode::kCorruption);
  CHECK(frame_with_padding(ByteView()).status().code() == StatusCode::kCorruption);
  Bytes huge(kMaxFrameSize + 8, 0);
  const size_t length = kMaxFrameSize;  // one bucket's worth more than any frame holds
  huge[0] = static_cast<uint8_t>(length >> 24);
  huge[1] = static_cast<uint8_t>(length >> 16);
  huge[2] = static_cast<uint8_t>(length >> 8);
  huge[3] = static_cast<uint8_t>(length);
  CHECK(frame_with_padding(huge).status().code() == StatusCode::kCorruption);
  // Too short to hold a length: kept whole, and refused when read back.
  CHECK(frame_without_padding(ByteView(frame).first(2)).size() == 2);
}
