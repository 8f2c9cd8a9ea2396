#include "tests/support/tmux_session.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>

#include "tests/support/wait.h"

namespace sotto::test {
namespace {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

bool TmuxSession::installed() {
  return access(kTmux, X_OK) == 0;
}

TmuxSession::TmuxSession(const std::vector<std::string>& argv, int width, int height) {
  static std::atomic<int> counter{0};
  socket_ = "sotto-tui-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  std::string command = "env LANG=C.UTF-8 LC_ALL=C.UTF-8";
  for (const std::string& arg : argv) command += " " + shell_quote(arg);
  command += "; echo \"sotto exited $?\"; exec sleep 600";
  auto started = tmux({"-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x",
                       std::to_string(width), "-y", std::to_string(height), "sh", "-c", command});
  if (started.exit_code != 0) throw std::runtime_error("tmux failed: " + started.err);
}

TmuxSession::~TmuxSession() {
  tmux({"kill-server"});
}

std::string TmuxSession::screen() {
  return tmux({"capture-pane", "-p", "-t", "ui"}).out;
}

void TmuxSession::key(const std::string& name) {
  tmux({"send-keys", "-t", "ui", name});
}

void TmuxSession::type(const std::string& text) {
  tmux({"send-keys", "-t", "ui", "-l", text});
}

void TmuxSession::line(const std::string& text) {
  type(text);
  key("Enter");
}

void TmuxSession::resize(int width, int height) {
  tmux({"resize-window", "-t", "ui", "-x", std::to_string(width), "-y", std::to_string(height)});
}

bool TmuxSession::wait_for(const std::string& needle, std::chrono::milliseconds deadline) {
  const bool found =
      wait_until([&] { return (last_ = screen()).find(needle) != std::string::npos; }, deadline);
  if (!found) UNSCOPED_INFO("waited for '" << needle << "'; the screen:\n" << last_);
  return found;
}

CommandResult TmuxSession::tmux(std::vector<std::string> args) {
  args.insert(args.begin(), {"-u", "-L", socket_});
  return run_command(kTmux, args);
}

}  // namespace sotto::test
