#include "tui/terminal.h"

#include <curses.h>
#include <fcntl.h>
#include <langinfo.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <clocale>
#include <cstring>
#include <string>

#include "tui/utf8.h"

namespace sotto::tui {
namespace {

int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_stop = 0;

void on_signal(int signo) {
  const int saved = errno;
  if (signo != SIGWINCH) g_stop = 1;
  const char byte = static_cast<char>(signo);
  if (g_signal_pipe[1] >= 0) (void)!write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

struct ScreenDeleter {
  void operator()(SCREEN* screen) const {
    endwin();
    delscreen(screen);
  }
};
using ScreenPtr = std::unique_ptr<SCREEN, ScreenDeleter>;

short color_number(Color color) {
  switch (color) {
    case Color::kDefault:
      return -1;
    case Color::kRed:
      return COLOR_RED;
    case Color::kGreen:
      return COLOR_GREEN;
    case Color::kYellow:
      return COLOR_YELLOW;
    case Color::kBlue:
      return COLOR_BLUE;
    case Color::kMagenta:
      return COLOR_MAGENTA;
    case Color::kCyan:
      return COLOR_CYAN;
    case Color::kWhite:
      return COLOR_WHITE;
  }
  return -1;
}

}  // namespace

struct Terminal::Impl {
  ScreenPtr screen;
  bool colors = false;
  std::array<struct sigaction, 4> saved_actions{};
  static constexpr std::array<int, 4> kSignals{SIGWINCH, SIGTERM, SIGHUP, SIGINT};

  ~Impl() {
    screen.reset();  // endwin first: the terminal is back to normal before anything else
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &saved_actions[i], nullptr);
    for (int& fd : g_signal_pipe) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
  }
};

Result<std::unique_ptr<Terminal>> Terminal::open() {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    return Status::invalid_argument("the terminal UI needs a terminal (stdin and stdout)");
  }
  // Wide characters need a UTF-8 locale; fall back to C.UTF-8 when the environment has none.
  std::setlocale(LC_ALL, "");
  if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");

  auto impl = std::make_unique<Impl>();
  if (pipe2(g_signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
    return Status::io_error(std::string("pipe: ") + std::strerror(errno));
  }
  // Our handlers go in before curses starts, so curses leaves SIGWINCH to us.
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < Impl::kSignals.size(); ++i) {
    sigaction(Impl::kSignals[i], &action, &impl->saved_actions[i]);
  }
  g_stop = 0;

  SCREEN* screen = newterm(nullptr, stdout, stdin);
  if (screen == nullptr) {
    return Status::unavailable("curses cannot drive this terminal (TERM=" +
                               std::string(getenv("TERM") ? getenv("TERM") : "") + ")");
  }
  impl->screen.reset(screen);
  set_term(screen);
  raw();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  if (has_colors()) {
    start_color();
    use_default_colors();
    for (short c = 1; c <= 7; ++c) init_pair(c, c, -1);
    impl->colors = true;
  }
  return std::unique_ptr<Terminal>(new Terminal(std::move(impl)));
}

Terminal::Terminal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Terminal::~Terminal() = default;

int Terminal::width() const {
  return getmaxx(stdscr);
}
int Terminal::height() const {
  return getmaxy(stdscr);
}
int Terminal::signal_fd() const {
  return g_signal_pipe[0];
}
bool Terminal::stop_requested() const {
  return g_stop != 0;
}

std::optional<Key> Terminal::take_signals() {
  char buffer[64];
  bool resized = false;
  ssize_t n;
  while ((n = read(g_signal_pipe[0], buffer, sizeof buffer)) > 0) {
    for (ssize_t i = 0; i < n; ++i) resized |= buffer[i] == SIGWINCH;
  }
  if (!resized) return std::nullopt;
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0) {
    resize_term(size.ws_row, size.ws_col);
  }
  invalidate();  // what the terminal shows after a resize is not what curses remembers
  return Key::special(Key::Code::kResize);
}

