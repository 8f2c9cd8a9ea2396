// The versions of the libraries this process runs with, read from the libraries themselves at run
// time (not the headers it was built against): what `sotto --version` reports, so a bug report
// or an audit of an air-gapped host names the code that actually handles its keys.
// Thread-safety: a free function, any thread.
#pragma once

#include <string>
#include <vector>

namespace sotto::core {

struct LibraryVersion {
  std::string name;     // "libzmq", "libsignal-protocol-c", "Opus", "SQLCipher", "libsodium"
  std::string version;  // as the library states it; "unknown" when it cannot say
};

// In the order above.
std::vector<LibraryVersion> library_versions();

}  // namespace sotto::core
