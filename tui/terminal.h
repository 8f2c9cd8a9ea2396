// Terminal: the one place that talks to ncurses. It owns the curses screen (RAII: the terminal is
// restored when it is destroyed, also on an early return), renders a Canvas, reads keys without
// blocking, and turns SIGWINCH/SIGTERM/SIGHUP into readiness of signal_fd() so the UI's poll
// loop sees them beside stdin and the node's events. Colours when the terminal has them;
// otherwise attributes only (every colour-coded state also has a symbol).
// Thread-safety: the UI thread only; one Terminal per process.
#pragma once

#include <memory>
#include <optional>

#include "sotto/base/status.h"
#include "tui/canvas.h"
#include "tui/keymap.h"

namespace sotto::tui {

class Terminal {
 public:
  // Errors: InvalidArgument when stdin or stdout is not a terminal; Unavailable when curses
  // cannot start (unknown TERM).
  static Result<std::unique_ptr<Terminal>> open();
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  int width() const;
  int height() const;
  void render(const Canvas& canvas);
  // The next render repaints every cell (after a resize, or Ctrl-L when the screen got garbled).
  void invalidate();
  // The next key, or none when nothing is waiting.
  std::optional<Key> read_key();

  // Readable after SIGWINCH, SIGTERM, SIGHUP or SIGINT.
  int signal_fd() const;
  // Drains signal_fd(); returns a kResize key after a resize (the screen is already resized).
  std::optional<Key> take_signals();
  // A terminating signal arrived.
  bool stop_requested() const;

  struct Impl;

 private:
  explicit Terminal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sotto::tui
