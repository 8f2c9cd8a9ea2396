#include "tests/support/memory_scan.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>  // memmem
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace sotto::test {
namespace {

struct Region {
  uint64_t begin = 0;
  uint64_t end = 0;
};

std::vector<Region> readable_regions(pid_t pid) {
  std::vector<Region> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    Region region;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %7s", &region.begin, &region.end,
                    perms) != 3) {
      continue;
    }
    // [vvar] and the like cannot be read through /proc/PID/mem; they hold no process data.
    if (perms[0] != 'r' || line.find("[vvar") != std::string::npos) continue;
    // A sanitizer's shadow memory: terabytes of address space mapped but never touched, which
    // would take hours to read and holds only the sanitizer's bookkeeping. No mapping of a
    // daemon's own data comes near this size.
    constexpr uint64_t kLargestRegion = uint64_t{4} << 30;
    if (region.end - region.begin > kLargestRegion) continue;
    out.push_back(region);
  }
  return out;
}

// Stops the process for the scan and lets it go on afterwards, whatever happens in between.
class Stopped {
 public:
  explicit Stopped(pid_t pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
  ~Stopped() { ::kill(pid_, SIGCONT); }
  Stopped(const Stopped&) = delete;
  Stopped& operator=(const Stopped&) = delete;

 private:
  pid_t pid_;
};

}  // namespace

MemoryScan scan_memory(pid_t pid, const std::vector<Bytes>& needles) {
  MemoryScan scan;
  scan.hits.assign(needles.size(), 0);
  size_t longest = 1;
  for (const Bytes& needle : needles) longest = std::max(longest, needle.size());

  Stopped stopped(pid);
  const std::vector<Region> regions = readable_regions(pid);
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (regions.empty() || fd < 0) {
    scan.error =
        "cannot read the memory of process " + std::to_string(pid) + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return scan;
  }
  constexpr size_t kChunk = 1 << 20;
  // Each chunk starts with the previous chunk's last (longest - 1) bytes, so that a needle
  // across a chunk boundary is seen once, and a needle inside the overlap not twice.
  std::vector<uint8_t> buffer(kChunk + longest);
  for (const Region& region : regions) {
    size_t carried = 0;
    for (uint64_t at = region.begin; at < region.end;) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, region.end - at));
      const ssize_t got = ::pread(fd, buffer.data() + carried, want, static_cast<off_t>(at));
      if (got <= 0) break;  // e.g. a guard page: the rest of this region is not readable
      const size_t size = carried + static_cast<size_t>(got);
      scan.bytes_read += static_cast<size_t>(got);
      for (size_t i = 0; i < needles.size(); ++i) {
        const Bytes& needle = needles[i];
        if (needle.empty() || needle.size() > size) continue;
        const uint8_t* from = buffer.data();
        const uint8_t* end = buffer.data() + size;
        // Matches that lie wholly inside the carried bytes were counted with the last chunk.
        const uint8_t* first_new = buffer.data() + carried;
        while (const void* found =
                   ::memmem(from, static_cast<size_t>(end - from), needle.data(), needle.size())) {
          const auto* hit = static_cast<const uint8_t*>(found);
          if (hit + needle.size() > first_new) ++scan.hits[i];
          from = hit + 1;
        }
      }
      carried = std::min(size, longest - 1);
      std::memmove(buffer.data(), buffer.data() + size - carried, carried);
      at += static_cast<uint64_t>(got);
    }
  }
  ::close(fd);
  return scan;
}

}  // namespace sotto::test
