// The terminal UI's entry point (`sotto` with no command): the profile gate, then the node in
// this process (its loop on a thread of its own, the control socket served) under the main
// screen, until the user quits. The terminal is restored on every way out.
#pragma once

#include <optional>
#include <string>

#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/core/node.h"

namespace sotto::tui {

struct TuiOptions {
  std::string profile_dir;
  // From --passphrase-file/--passphrase-fd: no unlock screen (and no passphrase fields when a
  // profile is created).
  std::optional<SecretBytes> passphrase;
  // The image a lock left behind: the unlock screen, whatever passphrase source was given.
  bool start_locked = false;
  core::NodeOptions node;
};

enum class TuiExit {
  kQuit,
  // The user (F12, /lock) or `sotto lock` locked the profile: the node has stopped and the
  // account is closed; the caller replaces the process image (include/sotto/core/locked.h),
  // whose fresh UI opens on the unlock screen.
  kLock,
};

// Errors: InvalidArgument without a terminal; AuthFailed for a wrong given passphrase; the
// node's errors (e.g. Busy: profile in use).
Result<TuiExit> run_tui(TuiOptions options);

}  // namespace sotto::tui
