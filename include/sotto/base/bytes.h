// Byte strings and their text encodings (hex, Z85).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sotto {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string to_hex(ByteView data);
// nullopt when the text is not an even-length run of hex digits.
std::optional<Bytes> from_hex(std::string_view text);

// Z85 (ZeroMQ RFC 32), the text form of CurveZMQ keys. REQUIRES: data.size() % 4 == 0.
std::string to_z85(ByteView data);
// nullopt when the length is not a multiple of 5 or a character is outside the alphabet.
std::optional<Bytes> from_z85(std::string_view text);

// Constant-time comparison of two equally long byte strings; false when lengths differ.
bool equal_constant_time(ByteView a, ByteView b);

// Little-endian writers, for file formats such as WAV.
inline void append_le16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
inline void append_le32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
// Big-endian writers, for what is signed (a fixed layout both ends rebuild).
inline void append_be32(Bytes& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void append_be64(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
// The four bytes of a chunk tag such as "RIFF".
inline void append_tag(Bytes& out, const char* tag) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(tag[i]));
}

}  // namespace sotto
