#include "tui/canvas.h"

#include <algorithm>

#include "sotto/base/display_text.h"
#include "tui/utf8.h"

namespace sotto::tui {

Canvas::Canvas(int width, int height)
    : width_(std::max(width, 0)),
      height_(std::max(height, 0)),
      cells_(static_cast<size_t>(width_ * height_)) {}

void Canvas::clear_cell(int x, int y, Style style) {
  Cell& c = cell(x, y);
  // Overwriting half of a wide cluster blanks the other half too.
  if (c.continuation && x > 0) {
    cell(x - 1, y) = Cell{" ", cell(x - 1, y).style, false};
  } else if (!c.continuation && grapheme_width(c.glyph) == 2 && x + 1 < width_) {
    cell(x + 1, y) = Cell{" ", cell(x + 1, y).style, false};
  }
  c = Cell{" ", style, false};
}

int Canvas::put(int x, int y, std::string_view text, Style style, int max_columns) {
  if (y < 0 || y >= height_) return 0;
  const int limit = max_columns < 0 ? width_ : std::min(width_, x + max_columns);
  int col = x;
  // Every cell the terminal draws is written here, so this is where a window's text — a peer's
  // name or message among it — loses whatever a terminal would obey. display_text keeps widths.
  for (const std::string& g : graphemes(display_text(text))) {
    const int w = grapheme_width(g);
    if (col + w > limit) {
      // A wide cluster cut by the edge leaves a blank, never half a glyph.
      if (col < limit && col >= 0) {
        clear_cell(col, y, style);
        ++col;
      }
      break;
    }
    if (col >= 0) {
      clear_cell(col, y, style);
      cell(col, y).glyph = g;
      if (w == 2) {
        clear_cell(col + 1, y, style);
        cell(col + 1, y).continuation = true;
      }
    }
    col += w;
  }
  return std::max(0, col - x);
}

void Canvas::fill(Rect rect, Style style) {
  for (int y = std::max(rect.y, 0); y < std::min(rect.bottom(), height_); ++y) {
    for (int x = std::max(rect.x, 0); x < std::min(rect.right(), width_); ++x) {
      clear_cell(x, y, style);
    }
  }
}

void Canvas::restyle(Rect rect, Style style) {
  for (int y = std::max(rect.y, 0); y < std::min(rect.bottom(), height_); ++y) {
    for (int x = std::max(rect.x, 0); x < std::min(rect.right(), width_); ++x) {
      cell(x, y).style = style;
    }
  }
}

std::string Canvas::row_text(int y) const {
  std::string out;
  if (y < 0 || y >= height_) return out;
  for (int x = 0; x < width_; ++x) {
    const Cell& c = at(x, y);
    if (!c.continuation) out += c.glyph;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Canvas::text() const {
  std::string out;
  for (int y = 0; y < height_; ++y) {
    if (y > 0) out += '\n';
    out += row_text(y);
  }
  return out;
}

bool Canvas::contains(std::string_view needle) const {
  for (int y = 0; y < height_; ++y) {
    if (row_text(y).find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace sotto::tui
