// relay_catchup_msgs_per_s (issue 24): a member back from away catches up from another member
// while the author is away. Three real nodes in this process (test::ChannelLab: each its own
// thread, profile and sockets on 127.0.0.1): alice, the channel's admin and the author, and the
// members bob and carol, every sender key in place (open_channel: each has sent a text). Per run:
// carol stops; alice posts kMessages texts pipelined (send_text_async) and waits until bob has
// archived them all; alice stops; carol starts again, and bob, the only member she can meet,
// hands her alice's texts a window at a time (ChannelRelay). The figure is kMessages over the
// time from carol's node looping until she has archived the last of them; median of kRuns runs.
//
// Where the clock starts: once carol's node loops (ProfileNode::start returned), before she has
// met bob. Her unlock (Argon2id, interactive) and the opening of her profile are what any restart
// costs, with nothing to catch up or 10,000 texts, so they stay out and go to stderr. Meeting bob
// (connecting, exchanging marks) stays in: no catch-up happens without it, and it is paid once
// per catch-up, as a real return pays it. Every run restarts carol, so each run is as cold as a
// return is (statement and page caches): there is no warm-up run.
//
// Where it stops: when carol's relay_copies_archived reaches kMessages. Her loop answers that read
// (Node::stats) between its rounds, so it counts what her batches have committed; it is read every
// kPollMs, a small call between her batches, so the stop is at most that late. A history read per
// poll would cost her loop far more than the poll measures.
//
// The target (issue 24) is text_throughput_msgs_per_s in the same run: catching up from a
// member should not be slower than getting the texts from their author. The two are not the same
// work: a relayed copy is a sender-key ciphertext whose author's signature carol checks (about
// 50 us, on a second thread while her loop opens the batch: crypto/verify_ahead.h), where a 1:1
// text is a Signal message with none; a 1:1 flood has its two ends working on two cores, where a
// catch-up is carol's loop and her checking thread (bob only reads and sends copies); and a 1:1
// receiver answers with receipts, carol with one message of marks per batch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sotto/core/node.h"
#include "tests/bench/bench.h"
#include "tests/support/channel_lab.h"
#include "tests/support/profile_node.h"
#include "tests/support/wait.h"

