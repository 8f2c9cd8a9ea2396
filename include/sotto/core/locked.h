// A locked profile: what a node becomes after `sotto lock`.
//
// Locking must leave no key in the process. Wiping our own buffers is not enough: libsignal
// frees private and chain keys without overwriting them, and SQLite's page cache, protobuf and
// the C++ library keep freed copies of what passed through them. So the front end locks by
// replacing its whole memory image (execv of itself, see cli::relock); the fresh image starts
// here, having never seen a key, and waits for the passphrase.
//
// While locked, the process still holds the profile (other processes get "profile in use") and
// answers on DIR/control.sock:
//   {"cmd": "unlock", "passphrase_hex": "..."}  -> {"ok": true} once the profile is open, or
//                                                 {"ok": false, "code": "auth_failed", ...}
//   {"cmd": "lock"}                             -> {"ok": true, "locked": true}
//   anything else                               -> {"ok": false, "code": "unavailable",
//                                                   "locked": true, "error": "... locked ..."}
// Thread-safety: one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sotto/base/status.h"
#include "sotto/core/account.h"

namespace sotto::core {

// Serves the locked profile in `dir` until an unlock request brings the right passphrase (the
// account, already open) or `stop_requested` turns true (Unavailable). `on_waiting` runs once
// the control socket answers. Errors: as storage::ProfileHold::take, or the control socket's.
Result<std::unique_ptr<Account>> wait_for_unlock(const std::string& dir,
                                                 const std::function<bool()>& stop_requested,
                                                 const std::function<void()>& on_waiting = {});

// The unlock request for `passphrase` (hex keeps any bytes intact inside JSON), to send with
// ControlClient::request(const SecretBytes&) (net::ZmqSocket::send_secret: what libzmq keeps).
SecretBytes unlock_request(const SecretBytes& passphrase);

}  // namespace sotto::core
