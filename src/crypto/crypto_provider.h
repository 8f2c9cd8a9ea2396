// The cryptographic primitives libsignal-protocol-c asks its host for, implemented with OpenSSL 3.
//
// libsignal-protocol-c ships no crypto of its own for HMAC-SHA256, SHA-512, AES-CBC/CTR and
// random bytes; it calls the function pointers of a signal_crypto_provider. This one uses only
// non-deprecated OpenSSL 3 APIs (EVP_MAC, EVP_MD, EVP_CIPHER, RAND_bytes). Every callback reports
// failure as a negative SG_ERR_* code (SG_ERR_INVAL for bad arguments, SG_ERR_NOMEM, otherwise
// SG_ERR_UNKNOWN) and never aborts, whatever bytes a peer sent.
// Thread-safety: the callbacks keep no shared state, so the provider may be used by several
// signal_contexts on several threads; each HMAC or digest context belongs to one caller.
#pragma once

#include <signal_protocol.h>

namespace sotto::crypto {

// A filled provider with user_data == nullptr, ready for signal_context_set_crypto_provider
// (which copies it).
signal_crypto_provider openssl_crypto_provider();

}  // namespace sotto::crypto
