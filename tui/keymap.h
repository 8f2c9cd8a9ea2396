// Keys and the keymap that turns them into operations (STYLE 12): the UI acts on operations
// only, so bindings live in one table that the help overlay lists and tests check.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sotto::tui {

// One key press as the terminal reported it.
struct Key {
  enum class Code : uint8_t {
    kChar,      // `ch` is the code point typed
    kCtrl,      // Ctrl + `ch` ('a'..'z')
    kAlt,       // Alt (Esc prefix) + `ch`
    kFunction,  // F`ch` (1..12)
    kEnter,
    kTab,
    kBackTab,
    kBackspace,
    kDelete,
    kEscape,
    kLeft,
    kRight,
    kUp,
    kDown,
    kHome,
    kEnd,
    kPageUp,
    kPageDown,
    kResize,  // the terminal changed size (not a key, but it arrives the same way)
  };
  Code code = Code::kChar;
  char32_t ch = 0;

  static Key character(char32_t c) { return {Code::kChar, c}; }
  static Key ctrl(char c) { return {Code::kCtrl, static_cast<char32_t>(c)}; }
  static Key alt(char c) { return {Code::kAlt, static_cast<char32_t>(c)}; }
  static Key function(int n) { return {Code::kFunction, static_cast<char32_t>(n)}; }
  static Key special(Code code) { return {code, 0}; }

  auto operator<=>(const Key&) const = default;
};

// "Ctrl-W", "F5", "PgUp", "a".
std::string key_name(const Key& key);

enum class Operation : uint8_t {
  kNone,
  kInsert,  // type the key's character
  kSubmit,
  kBackspace,
  kDeleteForward,
  kCursorLeft,
  kCursorRight,
  kWordLeft,
  kWordRight,
  kLineStart,
  kLineEnd,
  kDeleteWordBack,
  kKillToStart,
  kKillToEnd,
  kHistoryPrev,
  kHistoryNext,
  kComplete,
  kHelp,
  kTogglePtt,
  kNextConversation,
  kPrevConversation,
  kScrollUp,
  kScrollDown,
  kCancel,  // close the top overlay or clear the line
  kRedraw,
  kLock,
  kQuit,
  kResize,
};

// What an operation does, for the help overlay.
std::string describe(Operation op);

class Keymap {
 public:
  // The default bindings (the man page lists the same).
  Keymap();

  // The operation for `key`. `line_empty`: '?' opens the help only on an empty input line
  // (elsewhere it is just a character).
  Operation lookup(const Key& key, bool line_empty) const;
  void bind(const Key& key, Operation op) { bindings_[key] = op; }

  struct Binding {
    std::string keys;  // "Ctrl-N, Alt-Down"
    Operation op;
  };
  // Every bound operation with its keys, in the order the help overlay shows them.
  std::vector<Binding> bindings() const;

 private:
  std::map<Key, Operation> bindings_;
};

}  // namespace sotto::tui
