// UTF-8 text as a terminal shows it: grapheme clusters (a base character with the combining
// marks, variation selectors and zero-width joins that follow it) and their column widths.
//
// A deliberately small approximation of Unicode's rules (UAX #29, East Asian Width) that needs no
// locale: enough for names, messages and the UI's own symbols. Invalid bytes become U+FFFD.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/utf8.h"

namespace sotto::tui {

// Columns one code point takes: 0 (combining, joiner), 1, or 2 (wide). A control, bidi control or
// invisible format character takes the 1 column of what display_text shows for it.
int code_point_width(char32_t code_point);

// The text split into grapheme clusters, each valid UTF-8.
std::vector<std::string> graphemes(std::string_view text);
// Columns a cluster takes (its first code point's width; a lone combining mark shows as 1).
int grapheme_width(std::string_view grapheme);
int text_width(std::string_view text);
// The longest prefix of whole clusters that fits in `columns`.
std::string fit_width(std::string_view text, int columns);
// Cuts `text` into lines of at most `columns`, at spaces when possible.
std::vector<std::string> wrap(std::string_view text, int columns);

}  // namespace sotto::tui
