// SecretBytes: memory for passphrases and keys.
//
// The bytes live in their own anonymous mapping, locked into RAM (never swapped), excluded from
// core dumps, and overwritten with zeros before they are released. Move-only.
// Thread-safety: none; one owner at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sotto {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);
  static SecretBytes copy_of(std::span<const uint8_t> data);
  static SecretBytes copy_of(std::string_view text);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> view() const { return {data_, size_}; }
  std::string_view chars() const { return {reinterpret_cast<const char*>(data_), size_}; }

  // Drops the last `count` bytes (wiping them), e.g. a trailing newline.
  void shrink_by(size_t count);
  // True when mlock succeeded (it can fail under a tight RLIMIT_MEMLOCK; the bytes are still
  // wiped and kept out of core dumps).
  bool locked() const { return locked_; }

 private:
  void release();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;
  bool locked_ = false;
};

// Overwrites memory in a way the optimiser may not remove.
void wipe(void* data, size_t size);

}  // namespace sotto
