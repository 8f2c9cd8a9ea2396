// VerifyAhead: a batch's signatures checked on a second core while the node's loop opens the
// batch's messages one by one.
//
// A channel message's sender-key signature is most of what opening it costs (about 50 µs of
// ~125 on this VM), and libsignal checks it inside group_decrypt, which must run on the loop
// (it reads and advances the sender key's chain state). The check itself needs only the
// signing key, the signed bytes and the signature, all known before the batch is opened. So the
// loop hands them to a worker thread, then opens the messages in order; libsignal's check
// (curve25519_verify, which our program defines) asks verdict_ahead() first and takes the
// worker's verdict when it was made for exactly the same key, message and signature. Anything
// else, or a check the worker has not reached, is computed on the spot as before: a verdict is
// never guessed, only moved to another thread (doc/architecture.md, What the libraries taught
// us).
//
// Thread-safety: begin() and the returned Scope belong to one thread (the loop); verdict_ahead()
// looks only at batches begun on the calling thread, so other threads' checks are untouched.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "sotto/base/bytes.h"

namespace sotto::crypto {

// One signature libsignal will check: a Curve25519 key as libsignal passes it (32 bytes, no
// type byte), the signed bytes, and the 64-byte XEdDSA signature.
struct SignatureCheck {
  std::array<uint8_t, 32> key{};
  Bytes message;
  std::array<uint8_t, 64> signature{};
};

class VerifyAhead {
 public:
  // Fewer checks than this are not worth the worker's wake-up: they are left to libsignal.
  static constexpr size_t kMinChecks = 8;

  struct Stats {
    uint64_t taken = 0;     // verdicts the worker had made when libsignal asked
    uint64_t computed = 0;  // checks of a batch the loop reached first and made itself
    uint64_t made = 0;      // checks the worker made (some perhaps never asked for)
  };

  VerifyAhead();
  ~VerifyAhead();  // the worker stops and is joined
  VerifyAhead(const VerifyAhead&) = delete;
  VerifyAhead& operator=(const VerifyAhead&) = delete;

  struct Batch;
  // While it lives, the worker checks its batch in order and the calling thread's libsignal
  // checks take its verdicts. Ending it stops the worker at once (what it has not reached is
  // dropped) and waits for the one check it may be in.
  class Scope {
   public:
    Scope() = default;
    Scope(Scope&& other) noexcept;
    Scope& operator=(Scope&&) = delete;
    ~Scope();

    // How many of the batch's checks the worker has made so far (0 for a batch left to
    // libsignal): what a test waits on, so that "the worker was ahead" does not hang on timing.
    uint64_t made_so_far() const;

   private:
    friend class VerifyAhead;
    Scope(VerifyAhead* owner, std::shared_ptr<Batch> batch);
    VerifyAhead* owner_ = nullptr;
    std::shared_ptr<Batch> batch_;
  };
  [[nodiscard]] Scope begin(std::vector<SignatureCheck> checks);

  // What happened since the last call (for the node's counters).
  Stats take_stats();

 private:
  void work();
  void finish(const std::shared_ptr<Batch>& batch);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::shared_ptr<Batch> pending_;  // the batch the worker is to check, or is checking
  bool working_ = false;
  bool stopping_ = false;
  Stats stats_;
  std::thread worker_;  // started with the first batch worth handing over
};

// For curve25519_verify: the verdict on (key, message, signature) when a batch begun on this
// thread holds exactly that check (the worker's, or made here if the worker has not finished
// it), else nullopt.
std::optional<bool> verdict_ahead(const uint8_t* key, const uint8_t* message, size_t message_len,
                                  const uint8_t* signature);

}  // namespace sotto::crypto
