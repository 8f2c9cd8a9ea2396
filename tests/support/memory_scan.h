// Looks for byte strings in another process's memory: every readable mapping of /proc/PID/mem,
// with the process stopped (SIGSTOP) meanwhile so that what is read is one moment's picture.
// Reading another process's memory takes root or ptrace rights over it; the tests run as root.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "sotto/base/bytes.h"

namespace sotto::test {

struct MemoryScan {
  std::vector<size_t> hits;  // per needle, how often it occurs
  size_t bytes_read = 0;  // how much memory was searched (a scan that read nothing proves nothing)
  std::string error;      // set when /proc/PID/maps or mem could not be opened
};

MemoryScan scan_memory(pid_t pid, const std::vector<Bytes>& needles);

}  // namespace sotto::test
