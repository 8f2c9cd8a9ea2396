// Runs the real sotto binary (next to the test binary in build/) and captures what it printed.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sotto::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Path of build/sotto for the test binary that is running.
std::string sotto_binary();
// Runs `program args...` with stdin from /dev/null (or `stdin_text` through a pipe), waits for it
// and returns its exit code and output.
CommandResult run_command(const std::string& program, const std::vector<std::string>& args,
                          const std::string* stdin_text = nullptr);
CommandResult run_sotto(const std::vector<std::string>& args);
// The CLI's contract for bad input: nothing on stdout, exactly one line on stderr.
bool one_line_error(const CommandResult& result);
// What a command printed, one entry a line, without the line ends.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace sotto::test

namespace sotto::test {

// A child process left running (a daemon); its stdout is read line by line. Killed on
// destruction if still alive.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::string& program, const std::vector<std::string>& args);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  int pid() const { return pid_; }
  // Waits up to `timeout_ms` for a complete stdout line containing `needle`; returns it.
  std::optional<std::string> wait_for_line(const std::string& needle, int timeout_ms);
  // Sends `signal` and waits up to `timeout_ms` for the exit; returns the exit code, or -1 if it
  // had to be killed.
  int stop(int signal, int timeout_ms = 10000);
  bool running();
  const std::string& output() const { return output_; }
  // What it has printed so far, without waiting for more.
  const std::string& read_available();

 private:
  int pid_ = -1;
  int out_fd_ = -1;
  std::string output_;
  size_t consumed_ = 0;
};

}  // namespace sotto::test
