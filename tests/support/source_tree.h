// Files of the source tree the tests check (man pages, completion, debian/, the fuzz corpus).
#pragma once

#include <filesystem>

namespace sotto::test {

// `relative` in this source tree: from the repository root (where `make test` runs), or above
// the test binary (build/.../sotto-tests) when started from elsewhere. `relative` unchanged when
// neither has it, so that the caller's own check fails naming it.
std::filesystem::path source_path(const std::filesystem::path& relative);

}  // namespace sotto::test
