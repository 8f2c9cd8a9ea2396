#include "tests/support/temp_dir.h"

#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace sotto::test {

TempDir::TempDir() {
  std::string pattern = std::filesystem::temp_directory_path().string() + "/sotto-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(path_, ec);
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, ByteView content, int mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(content.data()),
              static_cast<std::streamsize>(content.size()));
  }
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

void write_file(const std::string& path, const std::string& content, int mode) {
  write_file(path, as_bytes(content), mode);
}

std::map<std::string, std::string> digest_files(const std::string& dir) {
  std::map<std::string, std::string> digests;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    Bytes content = read_file(entry.path().string());
    uint8_t digest[32];
    unsigned int size = sizeof digest;
    EVP_Digest(content.data(), content.size(), digest, &size, EVP_sha256(), nullptr);
    digests[entry.path().filename().string()] = to_hex(ByteView(digest, size));
  }
  return digests;
}

bool file_contains(const std::string& path, const std::string& needle) {
  Bytes content = read_file(path);
  return std::search(content.begin(), content.end(), needle.begin(), needle.end()) != content.end();
}

std::vector<std::string> files_containing(const std::string& dir, const std::string& needle,
                                          int64_t since, size_t* scanned) {
  namespace fs = std::filesystem;
  std::vector<std::string> hits;
  size_t files = 0;
  std::error_code ec;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_mtime < since || st.st_size > (int64_t{256} << 20)) continue;
    ++files;
    if (file_contains(it->path().string(), needle)) hits.push_back(it->path().string());
  }
  if (scanned) *scanned = files;
  return hits;
}

}  // namespace sotto::test
