#include "tui/utf8.h"

#include <algorithm>
#include <array>
#include <utility>

#include "sotto/base/display_text.h"

namespace sotto::tui {
namespace {

struct Range {
  char32_t first;
  char32_t last;
};

// Combining marks and other code points drawn on the previous cluster (width 0).
constexpr std::array<Range, 12> kZeroWidth{{{0x0300, 0x036F},
                                            {0x0483, 0x0489},
                                            {0x0591, 0x05BD},
                                            {0x0610, 0x061A},
                                            {0x064B, 0x065F},
                                            {0x1AB0, 0x1AFF},
                                            {0x1DC0, 0x1DFF},
                                            {0x200C, 0x200D},
                                            {0x20D0, 0x20FF},
                                            {0xFE00, 0xFE0F},
                                            {0xFE20, 0xFE2F},
                                            {0xE0100, 0xE01EF}}};

// East Asian wide and fullwidth blocks, and the emoji planes terminals draw two columns wide.
constexpr std::array<Range, 13> kWide{{{0x1100, 0x115F},
                                       {0x231A, 0x231B},
                                       {0x2E80, 0x303E},
                                       {0x3041, 0x33FF},
                                       {0x3400, 0x4DBF},
                                       {0x4E00, 0x9FFF},
                                       {0xA000, 0xA4CF},
                                       {0xAC00, 0xD7A3},
                                       {0xF900, 0xFAFF},
                                       {0xFE30, 0xFE4F},
                                       {0xFF00, 0xFF60},
                                       {0xFFE0, 0xFFE6},
                                       {0x1F300, 0x3FFFD}}};

template <size_t N>
bool in(const std::array<Range, N>& ranges, char32_t c) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [c](const Range& r) { return c >= r.first && c <= r.last; });
}

constexpr char32_t kZeroWidthJoiner = 0x200D;

bool extends_cluster(char32_t c) {
  return c == kZeroWidthJoiner || (c >= 0x300 && code_point_width(c) == 0);
}

}  // namespace

int code_point_width(char32_t c) {
  // Shown by a one-column stand-in (display_text), so a layout measured on the raw text holds
  // on the screen: a peer cannot push its text past a clip with characters that count as none.
  if (is_display_control(c)) return 1;
  if (c == kZeroWidthJoiner) return 0;
  if (in(kZeroWidth, c)) return 0;
  if (in(kWide, c)) return 2;
  return 1;
}

std::vector<std::string> graphemes(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  bool joined = false;  // the previous code point was a zero-width joiner
  while (pos < text.size()) {
    const char32_t c = decode_utf8(text, pos);
    // What display_text replaces stands alone even after a joiner: its stand-in is a glyph.
    if (!out.empty() && ((joined && !is_display_control(c)) || extends_cluster(c))) {
      append_utf8(out.back(), c);
    } else {
      out.emplace_back();
      append_utf8(out.back(), c);
    }
    joined = c == kZeroWidthJoiner;
  }
  return out;
}

int grapheme_width(std::string_view grapheme) {
  if (grapheme.empty()) return 0;
  size_t pos = 0;
  const char32_t first = decode_utf8(grapheme, pos);
  const int width = code_point_width(first);
  return width == 0 ? 1 : width;  // a lone mark still takes a cell (shown as is)
}

int text_width(std::string_view text) {
  int width = 0;
  for (const std::string& g : graphemes(text)) width += grapheme_width(g);
  return width;
}

std::string fit_width(std::string_view text, int columns) {
  std::string out;
  int used = 0;
  for (const std::string& g : graphemes(text)) {
    const int w = grapheme_width(g);
    if (used + w > columns) break;
    out += g;
    used += w;
  }
  return out;
}

std::vector<std::string> wrap(std::string_view text, int columns) {
  std::vector<std::string> lines;
  if (columns <= 0) return lines;
  std::string line;
  int line_width = 0;
  size_t last_space = std::string::npos;  // byte offset in `line` just after the last space
  int width_at_space = 0;
  for (const std::string& g : graphemes(text)) {
    if (g == "\n") {
      lines.push_back(std::move(line));
      line.clear();
      line_width = 0;
      last_space = std::string::npos;
      continue;
    }
    const int w = grapheme_width(g);
    if (line_width + w > columns) {
      if (last_space != std::string::npos && g != " ") {
        lines.push_back(line.substr(0, last_space - 1));
        line = line.substr(last_space);
        line_width -= width_at_space;
      } else {
        lines.push_back(std::move(line));
        line.clear();
        line_width = 0;
      }
      last_space = std::string::npos;
      if (g == " ") continue;  // a space at a break disappears
    }
    line += g;
    line_width += w;
    if (g == " ") {
      last_space = line.size();
      width_at_space = line_width;
    }
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace sotto::tui
