// ProfileLock: at most one process has a profile open.
//
// flock() on DIR/sotto.lock; the kernel drops the lock when the holder exits, even by kill -9, so
// a crash never leaves a profile locked. The holder's PID is written into the file only after the
// passphrase has been accepted: a failed unlock must not change any file in the profile.
#pragma once

#include <memory>
#include <string>

#include "sotto/base/status.h"

namespace sotto::storage {

class ProfileLock {
 public:
  // Takes the lock if the lock file exists, without writing anything.
  // Errors: Busy ("profile in use by PID N") when another process holds it.
  static Result<std::unique_ptr<ProfileLock>> acquire(const std::string& lock_path);
  ~ProfileLock();
  ProfileLock(const ProfileLock&) = delete;
  ProfileLock& operator=(const ProfileLock&) = delete;

  // Creates the lock file if needed, takes the lock if not yet held, and records this PID.
  Status claim();

 private:
  explicit ProfileLock(std::string path) : path_(std::move(path)) {}
  Status lock_fd();

  std::string path_;
  int fd_ = -1;
  bool claimed_ = false;
};

}  // namespace sotto::storage
