#include "storage/profile_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "storage/file_util.h"

namespace sotto::storage {

Result<std::unique_ptr<ProfileLock>> ProfileLock::acquire(const std::string& lock_path) {
  std::unique_ptr<ProfileLock> lock(new ProfileLock(lock_path));
  lock->fd_ = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (lock->fd_ < 0) {
    if (errno == ENOENT) return lock;  // created by claim() once the passphrase is accepted
    return status_from_errno(errno, "opening " + lock_path);
  }
  SOTTO_RETURN_IF_ERROR(lock->lock_fd());
  return lock;
}

Status ProfileLock::lock_fd() {
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::ok();
  if (errno != EWOULDBLOCK) return status_from_errno(errno, "locking " + path_);
  char buffer[32] = {};
  ssize_t n = ::pread(fd_, buffer, sizeof buffer - 1, 0);
  std::string pid = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return Status::busy(pid.empty() ? "profile in use by another process"
                                  : "profile in use by PID " + pid);
}

Status ProfileLock::claim() {
  if (claimed_) return Status::ok();
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) return status_from_errno(errno, "creating " + path_);
    SOTTO_RETURN_IF_ERROR(lock_fd());
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
    return status_from_errno(errno, "writing " + path_);
  }
  claimed_ = true;
  return Status::ok();
}

ProfileLock::~ProfileLock() {
  if (fd_ < 0) return;
  // Best effort: a stale PID in an unlocked file is harmless, flock is what counts.
  if (claimed_ && ::ftruncate(fd_, 0) != 0) claimed_ = false;
  ::close(fd_);  // releases the flock
}

}  // namespace sotto::storage