namespace sotto::bench {
namespace {

using Stopwatch = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr int kRuns = 3;
constexpr int kMessages = 10000;  // per run, as text_throughput_msgs_per_s
constexpr auto kPollMs = std::chrono::milliseconds(5);
// A catch-up that stops is stuck, not slow (a copy carol cannot open is never taken): give up
// once nothing has moved for this long, with her counters saying why, rather than at a deadline
// sized for the slowest whole run.
constexpr auto kStallAfter = 15s;
constexpr auto kPostDeadline = 120s;
const char* const kChannel = "bench";
const char* const kTo = "#bench";

double ms_between(Stopwatch::time_point from, Stopwatch::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

class CatchUp {
 public:
  CatchUp() : lab_({"alice", "bob", "carol"}) {
    test::open_channel(lab_, "alice", kChannel, {"bob", "carol"}, false);
  }

  // One run: carol away while alice posts, alice away while carol catches up; then alice back.
  // The seconds carol took, or nullopt (the reason recorded).
  std::optional<double> run(const std::string& tag) {
    test::ProfileNode& carol = lab_["carol"];
    carol.stop();
    const auto posting = Stopwatch::now();
    if (!post(tag)) return std::nullopt;
    const double post_ms = ms_between(posting, Stopwatch::now());
    lab_["alice"].stop();

    const auto asked = Stopwatch::now();
    lab_.start("carol");
    const auto start = Stopwatch::now();
    const uint64_t at_start = carol.counter("relay_copies_archived");
    auto seconds = until_archived(carol);
    if (!seconds) return std::nullopt;
    std::fprintf(stderr,
                 "bench: relay: %s: alice's texts all at bob in %.0f ms; carol restarted in "
                 "%.0f ms (%llu copies archived by then); first copy %.0f ms after, all %d in "
                 "%.0f ms (%.0f msgs/s)\n",
                 tag.c_str(), post_ms, ms_between(asked, start),
                 static_cast<unsigned long long>(at_start), first_copy_ms_, kMessages,
                 *seconds * 1000, kMessages / *seconds);
    if (!alice_back()) return std::nullopt;
    return seconds;
  }

  // Carol's archive holds each text of the runs tagged `tags` exactly once: a counter that ran
  // ahead of the archive, or copies taken twice, would make the figure a count of nothing.
  bool archived_once(const std::vector<std::string>& tags) {
    std::multiset<std::string> bodies;
    for (const auto& m : lab_["carol"].history(kTo)) {
      if (m.kind == core::MessageKind::kText) bodies.insert(m.body);
    }
    for (const auto& tag : tags) {
      for (int i = 0; i < kMessages; ++i) {
        const std::string body = text(tag, i);
        if (bodies.count(body) != 1) {
          unavailable("relay: carol has \"" + body + "\" " + std::to_string(bodies.count(body)) +
                      " times");
          return false;
        }
      }
    }
    return true;
  }

  // What bob handed over and carol took (her counters are of her last start), for stderr.
  void report_counters() {
    std::fprintf(stderr, "bench: relay: bob counters:%s\nbench: relay: carol counters:%s\n",
                 nonzero_counters(lab_["bob"].node()).c_str(),
                 nonzero_counters(lab_["carol"].node()).c_str());
  }

 private:
  static std::string text(const std::string& tag, int i) { return tag + " " + std::to_string(i); }

  // Alice posts kMessages texts; true once bob has archived them all.
  bool post(const std::string& tag) {
    test::ProfileNode& alice = lab_["alice"];
    test::ProfileNode& bob = lab_["bob"];
    const uint64_t before = bob.counter("group_messages_received");
    std::vector<std::future<Result<core::MessageInfo>>> sends;
    sends.reserve(kMessages);
    for (int i = 0; i < kMessages; ++i) {
      sends.push_back(alice.node().send_text_async(kTo, text(tag, i)));
    }
    for (auto& sent : sends) {
      auto result = sent.get();
      if (!result.is_ok()) {
        unavailable("relay: alice's send failed: " + result.status().message());
        return false;
      }
    }
    if (!test::wait_until(
            [&] { return bob.counter("group_messages_received") >= before + kMessages; },
            kPostDeadline)) {
      unavailable("relay: bob did not get alice's " + std::to_string(kMessages) + " texts in " +
                  std::to_string(kPostDeadline.count()) + " s");
      return false;
    }
    return true;
  }

  // Seconds until `carol` has archived kMessages relayed copies, or nullopt when she stops
  // getting them.
  std::optional<double> until_archived(test::ProfileNode& carol) {
    const auto start = Stopwatch::now();
    auto moved_at = start;
    uint64_t archived = 0;
    first_copy_ms_ = NAN;
    for (;;) {
      // A call the loop could not answer in time reads as 0: only a rise counts.
      const uint64_t now_archived = carol.counter("relay_copies_archived");
      const auto now = Stopwatch::now();
      if (now_archived > archived) {
        if (archived == 0) first_copy_ms_ = ms_between(start, now);
        archived = now_archived;
        moved_at = now;
      }
      if (archived >= kMessages) return std::chrono::duration<double>(now - start).count();
      if (now - moved_at > kStallAfter) {
        unavailable("relay: carol archived " + std::to_string(archived) + " of " +
                    std::to_string(kMessages) + " copies and nothing more for " +
                    std::to_string(kStallAfter.count()) +
                    " s; her relay counters:" + nonzero_counters(carol.node(), "relay_"));
        return std::nullopt;
      }
      std::this_thread::sleep_for(kPollMs);
    }
  }

  // Alice returns; her outbox for carol is emptied by carol's marks before the next run posts.
  bool alice_back() {
    lab_.start("alice");
    test::ProfileNode& alice = lab_["alice"];
    if (!test::wait_until([&] { return lab_.all_online() && alice.counter("outbox_waiting") == 0; },
                          60s)) {
      unavailable("relay: back, alice still has " +
                  std::to_string(alice.counter("outbox_waiting")) + " frames in her outbox");
      return false;
    }
    return true;
  }

  test::ChannelLab lab_;
  double first_copy_ms_ = NAN;
};

double measure_relay_catchup() {
  try {
    CatchUp catch_up;
    std::vector<double> rates;
    std::vector<std::string> tags;
    for (int run = 0; run < kRuns; ++run) {
      tags.push_back("run" + std::to_string(run));
      auto seconds = catch_up.run(tags.back());
      if (!seconds) return NAN;
      rates.push_back(kMessages / *seconds);
    }
    if (!catch_up.archived_once(tags)) return NAN;
    catch_up.report_counters();
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
  } catch (const std::exception& e) {
    // ChannelLab reports a step that failed or stalled by throwing.
    return unavailable(std::string("relay: ") + e.what());
  }
}

}  // namespace

double relay_catchup_msgs_per_s() {
  return measured_once<measure_relay_catchup>();
}

}  // namespace sotto::bench
