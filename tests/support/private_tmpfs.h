// PrivateTmpfs: a small tmpfs in a mount namespace of its own, for tests that need a disk that
// fills up (doc/guide.md, Text "storage full") without touching the host's mounts.
//
// A child process holds the namespace: it unshares its mount namespace, mounts the tmpfs on an
// empty temporary directory there and then only serves resize requests. Any process reaches the
// file system through path() = /proc/HOLDER/root/DIR (the kernel resolves it in the holder's
// namespace), so the daemon under test and the test's own reads need no namespace of their own.
// The host's mount table never lists it, and it goes away with the holder: in the destructor,
// or when the test process dies (PR_SET_PDEATHSIG), so a killed run leaves nothing mounted.
// Needs root (CAP_SYS_ADMIN); create() says why not otherwise, so callers can skip.
// Thread-safety: one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "tests/support/temp_dir.h"

namespace sotto::test {

class PrivateTmpfs {
 public:
  // A tmpfs of `size_bytes` (rounded up to pages), or nullptr with the reason in `why_not`.
  static std::unique_ptr<PrivateTmpfs> create(uint64_t size_bytes, std::string& why_not);
  ~PrivateTmpfs();
  PrivateTmpfs(const PrivateTmpfs&) = delete;
  PrivateTmpfs& operator=(const PrivateTmpfs&) = delete;

  // The tmpfs's root as every process can reach it.
  const std::string& path() const { return path_; }
  // Remounts it with a new size (mount -o remount,size=...); throws std::runtime_error when the
  // kernel refuses (a size below what is in use).
  void resize(uint64_t size_bytes);
  uint64_t used_bytes() const;
  uint64_t size_bytes() const;

 private:
  PrivateTmpfs() = default;

  TempDir mount_point_;  // empty on the host; the tmpfs covers it in the holder's namespace
  pid_t holder_ = -1;
  int request_fd_ = -1;  // sizes to the holder
  int reply_fd_ = -1;    // errno values back (0: done)
  std::string path_;
};

}  // namespace sotto::test
