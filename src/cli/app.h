// The command line: parses arguments per man sotto and runs one command.
#pragma once

namespace sotto::cli {

// Returns the process exit code: 0 ok, 1 operational error, 2 usage or bad input.
int run(int argc, char** argv);

}  // namespace sotto::cli
