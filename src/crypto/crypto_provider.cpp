#include "src/crypto/crypto_provider.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "src/crypto/signal_ref.h"

namespace sotto::crypto {
namespace {

constexpr size_t kAesBlockSize = 16;

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// A failed OpenSSL call leaves records in this thread's error queue; drop them so they are not
// reported against a later, unrelated call.
int openssl_error(int code = SG_ERR_UNKNOWN) {
  ERR_clear_error();
  return code;
}

// Hands a digest to libsignal as a fresh signal_buffer. Callers wipe their stack copy: HMAC
// outputs become chain and message keys.
int emit(const uint8_t* digest, size_t size, signal_buffer** output) {
  signal_buffer* buffer = signal_buffer_create(digest, size);
  if (buffer == nullptr) return SG_ERR_NOMEM;
  *output = buffer;
  return SG_SUCCESS;
}

int random_bytes(uint8_t* data, size_t len, void* /*user_data*/) noexcept {
  if (data == nullptr && len > 0) return SG_ERR_INVAL;
  while (len > 0) {
    // RAND_bytes takes an int length.
    const size_t chunk = std::min<size_t>(len, INT_MAX);
    if (RAND_bytes(data, static_cast<int>(chunk)) != 1) return openssl_error();
    data += chunk;
    len -= chunk;
  }
  return SG_SUCCESS;
}

int hmac_sha256_init(void** hmac_context, const uint8_t* key, size_t key_len,
                     void* /*user_data*/) noexcept {
  if (hmac_context == nullptr || (key == nullptr && key_len > 0)) return SG_ERR_INVAL;
  *hmac_context = nullptr;
  // Fetched once: OpenSSL 3 looks algorithms up by name under a lock, which costs more than an
  // HMAC of a few dozen bytes, and libsignal computes several per message.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return openssl_error();
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return openssl_error(SG_ERR_NOMEM);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  // To EVP_MAC_init a null key means "keep the previous key", not "empty key"; HKDF with an
  // empty salt really asks for the empty key, so give it a valid pointer and length 0.
  static const uint8_t kEmptyKey = 0;
  if (EVP_MAC_init(ctx.get(), key_len > 0 ? key : &kEmptyKey, key_len, params) != 1) {
    return openssl_error();
  }
  *hmac_context = ctx.release();
  return SG_SUCCESS;
}

int hmac_sha256_update(void* hmac_context, const uint8_t* data, size_t data_len,
                       void* /*user_data*/) noexcept {
  if (hmac_context == nullptr || (data == nullptr && data_len > 0)) return SG_ERR_INVAL;
  if (data_len == 0) return SG_SUCCESS;
  if (EVP_MAC_update(static_cast<EVP_MAC_CTX*>(hmac_context), data, data_len) != 1) {
    return openssl_error();
  }
  return SG_SUCCESS;
}

int hmac_sha256_final(void* hmac_context, signal_buffer** output, void* /*user_data*/) noexcept {
  if (hmac_context == nullptr || output == nullptr) return SG_ERR_INVAL;
  uint8_t mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_MAC_final(static_cast<EVP_MAC_CTX*>(hmac_context), mac, &mac_len, sizeof mac) != 1) {
    return openssl_error();
  }
  const int rc = emit(mac, mac_len, output);
  OPENSSL_cleanse(mac, sizeof mac);
  return rc;
}

void hmac_sha256_cleanup(void* hmac_context, void* /*user_data*/) noexcept {
  EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(hmac_context));
}

const EVP_MD* sha512_algorithm() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  return md;
}

int sha512_init(void** digest_context, void* /*user_data*/) noexcept {
  if (digest_context == nullptr) return SG_ERR_INVAL;
  *digest_context = nullptr;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) return openssl_error(SG_ERR_NOMEM);
  if (EVP_DigestInit_ex2(ctx.get(), sha512_algorithm(), nullptr) != 1) return openssl_error();
  *digest_context = ctx.release();
  return SG_SUCCESS;
}

int sha512_update(void* digest_context, const uint8_t* data, size_t data_len,
                  void* /*user_data*/) noexcept {
  if (digest_context == nullptr || (data == nullptr && data_len > 0)) return SG_ERR_INVAL;
  if (data_len == 0) return SG_SUCCESS;
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(digest_context), data, data_len) != 1) {
    return openssl_error();
  }
  return SG_SUCCESS;
}

int sha512_final(void* digest_context, signal_buffer** output, void* /*user_data*/) noexcept {
  if (digest_context == nullptr || output == nullptr) return SG_ERR_INVAL;
  auto* ctx = static_cast<EVP_MD_CTX*>(digest_context);
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1) return openssl_error();
  // The provider contract: after final the context starts a new digest (libsignal's
  // fingerprint code hashes in rounds with one context).
  int rc = EVP_DigestInit_ex2(ctx, sha512_algorithm(), nullptr) == 1
               ? emit(digest, digest_len, output)
               : openssl_error();
  OPENSSL_cleanse(digest, sizeof digest);
  return rc;
}

