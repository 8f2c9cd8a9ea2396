// The archive commands of the CLI contract (man sotto, issue 8) against real daemons and
// offline: `sotto search QUERY [--in TO] [--limit N]` and `sotto export --out FILE [--format
// json|text] [--in TO] [--since DATE] [--force]`. Search finds a marker and respects --in; export
// round-trips (every archived message in the JSON with sender, time and state; voice clips as
// WAV files that decode); files are private; bad input is refused with one line and exit 2.
// Plus, in process: an export through a busy node is written in slices while the node goes on
// answering.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sotto/core/node.h"
#include "sotto/voice/wav.h"
#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/profile_node.h"
#include "tests/support/profiles.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using test::DaemonProfile;
using test::wait_until;

namespace {

test::CommandResult run(const DaemonProfile& node, const std::vector<std::string>& args,
                        bool unlocked) {
  return unlocked ? node.sotto_unlocked(args) : node.sotto(args);
}

bool has_body(const DaemonProfile& node, const std::string& to, const std::string& body) {
  auto history = node.history(to);
  return std::any_of(history.begin(), history.end(),
                     [&](const json& m) { return m.value("body", "") == body; });
}

int mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 0777);
}

std::vector<json> read_json_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A second of a 440 Hz tone with a slow fade: something Opus has to work at.
std::vector<int16_t> tone() {
  std::vector<int16_t> samples(48'000);
  for (size_t i = 0; i < samples.size(); ++i) {
    const double t = static_cast<double>(i) / 48'000;
    samples[i] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * t) * (1 - t / 2));
  }
  return samples;
}

// Every archived message of `history` is in `exported` with the same sender, time and state.
void check_round_trip(const std::vector<json>& history, const std::vector<json>& exported) {
  REQUIRE(exported.size() == history.size());
  std::map<std::string, json> by_id;
  for (const auto& m : exported) by_id[m.value("id", "")] = m;
  for (const auto& m : history) {
    const std::string id = m.value("id", "");
    INFO("message " << id << ": " << m.dump());
    REQUIRE(by_id.count(id) == 1);
    const json& e = by_id[id];
    for (const char* field : {"sender", "sender_name", "time", "received_at", "state", "kind",
                              "body", "conversation", "outgoing"}) {
      CHECK(e[field] == m[field]);
    }
  }
  // Oldest first, as history.
  for (size_t i = 0; i < history.size(); ++i) {
    CHECK(exported[i].value("id", "") == history[i].value("id", ""));
  }
}

}  // namespace

