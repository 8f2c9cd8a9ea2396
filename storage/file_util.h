// Small POSIX file helpers for the storage layer; errors as Status with the path and errno text.
#pragma once

#include <string>

#include "sotto/base/status.h"

namespace sotto::storage {

Status status_from_errno(int err, const std::string& what);

// Writes `content` to `path` atomically: a temporary file (mode 0600) is written, fsynced and
// renamed over `path`, then the directory is fsynced.
Status write_file_atomically(const std::string& path, const std::string& content);
Result<std::string> read_small_file(const std::string& path, size_t max_size);
Status rename_durably(const std::string& from, const std::string& to);
Status fsync_directory(const std::string& dir);
bool path_exists(const std::string& path);

}  // namespace sotto::storage
