#include "tests/support/sqlcipher_pages.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

namespace sotto::test {
namespace {

constexpr size_t kReserve = 48;
constexpr size_t kIvSize = 16;
constexpr size_t kSaltSize = 16;
constexpr size_t kWalHeader = 32;
constexpr size_t kWalFrameHeader = 24;
constexpr char kSqliteHeader[] = "SQLite format 3";  // with its NUL: 16 bytes

Bytes file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// Decrypts one page in place. Page 1's first 16 bytes (the salt) are not encrypted; they are
// replaced by the SQLite header, as SQLCipher does when it reads the page.
void decrypt_page(uint8_t* page, bool first_page, ByteView key) {
  const size_t offset = first_page ? kSaltSize : 0;
  const size_t length = kSqlcipherPageSize - kReserve - offset;
  const uint8_t* iv = page + kSqlcipherPageSize - kReserve;
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  Bytes out(length + 16);
  int written = 0, tail = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, key.data(), iv) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out.data(), &written, page + offset, static_cast<int>(length)) !=
          1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + written, &tail) != 1)
    throw std::runtime_error("AES-256-CBC failed");
  std::memcpy(page + offset, out.data(), length);
  if (first_page) std::memcpy(page, kSqliteHeader, kSaltSize);
  std::memset(page + kSqlcipherPageSize - kReserve, 0, kIvSize);  // the IV is not content
}

size_t count_of(const Bytes& haystack, const std::string& needle) {
  if (needle.empty()) return 0;
  size_t count = 0;
  auto at = haystack.begin();
  while ((at = std::search(at, haystack.end(), needle.begin(), needle.end())) != haystack.end()) {
    ++count;
    ++at;
  }
  return count;
}

}  // namespace

DecryptedFile decrypt_database_file(const std::string& path, ByteView key) {
  DecryptedFile out;
  out.plaintext = file_bytes(path);
  out.pages = out.plaintext.size() / kSqlcipherPageSize;
  out.plaintext.resize(out.pages * kSqlcipherPageSize);
  for (size_t page = 0; page < out.pages; ++page) {
    const size_t at = page * kSqlcipherPageSize;
    decrypt_page(out.plaintext.data() + at, page == 0, key);
  }
  // Byte 100 onwards of page 1 is the schema's root page; 16-21 hold the page size and the
  // reserve, which SQLCipher writes in plaintext form only inside the encryption.
  out.header_ok = out.pages > 0 && out.plaintext[16] == (kSqlcipherPageSize >> 8) &&
                  out.plaintext[17] == (kSqlcipherPageSize & 0xff) && out.plaintext[20] == kReserve;
  return out;
}

DecryptedFile decrypt_wal_file(const std::string& path, ByteView key) {
  DecryptedFile out;
  const Bytes file = file_bytes(path);
  const size_t frame = kWalFrameHeader + kSqlcipherPageSize;
  for (size_t at = kWalHeader; at + frame <= file.size(); at += frame) {
    const uint8_t* h = file.data() + at;
    const uint32_t page_number =
        (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | uint32_t{h[3]};
    Bytes page(h + kWalFrameHeader, h + frame);
    decrypt_page(page.data(), page_number == 1, key);
    out.plaintext.insert(out.plaintext.end(), page.begin(), page.end());
    ++out.pages;
  }
  return out;
}

size_t occurrences_in_database(const std::string& db_path, ByteView key,
                               const std::string& needle) {
  std::string lower = needle;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t count = 0;
  for (const DecryptedFile& file :
       {decrypt_database_file(db_path, key), decrypt_wal_file(db_path + "-wal", key)}) {
    count += count_of(file.plaintext, needle);
    if (lower != needle) count += count_of(file.plaintext, lower);
  }
  return count;
}

}  // namespace sotto::test
