#include "sotto/crypto/primitives.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>

namespace sotto::crypto {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

}  // namespace

void random_bytes(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

Bytes random_bytes(size_t count) {
  Bytes out(count);
  random_bytes(std::span<uint8_t>(out));
  return out;
}

SecretBytes hkdf_sha256(ByteView input_key, ByteView salt, std::string_view info, size_t size) {
  SecretBytes out(size);
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(kdf));
  EVP_KDF_free(kdf);
  static const uint8_t kNoSalt = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_octet_string("key", const_cast<uint8_t*>(input_key.data()),
                                        input_key.size()),
      OSSL_PARAM_construct_octet_string(
          "salt", const_cast<uint8_t*>(salt.empty() ? &kNoSalt : salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string("info", const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  if (!ctx || EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) std::abort();
  return out;
}

Bytes sha256(ByteView data) {
  Bytes digest(32);
  unsigned int size = 32;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

Bytes aead_seal(const SecretBytes& key, ByteView nonce, ByteView aad, ByteView plaintext) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  Bytes out(plaintext.size() + kAeadTagSize);
  int len = 0;
  int total = 0;
  bool ok = ctx && key.size() == kAeadKeySize && nonce.size() == kAeadNonceSize &&
            EVP_EncryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, key.data(),
                               nonce.data()) == 1 &&
            (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                              static_cast<int>(aad.size())) == 1) &&
            EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(),
                              static_cast<int>(plaintext.size())) == 1;
  total = len;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + total, &len) == 1;
  total += len;
  ok = ok &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kAeadTagSize, out.data() + total) == 1;
  if (!ok) std::abort();  // only reachable through a programming error (bad key or nonce size)
  return out;
}

Result<Bytes> aead_open(const SecretBytes& key, ByteView nonce, ByteView aad, ByteView sealed) {
  if (key.size() != kAeadKeySize || nonce.size() != kAeadNonceSize) {
    return Status::invalid_argument("bad AEAD key or nonce size");
  }
  if (sealed.size() < kAeadTagSize) return Status::auth_failed("sealed data too short");
  const size_t body = sealed.size() - kAeadTagSize;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  Bytes out(body);
  int len = 0;
  bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, key.data(), nonce.data()) ==
          1 &&
      (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                        static_cast<int>(aad.size())) == 1) &&
      EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(), static_cast<int>(body)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAeadTagSize,
                          const_cast<uint8_t*>(sealed.data() + body)) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &len) == 1;
  if (!ok) {
    wipe(out.data(), out.size());
    return Status::auth_failed("authentication failed");
  }
  return out;
}

}  // namespace sotto::crypto
