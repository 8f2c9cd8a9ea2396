// UTF-8 one code point at a time, for code that looks at what a text holds: the TUI's grapheme
// clusters, display_text's neutralising. A decoder that meets a bad byte returns U+FFFD and
// moves one byte on, so a reader always makes progress and never stops on hostile input.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sotto {

constexpr char32_t kReplacementCharacter = 0xFFFD;

// Decodes the code point at `text[pos]` and advances `pos` past it. Overlong forms, surrogates,
// values past U+10FFFF and truncated sequences are invalid: U+FFFD, and `pos` moves one byte.
// REQUIRES: pos < text.size().
char32_t decode_utf8(std::string_view text, size_t& pos);
// REQUIRES: `code_point` is a Unicode scalar value (not a surrogate, at most U+10FFFF).
void append_utf8(std::string& out, char32_t code_point);

}  // namespace sotto
