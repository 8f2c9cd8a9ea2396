#include "tests/support/memory_scan.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>  // memmem
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sotto/core/account.h"
#include "sotto/storage/profile.h"
#include "src/core/account_internals.h"
#include "storage/profile_header.h"
#include "tests/support/sanitizers.h"

namespace sotto::test {
namespace {

struct Region {
  uint64_t begin = 0;
  uint64_t end = 0;
  bool locked = false;  // see MemoryScan::locked_hits
};

// /proc/PID/smaps: a header line per mapping (as in /proc/PID/maps), then "Key: value" lines
// ending with its VmFlags.
std::vector<Region> readable_regions(pid_t pid) {
  std::vector<Region> out;
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  bool wanted = false;
  while (std::getline(smaps, line)) {
    if (line.rfind("VmFlags:", 0) == 0) {
      if (!wanted) continue;
      std::istringstream flags(line.substr(8));
      bool lo = false, dd = false;
      for (std::string flag; flags >> flag;) {
        lo = lo || flag == "lo";
        dd = dd || flag == "dd";
      }
      out.back().locked = (lo || kSanitized) && dd;
      continue;
    }
    Region region;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %7s", &region.begin, &region.end,
                    perms) != 3) {
      continue;  // one of the mapping's "Key: value" lines
    }
    // [vvar] and the like cannot be read through /proc/PID/mem; they hold no process data.
    // A sanitizer's shadow memory: terabytes of address space mapped but never touched, which
    // would take hours to read and holds only the sanitizer's bookkeeping. No mapping of a
    // daemon's own data comes near this size.
    constexpr uint64_t kLargestRegion = uint64_t{4} << 30;
    wanted = perms[0] == 'r' && line.find("[vvar") == std::string::npos &&
             region.end - region.begin <= kLargestRegion;
    if (wanted) out.push_back(region);
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
  scan.locked_hits.assign(needles.size(), 0);
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
          if (hit + needle.size() > first_new) {
            ++scan.hits[i];
            if (region.locked) ++scan.locked_hits[i];
          }
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

std::vector<Bytes> ProfileSecrets::needles() const {
  const std::string hex = to_hex(database_key);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return {database_key, private_key, passphrase, Bytes(hex.begin(), hex.end()),
          Bytes(upper.begin(), upper.end())};
}

ProfileSecrets profile_secrets(const std::string& profile_dir, const std::string& passphrase) {
  ProfileSecrets secrets;
  const SecretBytes pass = SecretBytes::copy_of(passphrase);
  secrets.passphrase.assign(pass.view().begin(), pass.view().end());
  auto header =
      storage::ProfileHeader::read_file(profile_dir + "/" + storage::Profile::kHeaderFile);
  REQUIRE(header.is_ok());
  auto key = storage::derive_key(pass, header->salt, header->kdf);
  REQUIRE(key.is_ok());
  secrets.database_key.assign(key->view().begin(), key->view().end());
  auto account = core::Account::open(profile_dir, pass);
  REQUIRE(account.is_ok());
  const SecretBytes& private_key =
      core::AccountInternals::signal(*account.value()).identity().private_key;
  // Its last 32 bytes: the scalar itself, whatever prefix a serialisation puts before it.
  REQUIRE(private_key.size() >= 32);
  secrets.private_key.assign(private_key.view().end() - 32, private_key.view().end());
  return secrets;
}

}  // namespace sotto::test
