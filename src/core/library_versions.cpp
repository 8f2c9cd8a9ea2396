#include "sotto/core/library_versions.h"

#include <dlfcn.h>
#include <opus.h>
#include <signal_protocol.h>
#include <sodium.h>
#include <sqlite3.h>
#include <zmq.h>

#include <filesystem>
#include <memory>

namespace sotto::core {
namespace {

constexpr const char* kUnknown = "unknown";

std::string zmq_runtime_version() {
  int major = 0, minor = 0, patch = 0;
  zmq_version(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

// libsignal-protocol-c has no version call. Its shared object is installed under its full
// version (libsignal-protocol-c.so.2.3.3, the soname a link to it), so the loaded file's real
// name carries the version that runs.
std::string signal_runtime_version() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&signal_context_create), &info) == 0 ||
      info.dli_fname == nullptr) {
    return kUnknown;
  }
  std::error_code error;
  const std::string file = std::filesystem::canonical(info.dli_fname, error).filename().string();
  const std::string marker = ".so.";
  const size_t at = file.find(marker);
  if (error || at == std::string::npos) return kUnknown;
  return file.substr(at + marker.size());
}

// "libopus 1.3.1" without the library's own name.
std::string opus_runtime_version() {
  const std::string text = opus_get_version_string();
  const size_t space = text.find(' ');
  return space == std::string::npos ? text : text.substr(space + 1);
}

// SQLCipher answers only through SQL; a key-less in-memory database is enough to ask it.
std::string sqlcipher_runtime_version() {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open(":memory:", &raw);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  if (opened != SQLITE_OK) return kUnknown;
  sqlite3_stmt* raw_statement = nullptr;
  if (sqlite3_prepare_v2(db.get(), "PRAGMA cipher_version", -1, &raw_statement, nullptr) !=
      SQLITE_OK) {
    return kUnknown;
  }
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> statement(raw_statement,
                                                                       &sqlite3_finalize);
  if (sqlite3_step(statement.get()) != SQLITE_ROW) return kUnknown;
  const auto* text = sqlite3_column_text(statement.get(), 0);
  if (text == nullptr) return kUnknown;
  return std::string(reinterpret_cast<const char*>(text)) + " (SQLite " + sqlite3_libversion() +
         ")";
}

}  // namespace

std::vector<LibraryVersion> library_versions() {
  return {
      {"libzmq", zmq_runtime_version()},      {"libsignal-protocol-c", signal_runtime_version()},
      {"Opus", opus_runtime_version()},       {"SQLCipher", sqlcipher_runtime_version()},
      {"libsodium", sodium_version_string()},
  };
}

}  // namespace sotto::core
