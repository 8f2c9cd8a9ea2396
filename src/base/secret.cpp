#include "sotto/base/secret.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <new>
#include <utility>

namespace sotto {

void wipe(void* data, size_t size) {
  if (data != nullptr && size > 0) explicit_bzero(data, size);
}

SecretBytes::SecretBytes(size_t size) {
  if (size == 0) return;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  mapped_ = (size + page - 1) / page * page;
  void* p = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, mapped_, MADV_DONTDUMP);
  locked_ = mlock(p, mapped_) == 0;
  data_ = static_cast<uint8_t*>(p);
  size_ = size;
}

SecretBytes SecretBytes::copy_of(std::span<const uint8_t> data) {
  SecretBytes out(data.size());
  if (!data.empty()) std::memcpy(out.data_, data.data(), data.size());
  return out;
}

SecretBytes SecretBytes::copy_of(std::string_view text) {
  return copy_of(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

SecretBytes::~SecretBytes() {
  release();
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      locked_(std::exchange(other.locked_, false)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    locked_ = std::exchange(other.locked_, false);
  }
  return *this;
}

void SecretBytes::shrink_by(size_t count) {
  if (count > size_) count = size_;
  wipe(data_ + size_ - count, count);
  size_ -= count;
}

void SecretBytes::release() {
  if (data_ == nullptr) return;
  wipe(data_, mapped_);
  if (locked_) munlock(data_, mapped_);
  munmap(data_, mapped_);
  data_ = nullptr;
  size_ = mapped_ = 0;
  locked_ = false;
}

}  // namespace sotto
