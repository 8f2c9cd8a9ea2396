#include "src/crypto/signal_context.h"

#include "src/crypto/crypto_provider.h"
#include "src/crypto/signal_status.h"

namespace sotto::crypto {

Result<std::unique_ptr<SignalContext>> SignalContext::create() {
  // Not make_unique: the constructor is private so every instance gets its callbacks here.
  std::unique_ptr<SignalContext> self(new SignalContext());
  SOTTO_RETURN_IF_ERROR(status_from_signal(signal_context_create(&self->context_, self.get()),
                                           "creating signal context"));
  const signal_crypto_provider provider = openssl_crypto_provider();
  SOTTO_RETURN_IF_ERROR(
      status_from_signal(signal_context_set_crypto_provider(self->context_, &provider),
                         "setting signal crypto provider"));
  SOTTO_RETURN_IF_ERROR(
      status_from_signal(signal_context_set_locking_functions(self->context_, &SignalContext::lock,
                                                              &SignalContext::unlock),
                         "setting signal locking functions"));
  SOTTO_RETURN_IF_ERROR(
      status_from_signal(signal_context_set_log_function(self->context_, &SignalContext::log),
                         "setting signal log function"));
  return self;
}

SignalContext::~SignalContext() {
  signal_context_destroy(context_);
}

void SignalContext::lock(void* self) {
  static_cast<SignalContext*>(self)->mutex_.lock();
}

void SignalContext::unlock(void* self) {
  static_cast<SignalContext*>(self)->mutex_.unlock();
}

void SignalContext::log(int level, const char* /*message*/, size_t /*len*/, void* self) {
  // The text is never looked at (see the header); lower levels (notice, info, debug) are noise.
  if (level <= SG_LOG_WARNING) {
    static_cast<SignalContext*>(self)->warnings_.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace sotto::crypto
