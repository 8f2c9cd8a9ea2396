#include "sotto/base/display_text.h"

#include <algorithm>
#include <array>

#include "sotto/base/utf8.h"

namespace sotto {
namespace {

constexpr char32_t kControlPictures = 0x2400;  // U+2400 + c pictures the C0 control c
constexpr char32_t kDeletePicture = 0x2421;
constexpr char32_t kLineBreakSign = 0x21B5;

struct Range {
  char32_t first;
  char32_t last;
};

// Drawn as nothing, yet each one controls, reorders, hides or splits the text around it.
constexpr std::array<Range, 10> kInvisible{{{0x0080, 0x009F},
                                            {0x00AD, 0x00AD},
                                            {0x061C, 0x061C},
                                            {0x200B, 0x200B},
                                            {0x200E, 0x200F},
                                            {0x2028, 0x202E},
                                            {0x2060, 0x2064},
                                            {0x2066, 0x206F},
                                            {0xFEFF, 0xFEFF},
                                            {0xFFF9, 0xFFFB}}};

}  // namespace

bool is_display_control(char32_t c) {
  return c < 0x20 || c == 0x7F || std::any_of(kInvisible.begin(), kInvisible.end(), [c](Range r) {
           return c >= r.first && c <= r.last;
         });
}

std::string display_text(std::string_view text, LineBreaks breaks) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte >= 0x20 && byte < 0x7F) {
      out += static_cast<char>(byte);
      ++pos;
      continue;
    }
    // CR LF is one line break, not a stray CR before one.
    if (byte == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') {
      ++pos;
      continue;
    }
    const char32_t c = decode_utf8(text, pos);
    if (c == '\n') {
      if (breaks == LineBreaks::kKeep) {
        out += '\n';
      } else {
        append_utf8(out, kLineBreakSign);
      }
    } else if (c < 0x20) {
      append_utf8(out, kControlPictures + c);
    } else if (c == 0x7F) {
      append_utf8(out, kDeletePicture);
    } else {
      append_utf8(out, is_display_control(c) ? kReplacementCharacter : c);
    }
  }
  return out;
}

}  // namespace sotto
