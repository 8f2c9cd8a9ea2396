// ArchiveService, the node's export and search, on a loop the test turns by hand: every slice the
// service posts waits in a queue until the test runs it. That is how a second export can be asked
// for while the first surely runs, which a running node's loop never guarantees.
#include <catch2/catch.hpp>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>

#include "sotto/base/clock.h"
#include "src/core/archive_service.h"
#include "src/core/messenger.h"
#include "tests/support/profiles.h"
#include "tests/support/temp_dir.h"

using namespace sotto;

TEST_CASE("a second export while one runs is refused as busy and writes nothing; the first ends",
          "[core][archive]") {
  // Far more than one slice can write: a slice stops after a few milliseconds, which 40,000
  // messages (100 ns each) would outlast on any machine.
  constexpr int64_t kMessages = 40'000;
  test::TempDir tmp;
  auto account = test::create_account(tmp / "alice", "alice");
  test::insert_texts(*account, kMessages, [](int64_t n) { return "text " + std::to_string(n); });
  SteadyClock clock;
  core::MessengerHooks hooks;
  hooks.send_frame = [](const std::string&, ByteView) { return false; };
  hooks.peer = [](const std::string&) -> std::optional<core::PeerInfo> { return std::nullopt; };
  hooks.peers = [] { return std::vector<core::PeerInfo>{}; };
  hooks.publish = [](core::Event) {};
  hooks.count = [](core::Counter, uint64_t) {};
  core::Messenger messenger(*account, clock, {}, hooks);
  REQUIRE(messenger.start().is_ok());

  core::ExportOptions first, second;
  first.out = tmp / "first.jsonl";
  second.out = tmp / "second.jsonl";
  std::optional<Result<core::ExportSummary>> first_done, second_done;
  std::deque<std::function<void()>> loop;
  auto run_loop = [&] {
    while (!loop.empty()) {
      auto slice = std::move(loop.front());
      loop.pop_front();
      slice();
    }
  };
  bool asked_while_running = false;
  std::unique_ptr<core::ArchiveService> service;
  service =
      std::make_unique<core::ArchiveService>(*account, messenger, [&](std::function<void()> slice) {
        // A slice ended with the first export unfinished: it runs, for certain, right now.
        if (!asked_while_running) {
          asked_while_running = true;
          CHECK(service->export_progress().has_value());
          service->start_export(second, [&](auto done) { second_done = std::move(done); });
        }
        loop.push_back(std::move(slice));
        return true;
      });
  service->start_export(first, [&](auto done) { first_done = std::move(done); });
  REQUIRE(second_done.has_value());
  CHECK(second_done->status().code() == StatusCode::kBusy);
  CHECK_FALSE(first_done.has_value());

  run_loop();
  REQUIRE(first_done.has_value());
  REQUIRE(first_done->is_ok());
  CHECK(first_done->value().messages == kMessages);
  CHECK_FALSE(service->export_progress().has_value());
  CHECK(std::filesystem::exists(first.out));
  CHECK_FALSE(std::filesystem::exists(second.out));

  // Once the first is done, the same request runs.
  second_done.reset();
  service->start_export(second, [&](auto done) { second_done = std::move(done); });
  CHECK_FALSE(second_done.has_value());  // it runs in slices too
  run_loop();
  REQUIRE(second_done.has_value());
  REQUIRE(second_done->is_ok());
  CHECK(second_done->value().messages == kMessages);
}
