// SignalContext: the libsignal-protocol-c global context, wired to sotto's crypto provider.
//
// It owns a signal_context with the OpenSSL provider (crypto_provider.h), recursive locking
// backed by a member mutex, and a log sink that discards every message: libsignal's log lines
// may quote identifiers or key material, so none reach a terminal or file. Errors and warnings
// are only counted. Everything built from the context (store context, session builders,
// ciphers) must be destroyed before it.
// Thread-safety: libsignal takes the context's lock around store access, so calls through one
// context from several threads are serialized; by design sotto still keeps Signal calls on the
// node thread. warning_count() may be read from any thread. Neither copyable nor movable, since
// libsignal holds `this` as its callback argument.
#pragma once

#include <signal_protocol.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "sotto/base/status.h"

namespace sotto::crypto {

class SignalContext {
 public:
  static Result<std::unique_ptr<SignalContext>> create();
  ~SignalContext();

  SignalContext(const SignalContext&) = delete;
  SignalContext& operator=(const SignalContext&) = delete;

  signal_context* get() const { return context_; }

  // How many messages libsignal logged at SG_LOG_ERROR or SG_LOG_WARNING (their text is
  // dropped). A diagnostic for tests and status screens.
  uint64_t warning_count() const { return warnings_.load(std::memory_order_relaxed); }

 private:
  SignalContext() = default;

  static void lock(void* self);
  static void unlock(void* self);
  static void log(int level, const char* message, size_t len, void* self);

  // Recursive, as signal_context_set_locking_functions demands: a decrypt callback runs with
  // the lock held and may call back into libsignal, which locks again.
  std::recursive_mutex mutex_;
  std::atomic<uint64_t> warnings_{0};
  signal_context* context_ = nullptr;
};

}  // namespace sotto::crypto
