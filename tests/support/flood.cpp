#include "tests/support/flood.h"

#include <catch2/catch.hpp>
#include <thread>

#include "sotto/core/control_client.h"
#include "tests/support/sanitizers.h"
#include "tests/support/wait.h"

namespace sotto::test {

using nlohmann::json;
using namespace std::chrono_literals;

std::string text_of(int i) {
  return "m" + std::to_string(i);
}

FloodResult flood(const DaemonProfile& from, const std::string& to, int first, int last,
                  std::atomic<int>* acked, const std::function<void(int)>& on_ack,
                  const std::atomic<bool>* stop, int reply_timeout_ms) {
  FloodResult result;
  auto client = core::ControlClient::connect(from.dir());
  if (!client.is_ok()) {
    result.error = client.status().message();
    return result;
  }
  for (int i = first; i < last && !(stop && stop->load()); ++i) {
    const std::string request = json{{"cmd", "send"}, {"to", to}, {"text", text_of(i)}}.dump();
    auto reply = client.value()->request(request, reply_timeout_ms * kSlowdown);
    if (!reply.is_ok()) {
      result.unanswered = i;
      result.error = reply.status().message();
      return result;
    }
    auto parsed = json::parse(reply.value());
    if (!parsed.value("ok", false)) {
      result.error = reply.value();
      return result;
    }
    result.acked.push_back(i);
    if (acked) {
      ++*acked;
      acked->notify_all();
    }
    if (on_ack) on_ack(i);
  }
  return result;
}

std::map<std::string, std::string> outgoing_states(const std::vector<json>& history) {
  std::map<std::string, std::string> out;
  for (const auto& m : history) {
    if (m.value("outgoing", false)) out[m["body"].get<std::string>()] = m["state"];
  }
  return out;
}

std::map<std::string, int> incoming_counts(const std::vector<json>& history) {
  std::map<std::string, int> out;
  for (const auto& m : history) {
    if (!m.value("outgoing", false)) ++out[m["body"].get<std::string>()];
  }
  return out;
}

bool all_delivered(const DaemonProfile& sender, size_t n) {
  // A running sender is asked for its outbox first: a whole history of thousands of texts is a
  // costly reply, and asked for every 250 ms it would keep a slow node (a sanitizer build) from
  // draining at all.
  if (sender.running() && sender.stats().value("outbox_waiting", uint64_t{1}) != 0) return false;
  auto states = outgoing_states(sender.history());
  if (states.size() != n) return false;
  return std::all_of(states.begin(), states.end(),
                     [](const auto& s) { return s.second == "delivered"; });
}

std::function<bool()> every(std::chrono::milliseconds interval, std::function<bool()> check) {
  return [interval, check = std::move(check)] {
    if (check()) return true;
    std::this_thread::sleep_for(interval);
    return false;
  };
}

void connect_pair(DaemonProfile& alice, DaemonProfile& bob,
                  const std::vector<std::string>& alice_extra,
                  const std::vector<std::string>& bob_extra, const std::string& alice_listen,
                  const std::string& bob_listen) {
  alice.start(alice_extra, alice_listen);
  std::vector<std::string> extra = {"--peer", alice.endpoint()};
  extra.insert(extra.end(), bob_extra.begin(), bob_extra.end());
  bob.start(extra, bob_listen);
  REQUIRE(wait_until(
      [&] {
        return alice.peer_state(bob.fingerprint()) == "online" &&
               bob.peer_state(alice.fingerprint()) == "online";
      },
      5s));
  auto added = alice.sotto({"add", "bob"});
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
}

int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace sotto::test
