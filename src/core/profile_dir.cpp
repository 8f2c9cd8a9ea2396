#include "sotto/core/profile_dir.h"

#include "sotto/storage/profile.h"

namespace sotto::core {

std::string default_profile_dir() {
  return storage::Profile::default_dir();
}

bool profile_exists(const std::string& dir) {
  return storage::Profile::exists(dir);
}

Status wipe_profile(const std::string& dir) {
  return storage::Profile::wipe(dir);
}

}  // namespace sotto::core
