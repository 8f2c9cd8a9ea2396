// channel_fanout_msgs_per_s (issue 5): one sender and kMembers members of one channel, nine real
// nodes in this process (each its own thread, profile, ZeroMQ context and sockets on 127.0.0.1,
// every pair connected). The sender floods kMessages channel texts pipelined (send_text_async);
// the figure is kMessages over the time from the first send until every member has committed
// every message (synchronous=FULL; a member publishes its MessageEvent only after that commit).
// Median of kRuns runs on the same channel, after a warm-up that distributes the sender key.
// Afterwards every member's archive is checked to hold each message exactly once, and the time
// until the sender also holds every member's receipt goes to stderr.
//
// Time on this machine is shared by all nine node threads on its two cores: per message the
// sender encrypts once with its sender key and signs (about 65 us), and each of the 8 members
// verifies that signature (about 108 us), so the verifications alone need ~0.9 ms of CPU per
// message, ~0.45 ms on two cores: a ceiling near 2,000 msgs/s before any I/O.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sotto/core/node.h"
#include "tests/bench/bench.h"
#include "tests/support/test_node.h"
#include "tests/support/wait.h"

namespace sotto::bench {
namespace {

using Stopwatch = std::chrono::steady_clock;
constexpr int kMembers = 8;
constexpr int kRuns = 5;
constexpr int kMessages = 2000;  // per run; sender keys rotate every 1,000, so twice per run
constexpr int kWarmupMessages = 100;
constexpr auto kRunDeadline = std::chrono::seconds(120);
const char* const kChannel = "#bench";

bool is_channel_text(const core::Event& event) {
  const auto* message = std::get_if<core::MessageEvent>(&event.body);
  return message != nullptr && !message->message.outgoing &&
         message->message.kind == core::MessageKind::kText && !message->message.channel.empty();
}

class Fanout {
 public:
  bool set_up() {
    nodes_.push_back(std::make_unique<test::TestNode>("sender"));
    for (int i = 0; i < kMembers; ++i) {
      // Each node is given every node before it, so every pair of the nine finds each other.
      core::NodeOptions options = test::loopback_options();
      for (const auto& earlier : nodes_) {
        options.peers.push_back(core::PeerSpec::parse(earlier->endpoint()).value());
      }
      nodes_.push_back(
          std::make_unique<test::TestNode>("member" + std::to_string(i), std::move(options)));
    }
    if (!test::wait_until([&] { return all_online(); }, std::chrono::seconds(15))) {
      unavailable("channel: the nine nodes did not all come online");
      return false;
    }
    core::Node& sender = nodes_[0]->node();
    for (size_t i = 1; i < nodes_.size(); ++i) {
      auto added = sender.add_contact(nodes_[i]->fingerprint());
      if (!added.is_ok()) return fail("add_contact", added.status());
    }
    // Not strict: membership without safety-number checks, which are not what is measured.
    auto created = sender.create_channel(kChannel, false);
    if (!created.is_ok()) return fail("create_channel", created.status());
    for (size_t i = 1; i < nodes_.size(); ++i) {
      auto invited = sender.invite_to_channel(kChannel, nodes_[i]->fingerprint());
      if (!invited.is_ok()) return fail("invite_to_channel", invited.status());
    }
    for (size_t i = 1; i < nodes_.size(); ++i) {
      if (!accept_invitation(*nodes_[i], nodes_[0]->fingerprint(), kChannel)) return false;
    }
    if (!test::wait_until([&] { return all_see_full_roster(); }, std::chrono::seconds(30))) {
      unavailable("channel: not every member sees all " + std::to_string(kMembers + 1) +
                  " members");
      return false;
    }
    for (size_t i = 1; i < nodes_.size(); ++i) queues_.push_back(nodes_[i]->node().subscribe());
    sender_events_ = sender.subscribe();
    // The first messages carry the sender key to every member (and fill the caches).
    if (!flood(kWarmupMessages, "warm-up")) {
      unavailable("channel: the warm-up messages did not reach every member");
      return false;
    }
    return true;
  }

