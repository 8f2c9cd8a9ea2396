// Runs the real sotto binary (next to the test binary in build/) and captures what it printed.
#pragma once

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

}  // namespace sotto::test
