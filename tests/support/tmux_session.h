// TmuxSession: a program in a real terminal for a test — a tmux server of the test's own (its
// own socket), one session running the program in one pane, keys sent with send-keys and the
// screen read back with capture-pane. The program's exit code is printed into the pane
// afterwards ("sotto exited N"), so a test can see that the program ended and that the terminal
// was given back. The server inherits this process's environment, as a shell started here would.
//
// Every wait has a deadline; nothing sleeps a fixed time. Thread-safety: one test thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace sotto::test {

class TmuxSession {
 public:
  static constexpr const char* kTmux = "/usr/bin/tmux";
  static constexpr const char* kMissing = "tmux is missing (run make deps)";

  // Whether tmux is installed.
  static bool installed();

  // Runs `argv` in a `width` x `height` pane, under LANG=C.UTF-8. Throws when tmux fails.
  TmuxSession(const std::vector<std::string>& argv, int width, int height);
  ~TmuxSession();
  TmuxSession(const TmuxSession&) = delete;
  TmuxSession& operator=(const TmuxSession&) = delete;

  std::string screen();
  // Keys by tmux name ("Enter", "F5", "Escape").
  void key(const std::string& name);
  // Text typed as is.
  void type(const std::string& text);
  // Text, then Enter.
  void line(const std::string& text);
  void resize(int width, int height);
  // Waits until the screen contains `needle`; on timeout the last screen goes into the report.
  bool wait_for(const std::string& needle,
                std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // The screen the last wait_for saw.
  const std::string& last() const { return last_; }

 private:
  CommandResult tmux(std::vector<std::string> args);

  std::string socket_;
  std::string last_;
};

}  // namespace sotto::test
