// InputLine: the one-line editor under the conversation — UTF-8 aware (the caret moves by
// grapheme cluster and by display column), with a history of submitted lines and an optional
// hidden mode for passphrases (nothing is shown, and the buffer is wiped when cleared).
// Thread-safety: a plain value, one owner.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sotto::tui {

class InputLine {
 public:
  static constexpr size_t kMaxHistory = 200;

  explicit InputLine(bool hidden = false) : hidden_(hidden) {}
  ~InputLine();
  InputLine(const InputLine&) = delete;
  InputLine& operator=(const InputLine&) = delete;
  InputLine(InputLine&&) = default;
  InputLine& operator=(InputLine&&) = default;

  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }
  bool hidden() const { return hidden_; }
  // The caret, in grapheme clusters from the start.
  size_t cursor() const { return cursor_; }
  size_t length() const;

  void insert(std::string_view utf8);
  void backspace();
  void delete_forward();
  void left();
  void right();
  void home() { cursor_ = 0; }
  void end() { cursor_ = length(); }
  void word_left();
  void word_right();
  void delete_word_back();          // Ctrl-W
  void kill_to_start();             // Ctrl-U
  void kill_to_end();               // Ctrl-K
  void set_text(std::string text);  // caret at the end
  void clear();

  // Returns the line and clears it; a non-empty line that differs from the last entry goes into
  // the history (never for a hidden line).
  std::string submit();
  void history_prev();  // Up: older entry (the line being typed is kept as a draft)
  void history_next();  // Down: newer entry, finally the draft
  const std::vector<std::string>& history() const { return history_; }

  // What a field `columns` wide shows: a window of the text that keeps the caret visible, and the
  // caret's column inside it. Hidden lines show nothing.
  struct View {
    std::string text;
    int cursor_column = 0;
  };
  View view(int columns) const;

 private:
  size_t byte_offset(size_t cluster) const;

  bool hidden_ = false;
  std::string text_;
  size_t cursor_ = 0;
  std::vector<std::string> history_;
  size_t history_pos_ = 0;  // == history_.size(): not browsing
  std::string draft_;
};

}  // namespace sotto::tui
