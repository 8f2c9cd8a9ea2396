#include "tests/support/source_tree.h"

namespace sotto::test {

std::filesystem::path source_path(const std::filesystem::path& relative) {
  namespace fs = std::filesystem;
  if (fs::exists(relative)) return relative;
  for (fs::path dir = fs::read_symlink("/proc/self/exe").parent_path(); !dir.empty();
       dir = dir.parent_path()) {
    if (fs::exists(dir / relative)) return dir / relative;
    if (dir == dir.root_path()) break;
  }
  return relative;
}

}  // namespace sotto::test
