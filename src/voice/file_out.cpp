#include "src/voice/file_out.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace sotto::voice {

Status write_file(const std::string& path, ByteView bytes) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return Status::io_error("creating " + path + ": " + std::strerror(errno));
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    return Status::io_error("writing " + path + ": " + std::strerror(errno));
  }
  FILE* raw = f.release();
  if (std::fclose(raw) != 0) {
    return Status::io_error("closing " + path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace sotto::voice
