// Owners for libsignal-protocol-c handles: SignalRef<T> for the library's reference-counted
// objects, SignalBuffer for signal_buffer, PreKeyList for the key helper's pre-key list.
//
// With these, no caller writes SIGNAL_UNREF or signal_buffer_free by hand: a handle is released
// on every path out of a scope, including early returns of a failed Status. All are move-only.
// Thread-safety: none. libsignal's reference counts are plain ints, so an object and every
// SignalRef sharing it must stay on one thread (the node thread).
#pragma once

#include <key_helper.h>
#include <signal_protocol.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"

namespace sotto::crypto {

// Owns one reference to a libsignal object whose struct starts with signal_type_base
// (ec_public_key, ratchet_identity_key_pair, session_pre_key_bundle, session_record, ...).
template <class T>
class SignalRef {
 public:
  SignalRef() = default;
  // Adopts a reference the caller already owns, e.g. the result of a *_create function.
  explicit SignalRef(T* ptr) : ptr_(ptr) {}
  ~SignalRef() { reset(); }

  SignalRef(SignalRef&& other) noexcept : ptr_(other.release()) {}
  SignalRef& operator=(SignalRef&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  SignalRef(const SignalRef&) = delete;
  SignalRef& operator=(const SignalRef&) = delete;

  // Takes a new reference to a borrowed object, e.g. the key a getter such as
  // ratchet_identity_key_pair_get_public returns, so it outlives its parent.
  static SignalRef share(T* ptr) {
    if (ptr != nullptr) signal_type_ref(as_base(ptr));
    return SignalRef(ptr);
  }

  T* get() const { return ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

  // Hands the reference to the caller, who must unref it.
  [[nodiscard]] T* release() { return std::exchange(ptr_, nullptr); }

  void reset(T* ptr = nullptr) {
    T* old = std::exchange(ptr_, ptr);
    if (old != nullptr) signal_type_unref(as_base(old));
  }

  // For C out-parameters: `curve_generate_public_key(key.out(), priv)`. Drops the current
  // reference first, so a reused SignalRef never leaks.
  T** out() {
    reset();
    return &ptr_;
  }

 private:
  // Every ref-counted libsignal struct starts with a signal_type_base; the types are opaque here,
  // so the C-style upcast of SIGNAL_UNREF is a reinterpret_cast.
  static signal_type_base* as_base(T* ptr) { return reinterpret_cast<signal_type_base*>(ptr); }

  T* ptr_ = nullptr;
};

// Owns a signal_buffer. It is wiped when freed, because libsignal uses the same type for
// serialized private keys and session records as for public data.
class SignalBuffer {
 public:
  SignalBuffer() = default;
  explicit SignalBuffer(signal_buffer* buffer) : buffer_(buffer) {}
  ~SignalBuffer() { reset(); }

  SignalBuffer(SignalBuffer&& other) noexcept : buffer_(other.release()) {}
  SignalBuffer& operator=(SignalBuffer&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  SignalBuffer(const SignalBuffer&) = delete;
  SignalBuffer& operator=(const SignalBuffer&) = delete;

  // An owned copy of `data`; empty (operator bool false) when out of memory.
  static SignalBuffer copy_of(ByteView data) {
    // signal_buffer_create memcpy's from data, which must not be null even for zero bytes.
    static const uint8_t kEmpty = 0;
    return SignalBuffer(signal_buffer_create(data.empty() ? &kEmpty : data.data(), data.size()));
  }

  signal_buffer* get() const { return buffer_; }
  explicit operator bool() const { return buffer_ != nullptr; }

  const uint8_t* data() const {
    return buffer_ != nullptr ? signal_buffer_const_data(buffer_) : nullptr;
  }
  size_t size() const { return buffer_ != nullptr ? signal_buffer_len(buffer_) : 0; }
  ByteView view() const { return {data(), size()}; }
  Bytes to_bytes() const { return Bytes(view().begin(), view().end()); }
  // For contents that are key material: the copy lives in locked, wiped memory.
  SecretBytes to_secret() const { return SecretBytes::copy_of(view()); }

  // Hands the buffer to the caller, e.g. to a store callback whose caller frees it.
  [[nodiscard]] signal_buffer* release() { return std::exchange(buffer_, nullptr); }

  void reset(signal_buffer* buffer = nullptr) {
    signal_buffer* old = std::exchange(buffer_, buffer);
    if (old != nullptr) signal_buffer_bzero_free(old);
  }

  // For C out-parameters: `ec_public_key_serialize(buf.out(), key)`. Frees the current buffer.
  signal_buffer** out() {
    reset();
    return &buffer_;
  }

 private:
  signal_buffer* buffer_ = nullptr;
};

struct PreKeyListDeleter {
  void operator()(signal_protocol_key_helper_pre_key_list_node* head) const {
    signal_protocol_key_helper_key_list_free(head);
  }
};
// The list signal_protocol_key_helper_generate_pre_keys returns; freeing it unrefs every
// session_pre_key in it (take SignalRef::share of an element to keep it longer).
using PreKeyList = std::unique_ptr<signal_protocol_key_helper_pre_key_list_node, PreKeyListDeleter>;

}  // namespace sotto::crypto
