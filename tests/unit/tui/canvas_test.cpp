// The canvas windows draw into: UTF-8 clusters, wide characters, clipping, reading it back.
#include "tui/canvas.h"

#include <catch2/catch.hpp>

#include "tui/utf8.h"

using namespace sotto::tui;

TEST_CASE("text written on the canvas reads back row by row, trailing spaces trimmed", "[tui]") {
  Canvas canvas(10, 3);
  CHECK(canvas.put(1, 1, "hello") == 5);
  CHECK(canvas.row_text(0).empty());
  CHECK(canvas.row_text(1) == " hello");
  CHECK(canvas.text() == "\n hello\n");
  CHECK(canvas.contains("ell"));
}

TEST_CASE("text is clipped at the edge and at max_columns", "[tui]") {
  Canvas canvas(6, 1);
  CHECK(canvas.put(3, 0, "abcdef") == 3);
  CHECK(canvas.row_text(0) == "   abc");
  Canvas limited(10, 1);
  CHECK(limited.put(0, 0, "abcdef", {}, 2) == 2);
  CHECK(limited.row_text(0) == "ab");
  CHECK(limited.put(0, 5, "x") == 0);  // below the canvas: nothing
}

TEST_CASE("a cell holds a whole grapheme cluster and wide clusters take two cells", "[tui]") {
  Canvas canvas(8, 1);
  // e + combining acute accent is one cluster; 界 is two columns wide.
  CHECK(canvas.put(0, 0, "e\xCC\x81界!") == 4);
  CHECK(canvas.at(0, 0).glyph == "e\xCC\x81");
  CHECK(canvas.at(1, 0).glyph == "界");
  CHECK(canvas.at(2, 0).continuation);
  CHECK(canvas.at(3, 0).glyph == "!");
  CHECK(canvas.row_text(0) == "e\xCC\x81界!");
}

TEST_CASE("a wide cluster that does not fit becomes a blank, never half a glyph", "[tui]") {
  Canvas canvas(3, 1);
  CHECK(canvas.put(0, 0, "ab界") == 3);
  CHECK(canvas.row_text(0) == "ab");
  CHECK_FALSE(canvas.at(2, 0).continuation);
}

TEST_CASE("overwriting half of a wide cluster blanks the other half", "[tui]") {
  Canvas canvas(4, 1);
  canvas.put(0, 0, "界界");
  canvas.put(1, 0, "x");
  CHECK(canvas.row_text(0) == " x界");
  CHECK_FALSE(canvas.at(1, 0).continuation);
}

TEST_CASE("control characters and invalid UTF-8 never reach the terminal", "[tui]") {
  Canvas canvas(7, 1);
  CHECK(canvas.put(0, 0, std::string("a\x1b[2Jb\u009B")) == 7);
  CHECK(canvas.row_text(0) == "a␛[2Jb\uFFFD");
  Canvas bidi(8, 1);
  CHECK(bidi.put(0, 0, "ab\u202E\u200Fcd\ne") == 8);  // each stand-in takes the column counted
  CHECK(bidi.row_text(0) == "ab\uFFFD\uFFFDcd↵e");
  Canvas bad(4, 1);
  bad.put(0, 0, std::string("\xff\xc3"));
  CHECK(bad.row_text(0) == "\xEF\xBF\xBD\xEF\xBF\xBD");  // two U+FFFD
}

TEST_CASE("fill and restyle change styles; the cursor is remembered", "[tui]") {
  Canvas canvas(4, 2);
  canvas.put(0, 0, "ab");
  canvas.restyle({0, 0, 4, 1}, Style{Style::kReverse});
  CHECK(canvas.at(0, 0).glyph == "a");
  CHECK(canvas.at(0, 0).style.attrs == Style::kReverse);
  canvas.fill({0, 0, 1, 1});
  CHECK(canvas.row_text(0) == " b");
  CHECK_FALSE(canvas.cursor());
  canvas.set_cursor(2, 1);
  CHECK(canvas.cursor()->x == 2);
}

TEST_CASE("display widths and wrapping count columns, not bytes", "[tui]") {
  CHECK(text_width("abc") == 3);
  CHECK(text_width("●○✔") == 3);
  CHECK(text_width("日本") == 4);
  CHECK(text_width("e\xCC\x81") == 1);
  CHECK(text_width("a\u200Fb\x1b") == 4);     // as display_text shows them: one column each
  CHECK(graphemes("👩\u200d💻x").size() == 2);  // a ZWJ sequence is one cluster
  CHECK(fit_width("日本語", 5) == "日本");
  CHECK(wrap("the quick brown fox", 10) == std::vector<std::string>{"the quick", "brown fox"});
  CHECK(wrap("abcdefghij", 4) == std::vector<std::string>{"abcd", "efgh", "ij"});
  CHECK(wrap("", 4) == std::vector<std::string>{""});
}
