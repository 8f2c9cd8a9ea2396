#include "src/cli/version.h"

#include "sotto/core/library_versions.h"

namespace sotto::cli {

std::string version_text() {
  std::string text = std::string("sotto ") + kSottoVersion;
  for (const core::LibraryVersion& library : core::library_versions()) {
    text += "\n  " + library.name + " " + library.version;
  }
  return text;
}

}  // namespace sotto::cli
