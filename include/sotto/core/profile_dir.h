// The profile directory before any passphrase: where it is, whether a profile was made there,
// and destroying it. What a front end asks before it opens a profile (core::Account) or instead
// of opening it; the files themselves are storage's (sotto/storage/profile.h), which the front
// ends do not see. Thread-safety: free functions, any thread.
#pragma once

#include <string>

#include "sotto/base/status.h"

namespace sotto::core {

// $XDG_DATA_HOME/sotto, or ~/.local/share/sotto.
std::string default_profile_dir();

// True when DIR holds an initialised profile, open or not.
bool profile_exists(const std::string& dir);

// Destroys the profile in DIR irreversibly (every file overwritten with random bytes, synced,
// deleted; the directory removed). No passphrase is needed.
// Errors: NotFound (no profile), Busy (a process has it open).
Status wipe_profile(const std::string& dir);

}  // namespace sotto::core