TEST_CASE(
    "sotto search finds a marker and respects --in; sotto export round-trips text and voice; "
    "both work through a daemon and offline",
    "[archive][cli][integration]") {
  test::TempDir tmp;
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  REQUIRE(wait_until([&] { return alice.peer_state("bob") == "online"; }, 8s));
  alice.sotto_ok({"add", "bob"});
  alice.sotto_ok({"verify", "bob", "--confirm"});
  alice.sotto_ok({"channel", "create", "ops"});
  alice.sotto_ok({"channel", "invite", "ops", "bob"});
  bob.accept_invitation(alice.fingerprint(), "ops");
  REQUIRE(wait_until(
      [&] {
        return bob.sotto({"send", "#ops", "bob on the net"}).exit_code == 0;
      },
      8s));
  REQUIRE(wait_until([&] { return has_body(alice, "#ops", "bob on the net"); }, 8s));
  // Filler, and the marker once in 1:1 and once in the channel.
  for (int i = 0; i < 30; ++i)
    alice.sotto_ok({"send", "bob", "routine traffic number " + std::to_string(i)});
  alice.sotto_ok({"send", "bob", "the zebracorn lands at dawn"});
  alice.sotto_ok({"send", "#ops", "ops: zebracorn sighted\nsecond line of it"});
  REQUIRE(wait_until(
      [&] { return has_body(bob, "#ops", "ops: zebracorn sighted\nsecond line of it"); }, 8s));
  const std::string recording = tmp / "tone.wav";
  test::write_speech(recording, tone());
  const json clip = json::parse(alice.sotto_ok({"--json", "talk", "#ops", "--wav", recording}));
  const std::string clip_id = clip.value("id", "");
  REQUIRE(clip_id.size() == 32);
  // Everything delivered, so the states in the archive hold still while we compare.
  REQUIRE(wait_until(
      [&] {
        auto history = alice.history();
        return std::all_of(history.begin(), history.end(), [](const json& m) {
          return !m.value("outgoing", false) || m.contains("channel") ||
                 m.value("state", "") == "delivered";
        });
      },
      10s));

  for (const bool offline : {false, true}) {
    if (offline) alice.stop();
    INFO((offline ? "offline" : "through the daemon"));
    const std::string tag = offline ? "offline" : "daemon";

    // --- search ---
    auto hits = test::json_lines(alice.sotto_ok({"--json", "search", "zebracorn"}, offline));
    REQUIRE(hits.size() == 2);
    CHECK(hits[0].value("body", "").find("ops: zebracorn") == 0);  // newest first
    CHECK(hits[0].value("conversation_name", "") == "#ops");
    CHECK(hits[0].value("channel", "") == "ops");
    CHECK(hits[0].value("snippet", "").find("[zebracorn]") != std::string::npos);
    CHECK(hits[1].value("conversation_name", "") == "bob");
    CHECK(hits[1].value("sender_name", "") == "alice");
    CHECK(hits[1].value("outgoing", false));
    CHECK(hits[1].value("state", "") == "delivered");
    auto in_bob =
        test::json_lines(alice.sotto_ok({"--json", "search", "zebracorn", "--in", "bob"}, offline));
    REQUIRE(in_bob.size() == 1);
    CHECK(in_bob[0].value("body", "") == "the zebracorn lands at dawn");
    auto in_ops = test::json_lines(
        alice.sotto_ok({"--json", "search", "zebracorn", "--in", "#ops"}, offline));
    REQUIRE(in_ops.size() == 1);
    CHECK(in_ops[0].value("conversation_name", "") == "#ops");
    CHECK(test::json_lines(alice.sotto_ok({"--json", "search", "routine", "--limit", "7"}, offline))
              .size() == 7);
    const std::string text = alice.sotto_ok({"search", "zebracorn dawn"}, offline);
    CHECK(text.find("  bob  me: ") != std::string::npos);
    CHECK(text.find("[zebracorn]") != std::string::npos);
    CHECK(alice.sotto_ok({"search", "nowhere"}, offline) == "no messages match\n");
    for (const std::vector<std::string>& bad : {std::vector<std::string>{"search", "\"unclosed"},
                                                {"search", "--", "-only"},
                                                {"search", "x", "--in", "nobody"},
                                                {"search", "x", "--limit", "0"}}) {
      auto refused = run(alice, bad, offline);
      INFO(bad[1] << ": " << refused.err);
      CHECK(refused.exit_code == 2);
      CHECK(one_line_error(refused));
    }

    // --- export, JSON ---
    const std::string file = tmp / (tag + ".jsonl");
    const std::string voice_dir = file + ".voice";
    auto exported = run(alice, {"--json", "export", "--out", file, "--voice", "wav"}, offline);
    INFO(exported.err);
    REQUIRE(exported.exit_code == 0);
    CHECK(exported.err.find("plaintext") != std::string::npos);
    const json summary = json::parse(exported.out);
    const auto history = alice.history();
    CHECK(summary.value("messages", -1) == static_cast<int64_t>(history.size()));
    CHECK(summary.value("voice_clips", -1) == 1);
    CHECK(summary.value("voice_dir", "") == voice_dir);
    CHECK(mode_of(file) == 0600);
    CHECK(mode_of(voice_dir) == 0700);
    const auto lines = read_json_lines(file);
    check_round_trip(history, lines);
    const auto voice = std::find_if(lines.begin(), lines.end(),
                                    [&](const json& m) { return m.value("id", "") == clip_id; });
    REQUIRE(voice != lines.end());
    CHECK(voice->value("kind", "") == "voice");
    const std::string wav = tmp / voice->value("wav", "");
    CHECK(wav == voice_dir + "/" + clip_id + ".wav");
    CHECK(mode_of(wav) == 0600);
    auto decoded = voice::read_wav(wav);
    REQUIRE(decoded.is_ok());
    CHECK(decoded.value().samples.size() >= 47'000);  // the second of tone, in 20 ms frames

    // Not twice without --force; with it, the file is replaced.
    auto again = run(alice, {"export", "--out", file}, offline);
    CHECK(again.exit_code == 2);
    CHECK(one_line_error(again));
    CHECK(again.err.find("--force") != std::string::npos);
    alice.sotto_ok({"export", "--out", file, "--force", "--in", "#ops"}, offline);
    const auto ops_only = read_json_lines(file);
    CHECK(std::all_of(ops_only.begin(), ops_only.end(),
                      [](const json& m) { return m.value("channel", "") == "ops"; }));
    CHECK(ops_only.size() == alice.history("#ops").size());
    CHECK(mode_of(file) == 0600);

    // --- export, text; --since ---
    const std::string text_file = tmp / (tag + ".txt");
    alice.sotto_ok({"export", "--out", text_file, "--format", "text", "--voice", "wav"}, offline);
    const std::string contents = read_text(text_file);
    CHECK(contents.rfind("# sotto archive of alice", 0) == 0);
    CHECK(contents.find("  bob  me: the zebracorn lands at dawn  [delivered]") !=
          std::string::npos);
    CHECK(contents.find("  #ops  me: ops: zebracorn sighted\n    second line of it") !=
          std::string::npos);
    CHECK(contents.find(".voice/" + clip_id + ".wav") != std::string::npos);
    const std::string future = tmp / (tag + "-future.jsonl");
    alice.sotto_ok({"export", "--out", future, "--since", "2999-01-01"}, offline);
    CHECK(read_text(future).empty());
    CHECK_FALSE(std::filesystem::exists(future + ".voice"));
    for (const std::vector<std::string>& bad :
         {std::vector<std::string>{"export", "--out", tmp / "x", "--since", "yesterday"},
          {"export", "--out", tmp / "x", "--format", "pdf"},
          {"export", "--out", tmp / "x", "--in", "nobody"},
          {"export", "--out", tmp.path()}}) {
      auto refused = run(alice, bad, offline);
      INFO(bad.back() << ": " << refused.err);
      CHECK(refused.exit_code == 2);
      CHECK(one_line_error(refused));
      CHECK_FALSE(std::filesystem::exists(tmp / "x"));
    }
  }
  // Offline and daemon exports of the same archive agree, line for line after the header (which
  // says when each was made), but for their clip directories' names.
  std::string by_daemon = read_text(tmp / "daemon.txt");
  const std::string by_offline = read_text(tmp / "offline.txt");
  const size_t voice_ref = by_daemon.find("daemon.txt.voice/");
  REQUIRE(voice_ref != std::string::npos);
  by_daemon.replace(voice_ref, 6, "offline");
  CHECK(by_daemon.substr(by_daemon.find('\n')) == by_offline.substr(by_offline.find('\n')));
}

TEST_CASE("an export through a running node is written in slices while the node goes on serving",
          "[archive][integration]") {
  test::ProfileNode alice("alice");
  constexpr int64_t kMessages = 40'000;
  // A big archive, written straight into the profile before the node starts.
  test::insert_texts(*test::open_account(alice.profile_dir()), kMessages, [](int64_t n) {
    return "message number " + std::to_string(n) + (n == 31'337 ? " needle" : "");
  });
  alice.start();
  auto hits = alice.node().search("needle");
  REQUIRE(hits.is_ok());
  REQUIRE(hits.value().size() == 1);
  CHECK(hits.value()[0].message.body == "message number 31337 needle");
  CHECK(hits.value()[0].snippet.find("[needle]") != std::string::npos);
  auto bad = alice.node().search("\"needle");
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);

  test::TempDir out;
  core::ExportOptions options;
  options.out = out / "all.jsonl";
  std::atomic<bool> exporting{true};
  std::vector<double> answer_ms;
  std::thread asker([&] {
    while (exporting.load()) {
      const auto start = std::chrono::steady_clock::now();
      (void)alice.node().stats();
      answer_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      std::this_thread::sleep_for(2ms);  // pacing the calls, not waiting for anything
    }
  });
  const auto started = std::chrono::steady_clock::now();
  auto done = alice.node().export_archive(options);
  const double took_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  exporting = false;
  asker.join();
  REQUIRE(done.is_ok());
  CHECK(done.value().messages == kMessages);
  CHECK(read_json_lines(options.out).size() == static_cast<size_t>(kMessages));
  // The node answered all along, each time within a slice or so: it was never held for the
  // whole export.
  INFO("export took " << took_ms << " ms; " << answer_ms.size() << " calls answered meanwhile");
  REQUIRE(answer_ms.size() >= 3);
  std::sort(answer_ms.begin(), answer_ms.end());
  CHECK(answer_ms[answer_ms.size() / 2] < took_ms / 3);

  // Not over the first without force, nor for an unknown conversation; the file is untouched.
  auto again = alice.node().export_archive(options);
  CHECK(again.status().code() == StatusCode::kInvalidArgument);
  options.force = true;
  options.in = "nobody";
  CHECK(alice.node().export_archive(options).status().code() == StatusCode::kInvalidArgument);
  CHECK(read_json_lines(options.out).size() == static_cast<size_t>(kMessages));

  // One export at a time: tests/unit/core/archive_service_test.cpp asks for a second while the
  // first is surely running (the node's loop cannot be held still from here).
}

TEST_CASE("sotto expire refuses a malformed duration with one line and exit 2, node or not",
          "[cli][archive][integration]") {
  DaemonProfile alice("alice");
  for (const char* bad : {"5x", "-3d", "", "10", "1.5h", "99999999999999999999w", "off!"}) {
    auto refused = alice.sotto({"expire", "bob", bad});
    INFO("duration '" << bad << "': " << refused.err);
    CHECK(refused.exit_code == 2);
    CHECK(one_line_error(refused));
  }
  // A good duration needs the node, and says so without one.
  auto no_node = alice.sotto({"expire", "bob", "2h"});
  CHECK(no_node.exit_code == 1);
  CHECK(no_node.err.find("no node running") != std::string::npos);
  alice.start();
  auto unknown = alice.sotto({"expire", "bob", "bad"});
  CHECK(unknown.exit_code == 2);
  CHECK(one_line_error(unknown));
}
