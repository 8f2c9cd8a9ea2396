// The keymap: keys become operations, and the help overlay lists every binding.
#include "tui/keymap.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "tui/canvas.h"
#include "tui/windows.h"

using namespace sotto::tui;
using Code = Key::Code;

TEST_CASE("the default keymap binds the documented keys", "[tui]") {
  Keymap keymap;
  CHECK(keymap.lookup(Key::function(5), false) == Operation::kTogglePtt);
  CHECK(keymap.lookup(Key::function(1), false) == Operation::kHelp);
  CHECK(keymap.lookup(Key::special(Code::kEnter), false) == Operation::kSubmit);
  CHECK(keymap.lookup(Key::special(Code::kTab), false) == Operation::kComplete);
  CHECK(keymap.lookup(Key::special(Code::kUp), false) == Operation::kHistoryPrev);
  CHECK(keymap.lookup(Key::ctrl('n'), false) == Operation::kNextConversation);
  CHECK(keymap.lookup(Key::ctrl('w'), false) == Operation::kDeleteWordBack);
  CHECK(keymap.lookup(Key::ctrl('q'), false) == Operation::kQuit);
  CHECK(keymap.lookup(Key::special(Code::kEscape), false) == Operation::kCancel);
  CHECK(keymap.lookup(Key::special(Code::kResize), false) == Operation::kResize);
}

TEST_CASE("printable characters insert; '?' opens the help only on an empty line", "[tui]") {
  Keymap keymap;
  CHECK(keymap.lookup(Key::character('a'), false) == Operation::kInsert);
  CHECK(keymap.lookup(Key::character(U'é'), false) == Operation::kInsert);
  CHECK(keymap.lookup(Key::character('?'), true) == Operation::kHelp);
  CHECK(keymap.lookup(Key::character('?'), false) == Operation::kInsert);
  CHECK(keymap.lookup(Key::ctrl('z'), false) == Operation::kNone);
}

TEST_CASE("bindings can be changed, and the list merges keys of one operation", "[tui]") {
  Keymap keymap;
  keymap.bind(Key::function(6), Operation::kTogglePtt);
  CHECK(keymap.lookup(Key::function(6), false) == Operation::kTogglePtt);
  const auto bindings = keymap.bindings();
  auto ptt = std::find_if(bindings.begin(), bindings.end(),
                          [](const auto& b) { return b.op == Operation::kTogglePtt; });
  REQUIRE(ptt != bindings.end());
  CHECK(ptt->keys == "F5, F6");
  CHECK(bindings.front().op == Operation::kHelp);
}

TEST_CASE("key names read as people write them", "[tui]") {
  CHECK(key_name(Key::ctrl('w')) == "Ctrl-W");
  CHECK(key_name(Key::function(5)) == "F5");
  CHECK(key_name(Key::alt('b')) == "Alt-b");
  CHECK(key_name(Key::special(Code::kPageUp)) == "PgUp");
  CHECK(key_name(Key::character(' ')) == "Space");
}

TEST_CASE("the help overlay lists every key and every command", "[tui]") {
  Keymap keymap;
  Dialog help = help_dialog(keymap);
  auto has = [&](const std::string& text) {
    return std::any_of(help.lines.begin(), help.lines.end(),
                       [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  CHECK(has("F5"));
  CHECK(has("Ctrl-N"));
  CHECK(has("/verify NAME"));
  CHECK(has("/channel invite CHANNEL PEER"));
  CHECK(has("/quit"));
  Canvas canvas(80, 24);
  help.draw(canvas);
  CHECK(canvas.contains("keys and commands"));
  CHECK(canvas.contains("Esc: close"));
}
