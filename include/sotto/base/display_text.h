// Text that someone else chose — a peer's message, its display name, a channel's or a member's
// name from a roster — made safe to write to a terminal.
//
// A terminal obeys some characters instead of drawing them. ESC opens CSI and OSC sequences that
// move the cursor, erase lines, recolour, hide text or set the window title; CR and BS move the
// cursor back over what was drawn; the C1 controls U+0080–U+009F do what ESC sequences do on
// terminals that honour them (U+009B is an 8-bit CSI, U+0085 a new line); Unicode's bidi
// controls reorder what follows them; a line feed starts a line that looks like one of ours.
// Printed raw, a peer's text could erase the line it is on and draw a "✔ verified" one instead.
//
// display_text() shows every such code point as one visible glyph of one column, so the user
// sees that something was there and a layout measured on the result stays true:
//
//   C0 controls U+0000–U+001F    the Control Pictures U+2400–U+241F: ␛ ESC, ␍ CR, ␈ BS, ␉ TAB
//   DEL U+007F                   ␡ (U+2421)
//   a line feed (CR LF too)      ↵ (U+21B5), unless LineBreaks::kKeep
//   C1 controls U+0080–U+009F; bidi embeddings, overrides, isolates and marks U+202A–U+202E,
//   U+2066–U+2069, U+200E, U+200F, U+061C; the line and paragraph separators U+2028, U+2029;
//   format characters that draw nothing yet hide or split a word: U+00AD, U+200B,
//   U+2060–U+2064, U+206A–U+206F, U+FEFF, U+FFF9–U+FFFB
//                                � (U+FFFD)
//   bytes that are not UTF-8     �, one per byte
//
// Everything else passes unchanged: every script, emoji with their ZWJ sequences and variation
// selectors, ZWNJ, combining marks. The result is valid UTF-8 and display_text of it is itself.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace sotto {

// What becomes of a line feed in the text.
enum class LineBreaks {
  // "↵": the text stays on one line. For a record of line-based output (the CLI's listings, whose
  // every line starts a record) and for anything that is never more than one line (names).
  kEscape,
  // Left as '\n' for a caller that lays the lines out itself and indents every line after the
  // first, so that none starts where a record does (the TUI's conversation view).
  kKeep,
};

std::string display_text(std::string_view text, LineBreaks breaks = LineBreaks::kEscape);

// True for the code points display_text() never shows as themselves (the table above, the line
// feed included): what an encoder of other text for a terminal (JSON's \u escapes) must escape.
bool is_display_control(char32_t code_point);

}  // namespace sotto
