// Driving a tui::App as a user would, without a terminal: keys typed, the screen read back.
#pragma once

#include <string>

#include "sotto/base/utf8.h"
#include "tui/app.h"
#include "tui/canvas.h"

namespace sotto::test {

// Each character of `text` as a key press; '\n' is Enter.
inline void type(tui::App& app, const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const char32_t c = decode_utf8(text, pos);
    app.on_key(c == '\n' ? tui::Key::special(tui::Key::Code::kEnter) : tui::Key::character(c));
  }
}

// The App drawn on a `w` x `h` canvas, as text.
inline std::string screen(const tui::App& app, int w = 80, int h = 24) {
  tui::Canvas canvas(w, h);
  app.draw(canvas);
  return canvas.text();
}

}  // namespace sotto::test