void sha512_cleanup(void* digest_context, void* /*user_data*/) noexcept {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(digest_context));
}

// nullptr for a mode or key length libsignal does not define. Fetched once (see HMAC above).
const EVP_CIPHER* aes_algorithm(int cipher, size_t key_len) {
  static EVP_CIPHER* const cbc[] = {EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr),
                                    EVP_CIPHER_fetch(nullptr, "AES-192-CBC", nullptr),
                                    EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr)};
  static EVP_CIPHER* const ctr[] = {EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr),
                                    EVP_CIPHER_fetch(nullptr, "AES-192-CTR", nullptr),
                                    EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr)};
  int index = -1;
  if (key_len == 16) index = 0;
  if (key_len == 24) index = 1;
  if (key_len == 32) index = 2;
  if (index < 0) return nullptr;
  if (cipher == SG_CIPHER_AES_CBC_PKCS5) return cbc[index];
  if (cipher == SG_CIPHER_AES_CTR_NOPADDING) return ctr[index];
  return nullptr;
}

int aes_crypt(bool encrypt, signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
              const uint8_t* iv, size_t iv_len, const uint8_t* input, size_t input_len) {
  if (output == nullptr || key == nullptr || iv == nullptr) return SG_ERR_INVAL;
  if (input == nullptr && input_len > 0) return SG_ERR_INVAL;
  const EVP_CIPHER* algorithm = aes_algorithm(cipher, key_len);
  if (algorithm == nullptr || iv_len != kAesBlockSize) return SG_ERR_INVAL;
  // EVP_CipherUpdate takes an int length, and the output needs one block of headroom: CBC
  // encryption adds 1..16 bytes of padding, and decryption may write a held-back block.
  if (input_len > static_cast<size_t>(INT_MAX) - kAesBlockSize) return SG_ERR_INVAL;

  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return openssl_error(SG_ERR_NOMEM);
  if (EVP_CipherInit_ex2(ctx.get(), algorithm, key, iv, encrypt ? 1 : 0, nullptr) != 1) {
    return openssl_error();
  }
  // Scratch in a SignalBuffer so a decrypted plaintext is wiped on every path out.
  SignalBuffer scratch(signal_buffer_alloc(input_len + kAesBlockSize));
  if (!scratch) return SG_ERR_NOMEM;
  uint8_t* out = signal_buffer_data(scratch.get());
  int update_len = 0;
  if (input_len > 0 &&
      EVP_CipherUpdate(ctx.get(), out, &update_len, input, static_cast<int>(input_len)) != 1) {
    return openssl_error();
  }
  // For CBC decryption this is where bad padding (or a length that is not a whole number of
  // blocks) is refused.
  int final_len = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out + update_len, &final_len) != 1) return openssl_error();

  signal_buffer* result =
      signal_buffer_n_copy(scratch.get(), static_cast<size_t>(update_len + final_len));
  if (result == nullptr) return SG_ERR_NOMEM;
  *output = result;
  return SG_SUCCESS;
}

int aes_encrypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
                const uint8_t* iv, size_t iv_len, const uint8_t* plaintext, size_t plaintext_len,
                void* /*user_data*/) noexcept {
  return aes_crypt(true, output, cipher, key, key_len, iv, iv_len, plaintext, plaintext_len);
}

int aes_decrypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len,
                const uint8_t* iv, size_t iv_len, const uint8_t* ciphertext, size_t ciphertext_len,
                void* /*user_data*/) noexcept {
  return aes_crypt(false, output, cipher, key, key_len, iv, iv_len, ciphertext, ciphertext_len);
}

}  // namespace

signal_crypto_provider openssl_crypto_provider() {
  signal_crypto_provider provider{};
  provider.random_func = random_bytes;
  provider.hmac_sha256_init_func = hmac_sha256_init;
  provider.hmac_sha256_update_func = hmac_sha256_update;
  provider.hmac_sha256_final_func = hmac_sha256_final;
  provider.hmac_sha256_cleanup_func = hmac_sha256_cleanup;
  provider.sha512_digest_init_func = sha512_init;
  provider.sha512_digest_update_func = sha512_update;
  provider.sha512_digest_final_func = sha512_final;
  provider.sha512_digest_cleanup_func = sha512_cleanup;
  provider.encrypt_func = aes_encrypt;
  provider.decrypt_func = aes_decrypt;
  provider.user_data = nullptr;
  return provider;
}

}  // namespace sotto::crypto
