// The input line: editing by grapheme cluster, history, the visible window, hidden passphrases.
#include "tui/input_line.h"

#include <catch2/catch.hpp>

using namespace sotto::tui;

TEST_CASE("the caret moves and deletes by grapheme cluster, not by byte", "[tui]") {
  InputLine line;
  line.insert("né");         // é precomposed: 2 bytes
  line.insert("e\xCC\x81");  // e + combining accent: one cluster, 3 bytes
  CHECK(line.length() == 3);
  CHECK(line.cursor() == 3);
  line.backspace();
  CHECK(line.text() == "né");
  line.left();
  line.insert("日");
  CHECK(line.text() == "n日é");
  CHECK(line.cursor() == 2);
  line.delete_forward();
  CHECK(line.text() == "n日");
  line.home();
  line.delete_forward();
  CHECK(line.text() == "日");
  line.end();
  CHECK(line.cursor() == 1);
}

TEST_CASE("a combining mark typed after a letter joins its cluster", "[tui]") {
  InputLine line;
  line.insert("e");
  line.insert("\xCC\x81");
  CHECK(line.length() == 1);
  CHECK(line.cursor() == 1);
  line.backspace();
  CHECK(line.empty());
}

TEST_CASE("word and kill operations edit like a shell", "[tui]") {
  InputLine line;
  line.insert("hello big world");
  line.delete_word_back();
  CHECK(line.text() == "hello big ");
  line.word_left();
  CHECK(line.cursor() == 6);
  line.kill_to_end();
  CHECK(line.text() == "hello ");
  line.insert("there");
  line.word_left();
  line.kill_to_start();
  CHECK(line.text() == "there");
  CHECK(line.cursor() == 0);
  line.word_right();
  CHECK(line.cursor() == 5);
  line.insert("\nx");  // newlines never enter the line
  CHECK(line.text() == "therex");
}

TEST_CASE("history recalls submitted lines and keeps the draft", "[tui]") {
  InputLine line;
  line.insert("first");
  CHECK(line.submit() == "first");
  line.insert("second");
  line.submit();
  line.insert("second");
  line.submit();  // the same line twice is stored once
  CHECK(line.history().size() == 2);
  line.insert("draft");
  line.history_prev();
  CHECK(line.text() == "second");
  line.history_prev();
  CHECK(line.text() == "first");
  line.history_prev();
  CHECK(line.text() == "first");
  line.history_next();
  line.history_next();
  CHECK(line.text() == "draft");
}

TEST_CASE("the view scrolls to keep the caret visible in a narrow field", "[tui]") {
  InputLine line;
  line.insert("abcdefghij");
  auto view = line.view(5);
  CHECK(view.text == "ghij");
  CHECK(view.cursor_column == 4);
  line.home();
  view = line.view(5);
  CHECK(view.text == "abcde");
  CHECK(view.cursor_column == 0);
  InputLine wide;
  wide.insert("日本語");
  view = wide.view(4);
  CHECK(view.cursor_column == 3);
  CHECK(view.text == " 語");  // the half-visible wide cluster shows as a blank
}

TEST_CASE("a hidden line shows nothing and keeps no history", "[tui]") {
  InputLine pass(true);
  pass.insert("s3cret");
  CHECK(pass.view(20).text.empty());
  CHECK(pass.submit() == "s3cret");
  CHECK(pass.history().empty());
  pass.history_prev();
  CHECK(pass.empty());
}
