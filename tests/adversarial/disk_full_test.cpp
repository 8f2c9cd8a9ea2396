// Adversarial scenario 6 (issue 9): a full disk. Bob's profile lives on a tiny tmpfs in a mount
// namespace of its own (tests/support/private_tmpfs.h), shrunk to just above what it holds once
// the pair is talking; then Alice floods him. doc/guide.md, Text: "Storage full or I/O error: no
// receipt, a clear `storage full` event, nothing corrupted; delivery resumes when space
// returns." So: nothing Alice shows delivered is missing from Bob's archive, Bob's node says
// storage-full once (event stream and its output), every text arrives exactly once after the
// tmpfs grows again, and the database passes PRAGMA integrity_check.
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "sotto/core/control_client.h"
#include "src/core/account_internals.h"
#include "tests/support/daemon.h"
#include "tests/support/flood.h"
#include "tests/support/private_tmpfs.h"
#include "tests/support/profiles.h"
#include "tests/support/skip.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace sotto::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kFloodCount = 1000;
// Room left on Bob's disk when the flood starts: a few dozen receive commits' worth of WAL
// frames (each commit appends ~10 pages of 1 KiB), so the disk fills early in the flood.
constexpr uint64_t kHeadroomBytes = 128 * 1024;
constexpr uint64_t kMiB = 1024 * 1024;

// Bob's event stream, read on a thread of its own as `sotto events` would (its control socket
// drops events for a reader that falls far behind).
class EventLog {
 public:
  explicit EventLog(const std::string& profile_dir) {
    auto client = core::ControlClient::connect(profile_dir);
    if (!client.is_ok()) throw std::runtime_error(client.status().message());
    client_ = std::move(client).value();
    auto subscribed = client_->request(R"({"cmd":"subscribe"})");
    if (!subscribed.is_ok()) throw std::runtime_error(subscribed.status().message());
    reader_ = std::thread([this] {
      while (!stop_) {
        auto event = client_->next_event(100);
        if (!event.is_ok()) return;
        if (!event.value()) continue;
        auto parsed = json::parse(*event.value(), nullptr, false);
        std::lock_guard<std::mutex> lock(mutex_);
        events_.push_back(std::move(parsed));
      }
    });
  }
  ~EventLog() {
    stop_ = true;
    reader_.join();
  }

  // The alerts of kind `kind` seen so far.
  std::vector<json> alerts(const std::string& kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<json> out;
    for (const auto& e : events_) {
      if (e.value("event", "") == "alert" && e.value("kind", "") == kind) out.push_back(e);
    }
    return out;
  }

 private:
  std::unique_ptr<core::ControlClient> client_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<json> events_;
  std::thread reader_;
};

uint64_t counter(const DaemonProfile& profile, const std::string& name) {
  return profile.stats().value(name, uint64_t{0});
}

}  // namespace

TEST_CASE(
    "a receiver whose disk fills up mid-flood acknowledges only what it committed, says "
    "storage full, and takes the rest exactly once when space returns",
    "[adversarial][disk-full]") {
  std::string why_not;
  auto disk = PrivateTmpfs::create(16 * kMiB, why_not);
  if (!disk) SOTTO_SKIP(why_not);
  const auto start = std::chrono::steady_clock::now();
  DaemonProfile alice("alice");
  DaemonProfile bob("bob", disk->path());
  connect_pair(alice, bob);
  EventLog events(bob.dir());

  const uint64_t used = disk->used_bytes();
  disk->resize(used + kHeadroomBytes);
  INFO("Bob's profile takes " << used / 1024 << " KiB; the disk is shrunk to "
                              << disk->size_bytes() / 1024 << " KiB");

  auto result = flood(alice, "bob", 0, kFloodCount);
  INFO(result.error);
  REQUIRE(result.acked.size() == static_cast<size_t>(kFloodCount));
  REQUIRE(wait_until([&] { return !events.alerts("storage-full").empty(); }, 10s));
  CHECK(bob.wait_for_output("storage full", 1000));  // and a line in the daemon's output

  // No receipt for anything not committed: what Alice shows delivered is archived at Bob,
  // once; and the disk did stop the flood part-way.
  const auto states = outgoing_states(alice.history());
  auto archived = incoming_counts(bob.history());
  size_t delivered = 0;
  for (const auto& [text, state] : states) {
    if (state != "delivered") continue;
    ++delivered;
    if (archived[text] != 1) FAIL_CHECK(text << " shown delivered, archived " << archived[text]);
  }
  INFO(delivered << " delivered, " << archived.size() << " archived while the disk was full");
  CHECK(delivered > 0);
  CHECK(delivered < static_cast<size_t>(kFloodCount));
  for (const auto& [text, n] : archived) {
    if (n != 1) FAIL_CHECK(text << " archived " << n << " times");
  }

  // Alice's retry (2 s after the last receipt) runs into the full disk as well, and still
  // makes one alert, not one per refused batch.
  const uint64_t refused_before = counter(bob, "storage_full_commits");
  REQUIRE(wait_until(every(50ms, [&] { return counter(alice, "outbox_retries") >= 1; }), 10s));
  CHECK(wait_until(
      every(50ms, [&] { return counter(bob, "storage_full_commits") > refused_before; }), 10s));
  const uint64_t failed_commits = counter(bob, "storage_full_commits");
  // One alert per episode, not per refused batch. A commit that still fits (the log reuses its
  // file after a checkpoint) ends an episode truthfully, with storage-recovered in between.
  const size_t full_alerts = events.alerts("storage-full").size();
  CHECK(full_alerts == 1 + events.alerts("storage-recovered").size());
  CHECK(failed_commits > full_alerts);

  // Space returns: the next retry goes through and the whole outbox drains.
  disk->resize(64 * kMiB);
  const auto grown = std::chrono::steady_clock::now();
  REQUIRE(wait_until(every(200ms, [&] { return all_delivered(alice, kFloodCount); }), 40s));
  const int64_t resumed_ms = ms_since(grown);
  // Every episode ends with its recovery.
  CHECK(wait_until(
      [&] {
        return events.alerts("storage-recovered").size() == events.alerts("storage-full").size();
      },
      5s));
  archived = incoming_counts(bob.history());
  CHECK(archived.size() == static_cast<size_t>(kFloodCount));
  int wrong = 0;
  for (int i = 0; i < kFloodCount; ++i) {
    if (archived[text_of(i)] != 1 && ++wrong <= 10) {
      FAIL_CHECK(text_of(i) << " archived " << archived[text_of(i)] << " times");
    }
  }
  CHECK(wrong == 0);

  // Nothing corrupted: the whole database checks out, read offline.
  REQUIRE(bob.stop() == 0);
  const std::string log = bob.daemon_output();
  size_t full_lines = 0;
  for (size_t at = log.find("storage full"); at != std::string::npos;
       at = log.find("storage full", at + 1)) {
    ++full_lines;
  }
  CHECK(full_lines == events.alerts("storage-full").size());
  auto account = open_account(bob.dir(), "pw");
  auto check = core::AccountInternals::db(*account).prepare("PRAGMA integrity_check");
  REQUIRE(check.is_ok());
  auto row = check.value()->step();
  REQUIRE(row.is_ok());
  REQUIRE(row.value());
  CHECK(check.value()->column_text(0) == "ok");
  WARN("disk full: " << failed_commits << " receive commits refused on a " << used / 1024 << "+"
                     << kHeadroomBytes / 1024 << " KiB tmpfs, " << delivered << " of "
                     << kFloodCount << " delivered before it filled; delivery resumed and drained "
                     << resumed_ms << " ms after it grew; " << ms_since(start) << " ms in all");
}
