// The input line's commands (/open, /msg, /channel invite, ...): parsing, the table the help and
// the completion use, and Tab completion of commands and names.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/status.h"

namespace sotto::tui {

struct CommandSpec {
  std::string name;   // "channel invite" for a sub-command
  std::string usage;  // "/channel invite CHANNEL PEER"
  std::string help;
  int min_args = 0;
  int max_args = 0;  // the last argument takes the rest of the line when `rest` is set
  bool rest = false;
};

// Every command, in the order /help lists them.
const std::vector<CommandSpec>& command_specs();

struct Command {
  std::string name;               // as in CommandSpec::name
  std::vector<std::string> args;  // with `rest`, the last one is the rest of the line as typed
};

// True when `line` is a command (starts with '/', but "//text" sends "/text").
bool is_command(std::string_view line);
// Parses "/channel invite ops bob". Errors: InvalidArgument naming the command's usage, or
// "unknown command /x (try /help)".
Result<Command> parse_command(std::string_view line);

struct Completion {
  std::string line;                     // the line with the last word completed as far as possible
  std::vector<std::string> candidates;  // when several remain (empty: one or none)
};
// Completes the last word of `line`: a command name while typing the command (and the
// sub-commands of /channel), otherwise one of `names` (contact names, #channels, peers).
Completion complete(std::string_view line, const std::vector<std::string>& names);

}  // namespace sotto::tui
