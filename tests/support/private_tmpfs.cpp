#include "tests/support/private_tmpfs.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sotto::test {
namespace {

constexpr unsigned long kMountFlags = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// "size=N,mode=0700" without the allocator or stdio: the holder is a child forked from a
// process that may have threads, so it may only make async-signal-safe calls.
void size_option(uint64_t bytes, char (&out)[64]) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + bytes % 10);
    bytes /= 10;
  } while (bytes != 0);
  const char prefix[] = "size=";
  const char suffix[] = ",mode=0700";
  size_t at = 0;
  for (size_t i = 0; prefix[i] != '\0'; ++i) out[at++] = prefix[i];
  while (n > 0) out[at++] = digits[--n];
  for (size_t i = 0; suffix[i] != '\0'; ++i) out[at++] = suffix[i];
  out[at] = '\0';
}

bool read_full(int fd, void* data, size_t size) {
  auto* bytes = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The holder: mounts, reports, then remounts on request until the test closes the pipe.
[[noreturn]] void hold(const char* dir, uint64_t size, int requests, int replies, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);
  // Only the two pipes stay open, as fds 3 and 4: nothing of the test's (sockets, pipes) is
  // held hostage. Moved out of the way first, in case either is 3 or 4 already.
  requests = ::fcntl(requests, F_DUPFD, 100);
  replies = ::fcntl(replies, F_DUPFD, 100);
  if (requests < 0 || replies < 0 || ::dup2(requests, 3) < 0 || ::dup2(replies, 4) < 0) {
    ::_exit(1);
  }
  ::syscall(SYS_close_range, 5U, ~0U, 0U);
  char option[64];
  size_option(size, option);
  int error = 0;
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", dir, "tmpfs", kMountFlags, option) != 0) {
    error = errno;
  }
  (void)!::write(4, &error, sizeof error);
  if (error != 0) ::_exit(1);
  while (read_full(3, &size, sizeof size)) {
    size_option(size, option);
    error = ::mount("tmpfs", dir, nullptr, MS_REMOUNT | kMountFlags, option) == 0 ? 0 : errno;
    (void)!::write(4, &error, sizeof error);
  }
  ::_exit(0);
}

}  // namespace

std::unique_ptr<PrivateTmpfs> PrivateTmpfs::create(uint64_t size_bytes, std::string& why_not) {
  if (::geteuid() != 0) {
    why_not = "a private tmpfs needs root (running as uid " + std::to_string(::geteuid()) + ")";
    return nullptr;
  }
  std::unique_ptr<PrivateTmpfs> fs(new PrivateTmpfs());
  int requests[2], replies[2];
  if (::pipe2(requests, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (::pipe2(replies, O_CLOEXEC) != 0) {
    ::close(requests[0]);
    ::close(requests[1]);
    throw std::runtime_error("pipe failed");
  }
  const std::string dir = fs->mount_point_.path();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) hold(dir.c_str(), size_bytes, requests[0], replies[1], parent);
  ::close(requests[0]);
  ::close(replies[1]);
  fs->request_fd_ = requests[1];
  fs->reply_fd_ = replies[0];
  if (pid < 0) throw std::runtime_error("fork failed");
  fs->holder_ = pid;
  int error = 0;
  if (!read_full(fs->reply_fd_, &error, sizeof error)) error = EIO;
  if (error != 0) {
    why_not = "mounting a tmpfs in a private mount namespace failed: " +
              std::string(std::strerror(error));
    return nullptr;
  }
  fs->path_ = "/proc/" + std::to_string(pid) + "/root" + dir;
  return fs;
}

PrivateTmpfs::~PrivateTmpfs() {
  if (request_fd_ >= 0) ::close(request_fd_);  // the holder exits; the tmpfs goes with it
  if (reply_fd_ >= 0) ::close(reply_fd_);
  if (holder_ > 0) {
    int status = 0;
    while (::waitpid(holder_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void PrivateTmpfs::resize(uint64_t size_bytes) {
  int error = EIO;
  if (::write(request_fd_, &size_bytes, sizeof size_bytes) !=
          static_cast<ssize_t>(sizeof size_bytes) ||
      !read_full(reply_fd_, &error, sizeof error) || error != 0) {
    throw std::runtime_error("resizing the tmpfs to " + std::to_string(size_bytes) +
                             " bytes failed: " + std::strerror(error));
  }
}

uint64_t PrivateTmpfs::used_bytes() const {
  struct statvfs st {};
  if (::statvfs(path_.c_str(), &st) != 0) throw std::runtime_error("statvfs " + path_ + " failed");
  return static_cast<uint64_t>(st.f_blocks - st.f_bfree) * st.f_frsize;
}

uint64_t PrivateTmpfs::size_bytes() const {
  struct statvfs st {};
  if (::statvfs(path_.c_str(), &st) != 0) throw std::runtime_error("statvfs " + path_ + " failed");
  return static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
}

}  // namespace sotto::test
