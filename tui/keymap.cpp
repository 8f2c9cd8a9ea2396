#include "tui/keymap.h"

#include <algorithm>

#include "tui/utf8.h"

namespace sotto::tui {

std::string key_name(const Key& key) {
  using Code = Key::Code;
  switch (key.code) {
    case Code::kChar: {
      if (key.ch == ' ') return "Space";
      std::string out;
      append_utf8(out, key.ch);
      return out;
    }
    case Code::kCtrl:
      return std::string("Ctrl-") + static_cast<char>(key.ch - 'a' + 'A');
    case Code::kAlt:
      return std::string("Alt-") + static_cast<char>(key.ch);
    case Code::kFunction:
      return "F" + std::to_string(static_cast<int>(key.ch));
    case Code::kEnter:
      return "Enter";
    case Code::kTab:
      return "Tab";
    case Code::kBackTab:
      return "Shift-Tab";
    case Code::kBackspace:
      return "Backspace";
    case Code::kDelete:
      return "Delete";
    case Code::kEscape:
      return "Esc";
    case Code::kLeft:
      return "Left";
    case Code::kRight:
      return "Right";
    case Code::kUp:
      return "Up";
    case Code::kDown:
      return "Down";
    case Code::kHome:
      return "Home";
    case Code::kEnd:
      return "End";
    case Code::kPageUp:
      return "PgUp";
    case Code::kPageDown:
      return "PgDn";
    case Code::kResize:
      return "(resize)";
  }
  return "?";
}

std::string describe(Operation op) {
  switch (op) {
    case Operation::kNone:
      return "";
    case Operation::kInsert:
      return "type a character";
    case Operation::kSubmit:
      return "send the line (or run the /command); on an empty line, play the newest clip";
    case Operation::kBackspace:
      return "delete the character before the caret";
    case Operation::kDeleteForward:
      return "delete the character under the caret";
    case Operation::kCursorLeft:
      return "caret left";
    case Operation::kCursorRight:
      return "caret right";
    case Operation::kWordLeft:
      return "caret one word left";
    case Operation::kWordRight:
      return "caret one word right";
    case Operation::kLineStart:
      return "caret to the start of the line";
    case Operation::kLineEnd:
      return "caret to the end of the line";
    case Operation::kDeleteWordBack:
      return "delete the word before the caret";
    case Operation::kKillToStart:
      return "delete to the start of the line";
    case Operation::kKillToEnd:
      return "delete to the end of the line";
    case Operation::kHistoryPrev:
      return "previous line from the history";
    case Operation::kHistoryNext:
      return "next line from the history";
    case Operation::kComplete:
      return "complete a command or a name";
    case Operation::kHelp:
      return "this help (? on an empty line)";
    case Operation::kTogglePtt:
      return "push-to-talk on/off in the open channel";
    case Operation::kNextConversation:
      return "next conversation";
    case Operation::kPrevConversation:
      return "previous conversation";
    case Operation::kScrollUp:
      return "scroll the conversation back";
    case Operation::kScrollDown:
      return "scroll the conversation forward";
    case Operation::kCancel:
      return "close a dialog, stop the clip playing, or clear the line";
    case Operation::kRedraw:
      return "redraw the screen";
    case Operation::kLock:
      return "lock: close the archive, wipe the keys, back to the unlock screen";
    case Operation::kQuit:
      return "quit";
    case Operation::kResize:
      return "";
  }
  return "";
}

Keymap::Keymap() {
  using Code = Key::Code;
  bind(Key::special(Code::kEnter), Operation::kSubmit);
  bind(Key::special(Code::kBackspace), Operation::kBackspace);
  bind(Key::ctrl('h'), Operation::kBackspace);
  bind(Key::special(Code::kDelete), Operation::kDeleteForward);
  bind(Key::ctrl('d'), Operation::kDeleteForward);
  bind(Key::special(Code::kLeft), Operation::kCursorLeft);
  bind(Key::ctrl('b'), Operation::kCursorLeft);
  bind(Key::special(Code::kRight), Operation::kCursorRight);
  bind(Key::ctrl('f'), Operation::kCursorRight);
  bind(Key::alt('b'), Operation::kWordLeft);
  bind(Key::alt('f'), Operation::kWordRight);
  bind(Key::special(Code::kHome), Operation::kLineStart);
  bind(Key::ctrl('a'), Operation::kLineStart);
  bind(Key::special(Code::kEnd), Operation::kLineEnd);
  bind(Key::ctrl('e'), Operation::kLineEnd);
  bind(Key::ctrl('w'), Operation::kDeleteWordBack);
  bind(Key::ctrl('u'), Operation::kKillToStart);
  bind(Key::ctrl('k'), Operation::kKillToEnd);
  bind(Key::special(Code::kUp), Operation::kHistoryPrev);
  bind(Key::special(Code::kDown), Operation::kHistoryNext);
  bind(Key::special(Code::kTab), Operation::kComplete);
  bind(Key::function(1), Operation::kHelp);
  bind(Key::function(5), Operation::kTogglePtt);
  bind(Key::ctrl('n'), Operation::kNextConversation);
  bind(Key::alt('n'), Operation::kNextConversation);
  bind(Key::ctrl('p'), Operation::kPrevConversation);
  bind(Key::alt('p'), Operation::kPrevConversation);
  bind(Key::special(Code::kPageUp), Operation::kScrollUp);
  bind(Key::special(Code::kPageDown), Operation::kScrollDown);
  bind(Key::special(Code::kEscape), Operation::kCancel);
  bind(Key::ctrl('l'), Operation::kRedraw);
  bind(Key::function(12), Operation::kLock);
  bind(Key::ctrl('q'), Operation::kQuit);
  bind(Key::special(Code::kResize), Operation::kResize);
}

Operation Keymap::lookup(const Key& key, bool line_empty) const {
  if (key.code == Key::Code::kChar && key.ch == '?' && line_empty) return Operation::kHelp;
  auto it = bindings_.find(key);
  if (it != bindings_.end()) return it->second;
  if (key.code == Key::Code::kChar && key.ch >= 0x20 && key.ch != 0x7F) return Operation::kInsert;
  return Operation::kNone;
}

std::vector<Keymap::Binding> Keymap::bindings() const {
  std::vector<Binding> out;
  for (const auto& [key, op] : bindings_) {
    if (op == Operation::kResize) continue;
    bool merged = false;
    for (Binding& b : out) {
      if (b.op == op) {
        b.keys += ", " + key_name(key);
        merged = true;
      }
    }
    if (!merged) out.push_back({key_name(key), op});
  }
  // Most useful first: the function keys, then conversation moves, then editing.
  auto rank = [](Operation op) {
    switch (op) {
      case Operation::kHelp:
        return 0;
      case Operation::kTogglePtt:
        return 1;
      case Operation::kSubmit:
        return 2;
      case Operation::kComplete:
        return 3;
      case Operation::kNextConversation:
      case Operation::kPrevConversation:
        return 4;
      case Operation::kScrollUp:
      case Operation::kScrollDown:
        return 5;
      case Operation::kCancel:
      case Operation::kLock:
      case Operation::kQuit:
        return 6;
      default:
        return 7;
    }
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const Binding& a, const Binding& b) { return rank(a.op) < rank(b.op); });
  return out;
}

}  // namespace sotto::tui
