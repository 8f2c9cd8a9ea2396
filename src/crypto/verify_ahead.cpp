#include "sotto/crypto/verify_ahead.h"

#include <atomic>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "sotto/crypto/identity_signature.h"

namespace sotto::crypto {
namespace {

// A check's progress; whoever moves it from kOpen to kClaimed makes it.
enum : uint8_t { kOpen, kClaimed, kValid, kInvalid };

uint64_t signature_id(const uint8_t* signature) {
  uint64_t id = 0;
  std::memcpy(&id, signature, sizeof id);
  return id;
}

bool make(const SignatureCheck& check) {
  return check_xeddsa(check.signature.data(), check.key.data(), check.message.data(),
                      check.message.size());
}

}  // namespace

struct VerifyAhead::Batch {
  explicit Batch(std::vector<SignatureCheck> all)
      : checks(std::move(all)), states(new std::atomic<uint8_t>[checks.size()]) {
    for (size_t i = 0; i < checks.size(); ++i) {
      states[i].store(kOpen, std::memory_order_relaxed);
      // A repeated signature keeps its first index; a lookup compares the whole check anyway.
      by_signature.emplace(signature_id(checks[i].signature.data()), i);
    }
  }

  const std::vector<SignatureCheck> checks;
  const std::unique_ptr<std::atomic<uint8_t>[]> states;
  std::unordered_map<uint64_t, size_t> by_signature;  // not changed once the worker has it
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> made{0};  // by the worker
  Stats stats;                    // the owning thread's only
};

namespace {

// The batch begun on this thread, if any: only its own thread's checks may take its verdicts.
thread_local VerifyAhead::Batch* current_batch = nullptr;

}  // namespace

VerifyAhead::VerifyAhead() = default;

VerifyAhead::~VerifyAhead() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

VerifyAhead::Scope::Scope(VerifyAhead* owner, std::shared_ptr<Batch> batch)
    : owner_(owner), batch_(std::move(batch)) {
  current_batch = batch_.get();
}

VerifyAhead::Scope::Scope(Scope&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), batch_(std::move(other.batch_)) {}

uint64_t VerifyAhead::Scope::made_so_far() const {
  return batch_ ? batch_->made.load(std::memory_order_acquire) : 0;
}

VerifyAhead::Scope::~Scope() {
  if (owner_ == nullptr || !batch_) return;
  current_batch = nullptr;
  owner_->finish(batch_);
}

VerifyAhead::Scope VerifyAhead::begin(std::vector<SignatureCheck> checks) {
  if (checks.size() < kMinChecks) return Scope();
  auto batch = std::make_shared<Batch>(std::move(checks));
  {
    std::lock_guard lock(mutex_);
    if (!worker_.joinable()) worker_ = std::thread([this] { work(); });
    pending_ = batch;
  }
  wake_.notify_one();
  return Scope(this, std::move(batch));
}

void VerifyAhead::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || pending_ != nullptr; });
    if (stopping_) return;
    const std::shared_ptr<Batch> batch = pending_;
    working_ = true;
    lock.unlock();
    for (size_t i = 0; i < batch->checks.size(); ++i) {
      if (batch->stop.load(std::memory_order_acquire)) break;
      uint8_t expected = kOpen;
      if (!batch->states[i].compare_exchange_strong(expected, kClaimed,
                                                    std::memory_order_acq_rel)) {
        continue;  // the loop got there first
      }
      batch->states[i].store(make(batch->checks[i]) ? kValid : kInvalid, std::memory_order_release);
      batch->made.fetch_add(1, std::memory_order_release);
    }
    lock.lock();
    working_ = false;
    if (pending_ == batch) pending_.reset();
    idle_.notify_all();
  }
}

void VerifyAhead::finish(const std::shared_ptr<Batch>& batch) {
  batch->stop.store(true, std::memory_order_release);
  std::unique_lock lock(mutex_);
  // Not picked up yet: withdrawn. Picked up: the worker leaves it after at most one check.
  if (pending_ == batch && !working_) pending_.reset();
  idle_.wait(lock, [&] { return pending_ != batch; });
  stats_.taken += batch->stats.taken;
  stats_.computed += batch->stats.computed;
  stats_.made += batch->made.load(std::memory_order_relaxed);
}

VerifyAhead::Stats VerifyAhead::take_stats() {
  std::lock_guard lock(mutex_);
  return std::exchange(stats_, Stats{});
}

std::optional<bool> verdict_ahead(const uint8_t* key, const uint8_t* message, size_t message_len,
                                  const uint8_t* signature) {
  VerifyAhead::Batch* batch = current_batch;
  if (batch == nullptr) return std::nullopt;
  auto it = batch->by_signature.find(signature_id(signature));
  if (it == batch->by_signature.end()) return std::nullopt;
  const SignatureCheck& check = batch->checks[it->second];
  // A verdict answers only the very check it was made for.
  if (std::memcmp(check.key.data(), key, check.key.size()) != 0 ||
      std::memcmp(check.signature.data(), signature, check.signature.size()) != 0 ||
      check.message.size() != message_len ||
      std::memcmp(check.message.data(), message, message_len) != 0) {
    return std::nullopt;
  }
  std::atomic<uint8_t>& state = batch->states[it->second];
  uint8_t seen = kOpen;
  if (state.compare_exchange_strong(seen, kClaimed, std::memory_order_acq_rel)) {
    // The worker is behind: make it here rather than wait for it.
    const bool valid = make(check);
    state.store(valid ? kValid : kInvalid, std::memory_order_release);
    ++batch->stats.computed;
    return valid;
  }
  if (seen == kClaimed) {
    // The worker is in this very check, or was preempted in it: waiting could take a time
    // slice, making it again takes one check (the worker's verdict, stored later, is the same).
    ++batch->stats.computed;
    return make(check);
  }
  ++batch->stats.taken;
  return seen == kValid;
}

}  // namespace sotto::crypto
