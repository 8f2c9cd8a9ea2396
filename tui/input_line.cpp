#include "tui/input_line.h"

#include <algorithm>
#include <utility>

#include "sotto/base/secret.h"
#include "tui/utf8.h"

namespace sotto::tui {
namespace {

void wipe_string(std::string& s) {
  if (!s.empty()) wipe(s.data(), s.size());
  s.clear();
}

bool is_space(const std::string& g) {
  return g == " " || g == "\t";
}

}  // namespace

InputLine::~InputLine() {
  if (hidden_) wipe_string(text_);
}

size_t InputLine::length() const {
  return graphemes(text_).size();
}

size_t InputLine::byte_offset(size_t cluster) const {
  size_t offset = 0;
  const auto clusters = graphemes(text_);
  for (size_t i = 0; i < cluster && i < clusters.size(); ++i) offset += clusters[i].size();
  return offset;
}

void InputLine::insert(std::string_view utf8) {
  const size_t before = length();
  std::string clean;
  for (const std::string& g : graphemes(utf8)) {
    if (g == "\n" || g == "\r") continue;
    clean += g;
  }
  text_.insert(byte_offset(cursor_), clean);
  // A combining mark may merge into the cluster before the caret: count what was added.
  cursor_ += length() - before;
}

void InputLine::backspace() {
  if (cursor_ == 0) return;
  const size_t from = byte_offset(cursor_ - 1);
  text_.erase(from, byte_offset(cursor_) - from);
  --cursor_;
}

void InputLine::delete_forward() {
  if (cursor_ >= length()) return;
  const size_t from = byte_offset(cursor_);
  text_.erase(from, byte_offset(cursor_ + 1) - from);
}

void InputLine::left() {
  if (cursor_ > 0) --cursor_;
}

void InputLine::right() {
  if (cursor_ < length()) ++cursor_;
}

void InputLine::word_left() {
  const auto clusters = graphemes(text_);
  while (cursor_ > 0 && is_space(clusters[cursor_ - 1])) --cursor_;
  while (cursor_ > 0 && !is_space(clusters[cursor_ - 1])) --cursor_;
}

void InputLine::word_right() {
  const auto clusters = graphemes(text_);
  while (cursor_ < clusters.size() && is_space(clusters[cursor_])) ++cursor_;
  while (cursor_ < clusters.size() && !is_space(clusters[cursor_])) ++cursor_;
}

void InputLine::delete_word_back() {
  const size_t end = cursor_;
  word_left();
  const size_t from = byte_offset(cursor_);
  text_.erase(from, byte_offset(end) - from);
}

void InputLine::kill_to_start() {
  text_.erase(0, byte_offset(cursor_));
  cursor_ = 0;
}

void InputLine::kill_to_end() {
  text_.erase(byte_offset(cursor_));
}

void InputLine::set_text(std::string text) {
  if (hidden_) wipe_string(text_);
  text_ = std::move(text);
  cursor_ = length();
}

void InputLine::clear() {
  if (hidden_) {
    wipe_string(text_);
  } else {
    text_.clear();
  }
  cursor_ = 0;
}

std::string InputLine::submit() {
  std::string line = std::move(text_);
  text_.clear();
  cursor_ = 0;
  if (!hidden_ && !line.empty() && (history_.empty() || history_.back() != line)) {
    history_.push_back(line);
    if (history_.size() > kMaxHistory) history_.erase(history_.begin());
  }
  history_pos_ = history_.size();
  draft_.clear();
  return line;
}

void InputLine::history_prev() {
  if (hidden_ || history_.empty() || history_pos_ == 0) return;
  if (history_pos_ == history_.size()) draft_ = text_;
  --history_pos_;
  text_ = history_[history_pos_];
  cursor_ = length();
}

void InputLine::history_next() {
  if (hidden_ || history_pos_ >= history_.size()) return;
  ++history_pos_;
  text_ = history_pos_ == history_.size() ? draft_ : history_[history_pos_];
  cursor_ = length();
}

InputLine::View InputLine::view(int columns) const {
  View out;
  if (hidden_ || columns <= 0) return out;
  const auto clusters = graphemes(text_);
  // Columns before the caret; scroll so the caret stays inside the field (one spare column
  // for the caret itself at the end).
  int caret = 0;
  for (size_t i = 0; i < cursor_ && i < clusters.size(); ++i) caret += grapheme_width(clusters[i]);
  int first_column = 0;
  if (caret >= columns) first_column = caret - columns + 1;
  int col = 0;
  int used = 0;
  for (const std::string& g : clusters) {
    const int w = grapheme_width(g);
    if (col >= first_column) {
      if (used + w > columns) break;
      out.text += g;
      used += w;
    } else if (col + w > first_column) {
      // A wide cluster cut by the left edge: show its visible half as a blank.
      out.text += ' ';
      used += 1;
    }
    col += w;
  }
  out.cursor_column = caret - first_column;
  return out;
}

}  // namespace sotto::tui
