// voice/ogg_opus.h: the pages of an Ogg Opus stream read back with libogg's own parser.
#include <ogg/ogg.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "sotto/voice/ogg_opus.h"
#include "sotto/voice/opus_codec.h"

using namespace sotto;
using namespace sotto::voice;

namespace {

struct Page {
  Bytes body;
  int64_t granule = 0;
  bool first = false;
  bool last = false;
  int packets = 0;
  uint32_t serial = 0;
};

std::vector<Page> pages_of(const Bytes& stream) {
  ogg_sync_state sync;
  ogg_sync_init(&sync);
  char* buffer = ogg_sync_buffer(&sync, static_cast<long>(stream.size()));
  std::memcpy(buffer, stream.data(), stream.size());
  ogg_sync_wrote(&sync, static_cast<long>(stream.size()));
  std::vector<Page> pages;
  ogg_page page;
  while (ogg_sync_pageout(&sync, &page) == 1) {
    Page p;
    p.body.assign(page.body, page.body + page.body_len);
    p.granule = ogg_page_granulepos(&page);
    p.first = ogg_page_bos(&page) != 0;
    p.last = ogg_page_eos(&page) != 0;
    p.packets = ogg_page_packets(&page);
    p.serial = static_cast<uint32_t>(ogg_page_serialno(&page));
    pages.push_back(std::move(p));
  }
  ogg_sync_clear(&sync);
  return pages;
}

uint32_t le(const Bytes& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | b[at + static_cast<size_t>(i)];
  return v;
}

std::vector<Bytes> encoded_tone(int frames, int frame_ms) {
  auto encoder = OpusEncoder::create({frame_ms, kDefaultBitrateBps});
  REQUIRE(encoder.is_ok());
  std::vector<Bytes> packets;
  std::vector<int16_t> pcm(static_cast<size_t>(encoder.value().frame_samples()));
  for (int f = 0; f < frames; ++f) {
    for (size_t i = 0; i < pcm.size(); ++i) {
      pcm[i] =
          static_cast<int16_t>(8000 * std::sin(0.05 * static_cast<double>(i + f * pcm.size())));
    }
    auto packet = encoder.value().encode(pcm);
    REQUIRE(packet.is_ok());
    packets.push_back(packet.value());
  }
  return packets;
}

OggOpusStream mono_stream() {
  OggOpusStream stream;
  stream.serial = 0x5077'0001;
  stream.pre_skip = 312;
  stream.vendor = "sotto test";
  stream.tags = {"ARTIST=alice", "SOTTO_CHANNEL=#ops"};
  return stream;
}

}  // namespace

TEST_CASE("an Ogg Opus stream: OpusHead, OpusTags, then the packets with 48 kHz granules",
          "[voice][ogg]") {
  const int frame_ms = GENERATE(10, 20);
  const int frames = 300;  // several audio pages
  const std::vector<Bytes> packets = encoded_tone(frames, frame_ms);
  auto encoded = encode_ogg_opus(mono_stream(), packets);
  REQUIRE(encoded.is_ok());
  const std::vector<Page> pages = pages_of(encoded.value());
  REQUIRE(pages.size() >= 4);

  // OpusHead alone on the first page, which begins the stream.
  const Page& head = pages[0];
  CHECK(head.first);
  CHECK(head.packets == 1);
  CHECK(head.granule == 0);
  REQUIRE(head.body.size() == 19);
  CHECK(std::string(head.body.begin(), head.body.begin() + 8) == "OpusHead");
  CHECK(head.body[8] == 1);               // version
  CHECK(head.body[9] == 1);               // mono
  CHECK(le(head.body, 10, 2) == 312);     // pre-skip
  CHECK(le(head.body, 12, 4) == 48'000);  // input rate
  CHECK(le(head.body, 16, 2) == 0);       // output gain
  CHECK(head.body[18] == 0);              // mapping family

  // OpusTags alone on the second.
  const Page& tags = pages[1];
  CHECK_FALSE(tags.first);
  CHECK(tags.packets == 1);
  CHECK(tags.granule == 0);
  CHECK(std::string(tags.body.begin(), tags.body.begin() + 8) == "OpusTags");
  CHECK(le(tags.body, 8, 4) == std::string("sotto test").size());
  const std::string tag_text(tags.body.begin(), tags.body.end());
  CHECK(tag_text.find("ARTIST=alice") != std::string::npos);
  CHECK(tag_text.find("SOTTO_CHANNEL=#ops") != std::string::npos);
  CHECK(le(tags.body, 12 + 10, 4) == 2);  // comment count

  // Audio: granules rise by whole packets; the last page ends the stream at every sample.
  int64_t previous = 0;
  int audio_packets = 0;
  for (size_t i = 2; i < pages.size(); ++i) {
    INFO("page " << i);
    CHECK(pages[i].serial == 0x5077'0001);
    CHECK_FALSE(pages[i].first);
    CHECK(pages[i].last == (i + 1 == pages.size()));
    CHECK(pages[i].granule > previous);
    CHECK(pages[i].granule % (48 * frame_ms) == 0);
    previous = pages[i].granule;
    audio_packets += pages[i].packets;
  }
  CHECK(audio_packets == frames);
  CHECK(pages.back().granule == int64_t{frames} * 48 * frame_ms);
}

TEST_CASE("the same packets give the same Ogg Opus bytes", "[voice][ogg]") {
  const std::vector<Bytes> packets = encoded_tone(20, 20);
  auto one = encode_ogg_opus(mono_stream(), packets);
  auto two = encode_ogg_opus(mono_stream(), packets);
  REQUIRE(one.is_ok());
  REQUIRE(two.is_ok());
  CHECK(one.value() == two.value());
}

TEST_CASE("Ogg Opus refuses no packets, bad tags, odd channels and packets that are not Opus",
          "[voice][ogg]") {
  const std::vector<Bytes> packets = encoded_tone(5, 20);
  CHECK(encode_ogg_opus(mono_stream(), {}).status().code() == StatusCode::kInvalidArgument);

  OggOpusStream no_name = mono_stream();
  no_name.tags.push_back("=value");
  CHECK(encode_ogg_opus(no_name, packets).status().code() == StatusCode::kInvalidArgument);
  OggOpusStream no_equals = mono_stream();
  no_equals.tags.push_back("ARTIST");
  CHECK(encode_ogg_opus(no_equals, packets).status().code() == StatusCode::kInvalidArgument);

  OggOpusStream three = mono_stream();
  three.channels = 3;
  CHECK(encode_ogg_opus(three, packets).status().code() == StatusCode::kInvalidArgument);

  OggOpusStream long_skip = mono_stream();
  long_skip.pre_skip = 5 * 960 + 1;
  CHECK(encode_ogg_opus(long_skip, packets).status().code() == StatusCode::kInvalidArgument);

  std::vector<Bytes> damaged = packets;
  damaged[2] = Bytes{0x03};  // code 3 (arbitrary frame count) without its count byte
  CHECK(encode_ogg_opus(mono_stream(), damaged).status().code() == StatusCode::kCorruption);
  damaged[2] = Bytes{};
  CHECK(encode_ogg_opus(mono_stream(), damaged).status().code() == StatusCode::kCorruption);
}
