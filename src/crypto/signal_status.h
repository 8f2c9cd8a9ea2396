// status_from_signal: the one place libsignal-protocol-c's SG_ERR_* codes become a Status.
//
// The category is what a caller can act on: a message that fails authentication (bad MAC,
// tampered, replayed) is AuthFailed and is dropped; a malformed one is Corruption; a missing
// session or pre-key is NotFound; a changed identity key is Untrusted and goes to the user.
// The message is "<what>: <reason> (signal error <rc>)", e.g.
// "decrypting message: duplicate message (signal error -1001)".
// Thread-safety: pure functions.
#pragma once

#include <signal_protocol.h>

#include <string>
#include <string_view>

#include "sotto/base/status.h"

namespace sotto::crypto {

namespace signal_status_internal {

inline std::string code_suffix(int rc) {
  return " (signal error " + std::to_string(rc) + ")";
}

}  // namespace signal_status_internal

// Ok for rc >= 0 (libsignal returns counts and booleans as non-negative values).
inline Status status_from_signal(int rc, std::string_view what) {
  if (rc >= 0) return Status::ok();
  std::string prefix(what);
  prefix += ": ";
  auto msg = [&](std::string_view reason) {
    return prefix + std::string(reason) + signal_status_internal::code_suffix(rc);
  };
  switch (rc) {
    case SG_ERR_NOMEM:
      return Status::internal(msg("out of memory"));
    case SG_ERR_INVAL:
      return Status::invalid_argument(msg("invalid argument"));
    case SG_ERR_UNKNOWN:
      return Status::internal(msg("unknown error"));
    // A replay is refused like a forgery; is_duplicate_message tells it apart for callers that
    // answer a benign retransmission (the sender missed our receipt).
    case SG_ERR_DUPLICATE_MESSAGE:
      return Status::auth_failed(msg("duplicate message"));
    case SG_ERR_INVALID_KEY:
      return Status::corruption(msg("invalid key"));
    case SG_ERR_INVALID_KEY_ID:
      return Status::not_found(msg("unknown key id"));
    case SG_ERR_INVALID_MAC:
      return Status::auth_failed(msg("bad message authentication code"));
    // libsignal reports a failed MAC check on a whisper message as INVALID_MESSAGE, so a
    // tampered message usually arrives here rather than at INVALID_MAC.
    case SG_ERR_INVALID_MESSAGE:
      return Status::auth_failed(msg("invalid message"));
    case SG_ERR_INVALID_VERSION:
      return Status::corruption(msg("unsupported message version"));
    case SG_ERR_LEGACY_MESSAGE:
      return Status::corruption(msg("legacy message version"));
    case SG_ERR_NO_SESSION:
      return Status::not_found(msg("no session"));
    case SG_ERR_STALE_KEY_EXCHANGE:
      return Status::auth_failed(msg("stale key exchange"));
    case SG_ERR_UNTRUSTED_IDENTITY:
      return Status::untrusted(msg("untrusted identity key"));
    case SG_ERR_VRF_SIG_VERIF_FAILED:
      return Status::auth_failed(msg("signature verification failed"));
    case SG_ERR_INVALID_PROTO_BUF:
      return Status::corruption(msg("malformed protobuf"));
    case SG_ERR_FP_VERSION_MISMATCH:
      return Status::invalid_argument(msg("fingerprint version mismatch"));
    case SG_ERR_FP_IDENT_MISMATCH:
      return Status::untrusted(msg("fingerprint identity mismatch"));
  }
  // Below SG_ERR_MINIMUM are codes our own store callbacks returned through libsignal.
  if (rc < SG_ERR_MINIMUM) return Status::internal(msg("store callback failed"));
  return Status::internal(msg("unexpected error"));
}

// True for the Status status_from_signal made of SG_ERR_DUPLICATE_MESSAGE, also after
// with_context (which only adds a prefix).
inline bool is_duplicate_message(const Status& status) {
  const std::string suffix = signal_status_internal::code_suffix(SG_ERR_DUPLICATE_MESSAGE);
  const std::string& message = status.message();
  return status.code() == StatusCode::kAuthFailed && message.ends_with(suffix);
}

}  // namespace sotto::crypto
