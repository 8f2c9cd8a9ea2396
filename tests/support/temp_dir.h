// Test helpers for files: a private temporary directory removed on scope exit, file digests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"

namespace sotto::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

Bytes read_file(const std::string& path);
void write_file(const std::string& path, ByteView content, int mode = 0600);
void write_file(const std::string& path, const std::string& content, int mode = 0600);
// SHA-256 (hex) of every regular file directly in `dir`, by name.
std::map<std::string, std::string> digest_files(const std::string& dir);
// True when `needle` occurs anywhere in the file's bytes.
bool file_contains(const std::string& path, const std::string& needle);
// Every regular file under `dir` (recursively; unreadable parts skipped) that contains `needle`,
// of those changed since `since` (all when 0, seconds since the epoch) and at most 256 MiB.
// `scanned` (when given) counts the files searched.
std::vector<std::string> files_containing(const std::string& dir, const std::string& needle,
                                          int64_t since = 0, size_t* scanned = nullptr);

}  // namespace sotto::test
