// Floods of 1:1 texts through a daemon's control socket (as `sotto send` would send them, minus
// a process per text), and what the archives say about them afterwards: the helpers of the
// crash, partition and disk-full tests (doc/guide.md, Text "exactly once in the archive").
// Text i is text_of(i) ("m<i>"), so archives can be compared by body.
// Thread-safety: flood() may run on a thread of its own; the rest use Catch2 (main thread).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/daemon.h"

namespace sotto::test {

std::string text_of(int i);

struct FloodResult {
  std::vector<int> acked;         // the texts the node acknowledged (committed), in order
  std::optional<int> unanswered;  // the request in flight when the node stopped answering
  std::string error;
};

// Sends text_of(i) for i in [first, last) to contact `to` through `from`'s control socket, one
// request at a time; stops at the first request that is not acknowledged (the node died).
// `acked` (when given) counts acknowledged texts for another thread; `on_ack` runs after each;
// `stop` (when given) ends the flood early once it turns true. A request unanswered for
// `reply_timeout_ms` counts as the node's death.
FloodResult flood(const DaemonProfile& from, const std::string& to, int first, int last,
                  std::atomic<int>* acked = nullptr, const std::function<void(int)>& on_ack = {},
                  const std::atomic<bool>* stop = nullptr, int reply_timeout_ms = 3000);

// Bodies of the outgoing messages in `history`, with their states ("delivered", ...).
std::map<std::string, std::string> outgoing_states(const std::vector<nlohmann::json>& history);
// How often each body occurs among the incoming messages of `history`.
std::map<std::string, int> incoming_counts(const std::vector<nlohmann::json>& history);
// True when `sender`'s archive holds exactly `n` outgoing texts, all delivered. REQUIRES: they
// are all that goes into its outbox (a running sender's outbox is checked empty first).
bool all_delivered(const DaemonProfile& sender, size_t n);

// `check` polled at most every `interval`: a full history of thousands of rows is not something
// to ask a busy node for every 5 ms (for wait_until).
std::function<bool()> every(std::chrono::milliseconds interval, std::function<bool()> check);

// Starts both daemons (EXTRA for each; `bob` gets --peer alice) and waits until each sees the
// other online, then makes Bob Alice's contact ("bob", with a session).
void connect_pair(DaemonProfile& alice, DaemonProfile& bob,
                  const std::vector<std::string>& alice_extra = {},
                  const std::vector<std::string>& bob_extra = {},
                  const std::string& alice_listen = "tcp://127.0.0.1:0",
                  const std::string& bob_listen = "tcp://127.0.0.1:0");

int64_t ms_since(std::chrono::steady_clock::time_point start);

}  // namespace sotto::test
