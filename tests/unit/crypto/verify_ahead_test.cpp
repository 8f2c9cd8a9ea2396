// VerifyAhead: channel signatures checked on a second thread while sender-key messages are
// opened one by one give exactly libsignal's verdicts, and a verdict never answers any check but
// its own.
#include "sotto/crypto/verify_ahead.h"

#include <catch2/catch.hpp>

#include <future>
#include <string>
#include <vector>

#include "sotto/crypto/identity_signature.h"
#include "sotto/crypto/signal_engine.h"
#include "src/core/account_internals.h"
#include "tests/support/profiles.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;

namespace {

const Bytes kGroup(24, 0x42);

// Alice's sender key for kGroup, held by bob; alice's messages in it.
struct Channel {
  test::TempDir tmp;
  std::unique_ptr<core::Account> alice = test::create_account(tmp / "alice", "alice");
  std::unique_ptr<core::Account> bob = test::create_account(tmp / "bob", "bob");

  Channel() {
    auto key = signal(*alice).own_sender_key(kGroup);
    REQUIRE(key.is_ok());
    REQUIRE(signal(*bob).process_sender_key(kGroup, alice->fingerprint(), key.value()).is_ok());
  }
  static crypto::SignalEngine& signal(core::Account& account) {
    return core::AccountInternals::signal(account);
  }
  std::vector<Bytes> post(int count) {
    std::vector<Bytes> out;
    for (int i = 0; i < count; ++i) {
      auto ciphertext = signal(*alice).group_encrypt(kGroup, as_bytes("text " + std::to_string(i)));
      REQUIRE(ciphertext.is_ok());
      out.push_back(std::move(ciphertext).value());
    }
    return out;
  }
  std::vector<crypto::SignatureCheck> checks(const std::vector<Bytes>& messages) {
    std::vector<crypto::SignalEngine::SenderKeyCiphertext> batch;
    for (const auto& m : messages) batch.push_back({kGroup, alice->fingerprint(), m});
    return signal(*bob).sender_key_checks(batch);
  }
};

}  // namespace

TEST_CASE(
    "verify ahead: messages opened with their checks made on a second thread keep "
    "libsignal's verdicts, a forged one included",
    "[crypto][signal]") {
  Channel channel;
  std::vector<Bytes> messages = channel.post(40);
  messages[7][messages[7].size() / 2] ^= 0x10;  // the ciphertext, under the signature
  messages[13].back() ^= 0x01;                  // the signature itself
  const auto checks = channel.checks(messages);
  REQUIRE(checks.size() == messages.size());

  crypto::VerifyAhead ahead;
  {
    const auto scope = ahead.begin(checks);
    // The worker goes in order and nothing else claims a check yet: once it has made one, the
    // first message's check is its verdict, which libsignal then takes.
    REQUIRE(test::wait_until([&] { return scope.made_so_far() > 0; }, std::chrono::seconds(10)));
    for (size_t i = 0; i < messages.size(); ++i) {
      CAPTURE(i);
      auto opened = Channel::signal(*channel.bob)
                        .group_decrypt(kGroup, channel.alice->fingerprint(), messages[i]);
      if (i == 7 || i == 13) {
        CHECK_FALSE(opened.is_ok());
        continue;
      }
      REQUIRE(opened.is_ok());
      CHECK(std::string(opened.value().begin(), opened.value().end()) ==
            "text " + std::to_string(i));
    }
  }
  // Every check libsignal made was one of the batch's, whoever got to it first.
  const auto stats = ahead.take_stats();
  CHECK(stats.taken + stats.computed == messages.size());
  CHECK(stats.taken > 0);
  CHECK(stats.made >= stats.taken);
}

TEST_CASE(
    "verify ahead: a verdict answers only its own key, message and signature, and only "
    "on the thread that began the batch",
    "[crypto][signal]") {
  Channel channel;
  const std::vector<Bytes> messages = channel.post(10);
  const auto checks = channel.checks(messages);
  REQUIRE(checks.size() == messages.size());
  const crypto::SignatureCheck& a = checks[0];
  const crypto::SignatureCheck& b = checks[1];

  crypto::VerifyAhead ahead;
  const auto scope = ahead.begin(checks);
  auto verdict = [](const crypto::SignatureCheck& c) {
    return crypto::verdict_ahead(c.key.data(), c.message.data(), c.message.size(),
                                 c.signature.data());
  };
  CHECK(verdict(a) == std::optional<bool>(true));
  // a's signature over b's bytes, under another key, or a byte shorter: not a's check.
  crypto::SignatureCheck swapped = b;
  swapped.signature = a.signature;
  CHECK_FALSE(verdict(swapped).has_value());
  crypto::SignatureCheck rekeyed = a;
  rekeyed.key[3] ^= 0x01;
  CHECK_FALSE(verdict(rekeyed).has_value());
  crypto::SignatureCheck shorter = a;
  shorter.message.pop_back();
  CHECK_FALSE(verdict(shorter).has_value());
  // What libsignal then computes itself for the swapped check: it does not hold.
  CHECK_FALSE(crypto::check_xeddsa(swapped.signature.data(), swapped.key.data(),
                                   swapped.message.data(), swapped.message.size()));
  // Another thread's checks never see this thread's batch.
  auto elsewhere = std::async(std::launch::async, [&] { return verdict(b); });
  CHECK_FALSE(elsewhere.get().has_value());
  CHECK(verdict(b) == std::optional<bool>(true));
}

TEST_CASE(
    "verify ahead: small batches are left to libsignal, and a batch ended early stops "
    "the worker at once",
    "[crypto][signal]") {
  Channel channel;
  const std::vector<Bytes> messages = channel.post(crypto::VerifyAhead::kMinChecks);
  const auto checks = channel.checks(messages);
  REQUIRE(checks.size() == messages.size());
  auto verdict = [](const crypto::SignatureCheck& c) {
    return crypto::verdict_ahead(c.key.data(), c.message.data(), c.message.size(),
                                 c.signature.data());
  };
  crypto::VerifyAhead ahead;
  {
    const auto scope = ahead.begin({checks.begin(), checks.end() - 1});
    CHECK_FALSE(verdict(checks[0]).has_value());
  }
  // 20,000 checks (a second's work) ended at once: the scope waits for the one check the
  // worker is in, not for the rest.
  std::vector<crypto::SignatureCheck> many;
  for (int i = 0; i < 2500; ++i) many.insert(many.end(), checks.begin(), checks.end());
  {
    const auto scope = ahead.begin(many);
    REQUIRE(test::wait_until([&] { return scope.made_so_far() > 0; }, std::chrono::seconds(10)));
  }
  const uint64_t made = ahead.take_stats().made;
  CHECK(made > 0);
  CHECK(made < many.size() / 2);
  CHECK_FALSE(verdict(checks[0]).has_value());  // over: nothing answered from it
  // The worker serves the next batch.
  {
    const auto scope = ahead.begin(checks);
    for (const auto& c : checks) CHECK(verdict(c) == std::optional<bool>(true));
  }
}
