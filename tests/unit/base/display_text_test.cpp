// display_text: what a terminal would obey becomes a visible glyph; everything else is left as
// the sender wrote it.
#include "sotto/base/display_text.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "sotto/base/utf8.h"

using namespace sotto;

namespace {

std::string utf8(char32_t c) {
  std::string out;
  append_utf8(out, c);
  return out;
}

}  // namespace

TEST_CASE("text of any script, emoji and combining marks is shown unchanged", "[base][display]") {
  for (const std::string text : {
           "plain ASCII, punctuation: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
           "héllo wörld, ça va ? ¿Qué tal?",
           "日本語のテキスト 한국어 中文",
           "שלום עולם مرحبا بالعالم",                     // right-to-left scripts, no bidi controls
           "می\u200Cخواهم",                               // ZWNJ inside a Persian word
           "e\u0301 a\u0308 n\u0303 \u0915\u094D\u0937",  // combining marks, a Devanagari conjunct
           "👍🏽 ❤️ 👩\u200D💻 🇫🇷",     // skin tone, VS16, ZWJ sequence, flag
           "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",  // tag sequence
           "\uFFFD already a replacement character",
       }) {
    INFO(text);
    CHECK(display_text(text) == text);
    CHECK(display_text(text, LineBreaks::kKeep) == text);
  }
}

TEST_CASE("every C0 control but the line feed is shown as its control picture", "[base][display]") {
  for (char32_t c = 0; c < 0x20; ++c) {
    if (c == '\n') continue;
    INFO("U+" << std::hex << static_cast<unsigned>(c));
    CHECK(display_text(std::string(1, static_cast<char>(c))) == utf8(0x2400 + c));
  }
  CHECK(display_text(std::string("a\0b", 3)) == "a␀b");
  CHECK(display_text("\x1b[2K\r✔ verified alice") == "␛[2K␍✔ verified alice");
  CHECK(display_text("ok\b\b\tno") == "ok␈␈␉no");
  CHECK(display_text("\x1b]0;title\x07") == "␛]0;title␇");
  CHECK(display_text("\x7f") == "␡");
}

TEST_CASE("C1 controls, the 8-bit CSI among them, are shown as U+FFFD", "[base][display]") {
  for (char32_t c = 0x80; c <= 0x9F; ++c) {
    INFO("U+" << std::hex << static_cast<unsigned>(c));
    CHECK(display_text(utf8(c)) == "\uFFFD");
  }
  CHECK(display_text("a\u009B2Jb\u0085c") == "a\uFFFD2Jb\uFFFDc");
}

TEST_CASE("bidi controls and invisible format characters are shown as U+FFFD", "[base][display]") {
  for (char32_t c : {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068,
                     0x2069, 0x200E, 0x200F, 0x061C, 0x2028, 0x2029, 0x00AD, 0x200B,
                     0x2060, 0x2064, 0x206A, 0x206F, 0xFEFF, 0xFFF9, 0xFFFB}) {
    INFO("U+" << std::hex << static_cast<unsigned>(c));
    CHECK(display_text("a" + utf8(c) + "b") == "a\uFFFDb");
  }
  // "invoice_\u202Efdp.exe" would show as "invoice_exe.pdf".
  CHECK(display_text("invoice_\u202Efdp.exe") == "invoice_\uFFFDfdp.exe");
}

TEST_CASE("a line feed is shown as ↵ or kept for the caller to indent", "[base][display]") {
  CHECK(display_text("one\ntwo") == "one↵two");
  CHECK(display_text("one\r\ntwo") == "one↵two");
  CHECK(display_text("one\rtwo") == "one␍two");
  CHECK(display_text("\n\n") == "↵↵");
  CHECK(display_text("one\ntwo", LineBreaks::kKeep) == "one\ntwo");
  CHECK(display_text("one\r\ntwo\r", LineBreaks::kKeep) == "one\ntwo␍");
  CHECK(display_text("one\n\x1b[1Atwo", LineBreaks::kKeep) == "one\n␛[1Atwo");
}

TEST_CASE("bytes that are not UTF-8 become one U+FFFD each", "[base][display]") {
  CHECK(display_text("\xff") == "\uFFFD");
  CHECK(display_text("ab\xc3") == "ab\uFFFD");                            // truncated
  CHECK(display_text("\xc0\xaf") == "\uFFFD\uFFFD");                      // overlong '/'
  CHECK(display_text("\xed\xa0\x80") == "\uFFFD\uFFFD\uFFFD");            // a surrogate
  CHECK(display_text("\xf4\x90\x80\x80") == "\uFFFD\uFFFD\uFFFD\uFFFD");  // past U+10FFFF
  CHECK(display_text("\xc2\x9b") == "\uFFFD");  // a valid C1 CSI: one code point, one glyph
}

TEST_CASE("display_text changes exactly the code points is_display_control names, one for one",
          "[base][display]") {
  size_t changed = 0;
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const std::string one = utf8(c);
    const std::string shown = display_text(one);
    if ((shown != one) != is_display_control(c)) {
      FAIL("U+" << std::hex << static_cast<unsigned>(c));
    }
    if (shown != one) {
      ++changed;
      size_t pos = 0;
      REQUIRE_FALSE(is_display_control(decode_utf8(shown, pos)));
      REQUIRE(pos == shown.size());  // one glyph for one code point
    }
  }
  // C0, DEL, C1, U+00AD, U+061C, U+200B, U+200E-F, U+2028-E, U+2060-4, U+2066-F, U+FEFF,
  // U+FFF9-B.
  CHECK(changed == 32 + 1 + 32 + 1 + 1 + 1 + 2 + 7 + 5 + 10 + 1 + 3);
}

TEST_CASE("display_text of its own result changes nothing", "[base][display]") {
  const std::string hostile =
      "fine\x1b[2K\r✔ verified\nnext\r\n\u202Ekcab\u009B31m\x7f\xff\u200B👩\u200D💻";
  for (LineBreaks breaks : {LineBreaks::kEscape, LineBreaks::kKeep}) {
    const std::string once = display_text(hostile, breaks);
    CHECK(display_text(once, breaks) == once);
  }
}

TEST_CASE("whatever bytes come in, what comes out is UTF-8 a terminal only draws",
          "[base][display]") {
  std::mt19937 random(20261205);
  // Bytes that start or continue sequences, controls, and the lead bytes of C1 and bidi
  // characters, more often than chance would pick them.
  const std::string interesting = "\x1b\r\n\b\x7f\xc2\x9b\x85\xe2\x80\xae\xa8\xe2\x81\xa6\xf0\xff";
  for (int round = 0; round < 5000; ++round) {
    std::string text(random() % 48, '\0');
    for (char& c : text) {
      c = random() % 2 ? interesting[random() % interesting.size()] : static_cast<char>(random());
    }
    for (LineBreaks breaks : {LineBreaks::kEscape, LineBreaks::kKeep}) {
      const std::string shown = display_text(text, breaks);
      size_t pos = 0;
      while (pos < shown.size()) {
        const size_t at = pos;
        const char32_t c = decode_utf8(shown, pos);
        const bool replaced_invalid =
            c == kReplacementCharacter && shown.compare(at, 3, "\uFFFD") != 0;
        REQUIRE_FALSE(replaced_invalid);
        if (breaks == LineBreaks::kKeep && c == '\n') continue;
        REQUIRE_FALSE(is_display_control(c));
      }
      REQUIRE(display_text(shown, breaks) == shown);
    }
  }
}
