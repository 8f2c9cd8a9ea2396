#include <algorithm>
#include <catch2/catch.hpp>

#include "src/net/content.h"

using namespace sotto;

namespace {

wire::Content text_content(const std::string& body) {
  wire::Content content;
  content.mutable_text()->set_id(std::string(16, 'i'));
  content.mutable_text()->set_sent_at(1);
  content.mutable_text()->set_body(body);
  return content;
}

}  // namespace

TEST_CASE("content is padded to a bucket so a short and a longer text look alike",
          "[net][content]") {
  auto short_text = net::encode_content(text_content("hi"));
  auto longer_text = net::encode_content(text_content(std::string(100, 'x')));
  REQUIRE(short_text.is_ok());
  REQUIRE(longer_text.is_ok());
  CHECK(short_text.value().size() == longer_text.value().size());
  for (size_t size : {1, 10, 100, 140, 400, 2000, 10000, 60000, 65536}) {
    auto encoded = net::encode_content(text_content(std::string(size, 'y')));
    REQUIRE(encoded.is_ok());
    INFO(size);
    CHECK(std::find(net::kContentBuckets.begin(), net::kContentBuckets.end(),
                    encoded.value().size()) != net::kContentBuckets.end());
    auto decoded = net::decode_content(encoded.value());
    REQUIRE(decoded.is_ok());
    CHECK(decoded.value().text().body() == std::string(size, 'y'));
  }
}

// Found by fuzz_content: a text whose padding needed a length of exactly 128 came out 161 bytes,
// one past its bucket (the length varint grows a byte there), which tells the text's length.
// Every size up to the 16 KiB bucket, and those around a padding of 16384 in the 70 KiB one.
TEST_CASE("content of every size is padded to exactly one bucket", "[net][content]") {
  std::vector<size_t> sizes;
  for (size_t body = 1; body <= 17'000; ++body) sizes.push_back(body);
  for (size_t body = 55'000; body <= 56'000; ++body) sizes.push_back(body);
  for (size_t body : sizes) {
    auto encoded = net::encode_content(text_content(std::string(body, 'x')));
    REQUIRE(encoded.is_ok());
    INFO("body of " << body << " bytes: " << encoded.value().size() << " bytes padded");
    REQUIRE(std::find(net::kContentBuckets.begin(), net::kContentBuckets.end(),
                      encoded.value().size()) != net::kContentBuckets.end());
  }
}

TEST_CASE("content that a peer could get wrong is refused", "[net][content]") {
  auto bad = [](wire::Content content) {
    Bytes raw(content.ByteSizeLong());
    content.SerializeToArray(raw.data(), static_cast<int>(raw.size()));
    return net::decode_content(raw).is_ok();
  };
  CHECK_FALSE(bad(wire::Content()));  // no body
  auto short_id = text_content("x");
  short_id.mutable_text()->set_id("short");
  CHECK_FALSE(bad(short_id));
  CHECK_FALSE(bad(text_content("")));  // empty text
  CHECK_FALSE(bad(text_content(std::string(64 * 1024 + 1, 'z'))));
  CHECK_FALSE(net::decode_content(Bytes{0xff, 0xff, 0xff}).is_ok());
  CHECK_FALSE(net::decode_content(Bytes(80 * 1024, 0)).is_ok());
  CHECK(bad(text_content("fine")));
}

TEST_CASE("UTF-8 validation refuses overlongs, surrogates and truncated sequences",
          "[net][content]") {
  CHECK(net::is_valid_utf8("plain ascii"));
  CHECK(net::is_valid_utf8("Zoë, Ødegård, 日本語, 🎙"));
  CHECK_FALSE(net::is_valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(net::is_valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  CHECK_FALSE(net::is_valid_utf8("\xe6\x97"));          // truncated
  CHECK_FALSE(net::is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(net::is_valid_utf8("\xff"));
  CHECK_FALSE(net::is_valid_utf8("ok\x80"));
}
