// Canvas: the screen as a 2-D grid of cells that windows draw into. The terminal renders it;
// tests read it back as text. Nothing here knows about curses.
//
// A cell holds one grapheme cluster (UTF-8) and its style. A wide cluster (two columns) fills its
// cell and marks the next one as its continuation. Drawing outside the grid is clipped.
// Thread-safety: a plain value, one owner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sotto::tui {

struct Rect {
  int x = 0;
  int y = 0;
  int w = 0;
  int h = 0;

  int right() const { return x + w; }  // one past the last column
  int bottom() const { return y + h; }
  bool empty() const { return w <= 0 || h <= 0; }
  bool operator==(const Rect&) const = default;
};

// Colours map to the terminal's 8 basic colours; on a monochrome terminal only the attributes
// remain, so every colour-coded state also has a symbol or a word.
enum class Color : uint8_t { kDefault, kRed, kGreen, kYellow, kBlue, kMagenta, kCyan, kWhite };

struct Style {
  static constexpr uint8_t kBold = 1;
  static constexpr uint8_t kReverse = 2;
  static constexpr uint8_t kDim = 4;
  static constexpr uint8_t kUnderline = 8;

  uint8_t attrs = 0;
  Color fg = Color::kDefault;
  Color bg = Color::kDefault;

  bool operator==(const Style&) const = default;
};

struct Cell {
  std::string glyph = " ";
  Style style;
  bool continuation = false;  // the right half of a wide cluster on the left

  bool operator==(const Cell&) const = default;
};

class Canvas {
 public:
  Canvas(int width, int height);

  int width() const { return width_; }
  int height() const { return height_; }
  const Cell& at(int x, int y) const { return cells_[static_cast<size_t>(y * width_ + x)]; }

  // Writes `text` from (x, y), clipped to `max_columns` (and to the canvas); returns the columns
  // written. The text is shown as display_text shows it (sotto/base/display_text.h): controls,
  // bidi controls and bad UTF-8 as visible glyphs, a line feed as "↵"; so no cell ever holds
  // something a terminal obeys. A wide cluster that does not fit becomes a space.
  int put(int x, int y, std::string_view text, Style style = {}, int max_columns = -1);
  // Fills the rectangle with spaces in `style`.
  void fill(Rect rect, Style style = {});
  // Sets the style of existing cells without changing their glyphs.
  void restyle(Rect rect, Style style);

  // Where the terminal cursor should be (the input line's caret), or none to hide it.
  void set_cursor(int x, int y) { cursor_ = {{x, y}}; }
  struct Point {
    int x = 0;
    int y = 0;
  };
  const std::optional<Point>& cursor() const { return cursor_; }

  // One row as text (continuation cells skipped, trailing spaces trimmed).
  std::string row_text(int y) const;
  // Every row, joined by '\n'.
  std::string text() const;
  // True when any row contains `needle`.
  bool contains(std::string_view needle) const;

 private:
  Cell& cell(int x, int y) { return cells_[static_cast<size_t>(y * width_ + x)]; }
  void clear_cell(int x, int y, Style style);

  int width_;
  int height_;
  std::vector<Cell> cells_;
  std::optional<Point> cursor_;
};

}  // namespace sotto::tui
