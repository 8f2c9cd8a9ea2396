// What `sotto --version` prints: sotto's own version, then the library versions it runs with.
#pragma once

#include <string>

namespace sotto::cli {

// The release; debian/changelog's newest entry must carry the same (a test checks it).
inline constexpr const char* kSottoVersion = "0.1.0";

// "sotto 0.1.0" and one "  NAME VERSION" line per library (CLI11 ends the last line).
std::string version_text();

}  // namespace sotto::cli