  // Sends `count` texts and waits until every member has published each. Returns the seconds
  // from the first send to the last member's last message, or a negative number.
  double flood(int count, const std::string& tag) {
    core::Node& sender = nodes_[0]->node();
    drain();
    receipts_before_ = nodes_[0]->counter("receipts_received");
    std::vector<int> received(queues_.size(), 0);
    size_t members_done = 0;
    std::vector<std::future<Result<core::MessageInfo>>> sends;
    sends.reserve(static_cast<size_t>(count));
    const auto start = Stopwatch::now();
    for (int i = 0; i < count; ++i) {
      sends.push_back(sender.send_text_async(kChannel, tag + " " + std::to_string(i)));
    }
    auto last = start;
    std::vector<pollfd> fds;
    for (const auto& queue : queues_) fds.push_back(pollfd{queue->fd(), POLLIN, 0});
    while (members_done < queues_.size()) {
      if (Stopwatch::now() - start > kRunDeadline) {
        std::string had;
        for (int n : received) had += " " + std::to_string(n);
        unavailable("channel: after " + std::to_string(kRunDeadline.count()) +
                    " s the members had" + had + " of " + std::to_string(count));
        return -1;
      }
      (void)::poll(fds.data(), fds.size(), 100);
      for (size_t m = 0; m < queues_.size(); ++m) {
        while (auto event = queues_[m]->pop()) {
          if (!is_channel_text(*event)) continue;
          if (++received[m] == count) {
            ++members_done;
            last = Stopwatch::now();
          }
        }
      }
    }
    for (auto& sent : sends) {
      auto result = sent.get();
      if (!result.is_ok()) {
        fail("send_text_async", result.status());
        return -1;
      }
    }
    return std::chrono::duration<double>(last - start).count();
  }

  // How long after `flood` returned the sender holds all receipts (one per member per message),
  // or a negative number when they do not come within 30 s.
  double receipts_after(int count) {
    const auto start = Stopwatch::now();
    const uint64_t want = receipts_before_ + static_cast<uint64_t>(count) * kMembers;
    if (!test::wait_until([&] { return nodes_[0]->counter("receipts_received") >= want; },
                          std::chrono::seconds(30))) {
      return -1;
    }
    return std::chrono::duration<double, std::milli>(Stopwatch::now() - start).count();
  }

  // Every member's archive holds each of the `count` messages tagged `tag` exactly once.
  bool archived_once(int count, const std::vector<std::string>& tags) {
    for (size_t i = 1; i < nodes_.size(); ++i) {
      auto history = nodes_[i]->node().history(kChannel, 1000000);
      if (!history.is_ok()) return fail("history", history.status());
      std::multiset<std::string> bodies;
      for (const auto& m : history.value()) {
        if (m.kind == core::MessageKind::kText) bodies.insert(m.body);
      }
      for (const auto& tag : tags) {
        for (int n = 0; n < count; ++n) {
          if (bodies.count(tag + " " + std::to_string(n)) != 1) {
            unavailable("channel: member" + std::to_string(i - 1) + " has \"" + tag + " " +
                        std::to_string(n) + "\" " +
                        std::to_string(bodies.count(tag + " " + std::to_string(n))) + " times");
            return false;
          }
        }
      }
    }
    return true;
  }

  // The sender's view of its members during the last flood: how often one went evasive (no
  // frame for LivenessTimeouts::evasive_ms) and came back online. Each return online resends
  // that member's whole unacknowledged outbox.
  std::string peer_changes() {
    int evasive = 0, online = 0, other = 0;
    while (auto event = sender_events_->pop()) {
      const auto* peer = std::get_if<core::PeerEvent>(&event->body);
      if (peer == nullptr) continue;
      if (peer->peer.state == net::PeerState::kEvasive) {
        ++evasive;
      } else if (peer->peer.state == net::PeerState::kOnline) {
        ++online;
      } else {
        ++other;
      }
    }
    return "members went evasive " + std::to_string(evasive) + " times, online again " +
           std::to_string(online) + ", other changes " + std::to_string(other);
  }

