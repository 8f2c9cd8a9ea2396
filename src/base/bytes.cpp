#include "sotto/base/bytes.h"

#include <array>

namespace sotto {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string to_hex(ByteView data) {
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0f]);
  }
  return out;
}

std::optional<Bytes> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]);
    int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string to_z85(ByteView data) {
  std::string out;
  out.reserve(data.size() * 5 / 4);
  for (size_t i = 0; i + 4 <= data.size(); i += 4) {
    uint32_t value = uint32_t{data[i]} << 24 | uint32_t{data[i + 1]} << 16 |
                     uint32_t{data[i + 2]} << 8 | uint32_t{data[i + 3]};
    std::array<char, 5> chunk{};
    for (int j = 4; j >= 0; --j) {
      chunk[j] = kZ85Alphabet[value % 85];
      value /= 85;
    }
    out.append(chunk.data(), chunk.size());
  }
  return out;
}

std::optional<Bytes> from_z85(std::string_view text) {
  if (text.size() % 5 != 0) return std::nullopt;
  Bytes out;
  out.reserve(text.size() * 4 / 5);
  for (size_t i = 0; i < text.size(); i += 5) {
    uint64_t value = 0;
    for (size_t j = 0; j < 5; ++j) {
      size_t digit = kZ85Alphabet.find(text[i + j]);
      if (digit == std::string_view::npos) return std::nullopt;
      value = value * 85 + digit;
    }
    if (value > 0xffffffffu) return std::nullopt;
    out.push_back(static_cast<uint8_t>(value >> 24));
    out.push_back(static_cast<uint8_t>(value >> 16));
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value));
  }
  return out;
}

bool equal_constant_time(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | (a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace sotto