void Terminal::invalidate() {
  clearok(curscr, TRUE);
}

void Terminal::render(const Canvas& canvas) {
  erase();
  const int w = std::min(canvas.width(), width());
  const int h = std::min(canvas.height(), height());
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const Cell& cell = canvas.at(x, y);
      if (cell.continuation) continue;
      // The cluster as wide characters (wchar_t is UTF-32 here), at most a few code points.
      wchar_t wide[CCHARW_MAX + 1] = {};
      size_t pos = 0;
      int count = 0;
      while (pos < cell.glyph.size() && count < CCHARW_MAX) {
        wide[count++] = static_cast<wchar_t>(decode_utf8(cell.glyph, pos));
      }
      attr_t attrs = A_NORMAL;
      if (cell.style.attrs & Style::kBold) attrs |= A_BOLD;
      if (cell.style.attrs & Style::kReverse) attrs |= A_REVERSE;
      if (cell.style.attrs & Style::kDim) attrs |= A_DIM;
      if (cell.style.attrs & Style::kUnderline) attrs |= A_UNDERLINE;
      short pair = 0;
      if (impl_->colors && cell.style.fg != Color::kDefault) pair = color_number(cell.style.fg);
      cchar_t cc;
      setcchar(&cc, wide, attrs, pair, nullptr);
      // The bottom-right cell scrolls some terminals when written: curses reports ERR, harmless.
      mvadd_wch(y, x, &cc);
    }
  }
  if (canvas.cursor()) {
    curs_set(1);
    move(canvas.cursor()->y, canvas.cursor()->x);
  } else {
    curs_set(0);
  }
  refresh();
}

std::optional<Key> Terminal::read_key() {
  wint_t ch = 0;
  const int kind = get_wch(&ch);
  if (kind == ERR) return std::nullopt;
  using Code = Key::Code;
  if (kind == KEY_CODE_YES) {
    switch (ch) {
      case KEY_ENTER:
        return Key::special(Code::kEnter);
      case KEY_BACKSPACE:
        return Key::special(Code::kBackspace);
      case KEY_DC:
        return Key::special(Code::kDelete);
      case KEY_LEFT:
        return Key::special(Code::kLeft);
      case KEY_RIGHT:
        return Key::special(Code::kRight);
      case KEY_UP:
        return Key::special(Code::kUp);
      case KEY_DOWN:
        return Key::special(Code::kDown);
      case KEY_HOME:
        return Key::special(Code::kHome);
      case KEY_END:
        return Key::special(Code::kEnd);
      case KEY_PPAGE:
        return Key::special(Code::kPageUp);
      case KEY_NPAGE:
        return Key::special(Code::kPageDown);
      case KEY_BTAB:
        return Key::special(Code::kBackTab);
      case KEY_RESIZE:
        return Key::special(Code::kResize);
      default:
        if (ch >= static_cast<wint_t>(KEY_F(1)) && ch <= static_cast<wint_t>(KEY_F(12))) {
          return Key::function(static_cast<int>(ch - KEY_F0));
        }
        return std::nullopt;
    }
  }
  switch (ch) {
    case '\r':
    case '\n':
      return Key::special(Code::kEnter);
    case '\t':
      return Key::special(Code::kTab);
    case 127:
    case 8:
      return Key::special(Code::kBackspace);
    case 27: {
      // Esc alone, or Esc + a character (how terminals send Alt).
      wint_t next = 0;
      if (get_wch(&next) == OK && next >= 0x20 && next < 0x7F) {
        return Key::alt(static_cast<char>(next));
      }
      return Key::special(Code::kEscape);
    }
    default:
      break;
  }
  if (ch >= 1 && ch <= 26) return Key::ctrl(static_cast<char>('a' + ch - 1));
  if (ch < 0x20) return std::nullopt;
  return Key::character(static_cast<char32_t>(ch));
}

}  // namespace sotto::tui