  // The sender's counters and one member's, for the report on stderr.
  void report_counters() {
    std::fprintf(
        stderr, "bench: channel: sender counters:%s\nbench: channel: member0 counters:%s\n",
        nonzero_counters(nodes_[0]->node()).c_str(), nonzero_counters(nodes_[1]->node()).c_str());
  }

 private:
  bool all_online() {
    for (const auto& a : nodes_) {
      for (const auto& b : nodes_) {
        if (a != b && !a->sees_online(*b)) return false;
      }
    }
    return true;
  }

  bool all_see_full_roster() {
    for (const auto& node : nodes_) {
      auto info = node->node().channel(kChannel);
      if (!info.is_ok() || info.value().members.size() != nodes_.size()) return false;
    }
    return true;
  }

  void drain() {
    for (const auto& queue : queues_) {
      while (queue->pop()) {
      }
    }
    while (sender_events_->pop()) {
    }
  }

  static bool fail(const char* what, const Status& status) {
    unavailable(std::string("channel: ") + what + ": " + status.message());
    return false;
  }

  std::vector<std::unique_ptr<test::TestNode>> nodes_;     // [0] is the sender
  std::vector<std::shared_ptr<core::EventQueue>> queues_;  // one per member
  std::shared_ptr<core::EventQueue> sender_events_;
  uint64_t receipts_before_ = 0;
};

}  // namespace

std::string nonzero_counters(core::Node& node, const std::string& prefix) {
  std::string out;
  for (const auto& [name, value] : node.stats().counters) {
    if (value != 0 && name.rfind(prefix, 0) == 0) out += " " + name + "=" + std::to_string(value);
  }
  return out;
}

bool accept_invitation(test::TestNode& member, const std::string& admin_fingerprint,
                       const std::string& channel) {
  std::string state;
  const bool arrived = test::wait_until(
      [&] {
        auto seen = member.node().channel(channel);
        state = seen.is_ok() ? std::string(core::to_string(seen.value().state)) : "";
        return state == "invited" || state == "member";
      },
      std::chrono::seconds(10));
  if (!arrived) {
    unavailable("the invitation to " + channel + " did not reach " + member.fingerprint());
    return false;
  }
  // An admin this member has already compared invites it straight in.
  if (state == "member") return true;
  auto confirmed = member.node().confirm_contact(admin_fingerprint);
  if (!confirmed.is_ok()) {
    unavailable("confirming the admin of " + channel + ": " + confirmed.status().message());
    return false;
  }
  auto accepted = member.node().accept_channel(channel);
  if (!accepted.is_ok()) {
    unavailable("accepting " + channel + ": " + accepted.status().message());
    return false;
  }
  return true;
}

double measure_channel_fanout() {
  Fanout fanout;
  if (!fanout.set_up()) return NAN;
  std::vector<double> rates;
  std::vector<std::string> tags;
  for (int run = 0; run < kRuns; ++run) {
    tags.push_back("run" + std::to_string(run));
    const double seconds = fanout.flood(kMessages, tags.back());
    if (seconds <= 0) return NAN;
    rates.push_back(kMessages / seconds);
    const double receipts_ms = fanout.receipts_after(kMessages);
    std::fprintf(stderr,
                 "bench: channel: run %d: %d messages to %d members in %.0f ms (%.0f msgs/s); "
                 "all receipts at the sender %.0f ms later; %s\n",
                 run, kMessages, kMembers, seconds * 1000, rates.back(), receipts_ms,
                 fanout.peer_changes().c_str());
  }
  if (!fanout.archived_once(kMessages, tags)) return NAN;
  fanout.report_counters();
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

double channel_fanout_msgs_per_s() {
  return measured_once<measure_channel_fanout>();
}

}  // namespace sotto::bench
