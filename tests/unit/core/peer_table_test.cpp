// PeerTable against a fake clock and fake links: discovery results, liveness, eviction and
// relinking, with no sockets.
#include "src/core/peer_table.h"

#include <catch2/catch.hpp>
#include <set>

using namespace sotto;
using core::PeerTable;
using net::LinkEvent;
using net::PeerState;

namespace {

// Links that always open, and remember what was asked of them.
class FakeLinks final : public core::LinkControl {
 public:
  void admit(const Bytes& key, const std::string& fp) override { claims.insert({key, fp}); }
  void revoke(const Bytes& key, const std::string& fp) override { claims.erase({key, fp}); }
  Status connect(const std::string& fp, const std::string& endpoint, const Bytes&) override {
    ++connects;
    links[fp] = endpoint;
    return Status::ok();
  }
  void disconnect(const std::string& fp) override { links.erase(fp); }
  bool has_link(const std::string& fp) const override {
    ++has_link_calls;
    return links.contains(fp);
  }
  size_t link_count() const override { return links.size(); }
  bool send_hello(core::TablePeer& peer) override {
    hellos.push_back(peer.info.fingerprint);
    return hellos_go;
  }
  bool send_heartbeat(const std::string& fp) override {
    heartbeats.push_back(fp);
    return true;
  }
  bool wants_link(const std::string& fp) override { return wants_all || wanted.contains(fp); }
  bool knows(const std::string& fp) override { return wants_link(fp) || members.contains(fp); }

  std::set<std::pair<Bytes, std::string>> claims;
  std::map<std::string, std::string> links;  // fingerprint -> endpoint
  int connects = 0;
  bool hellos_go = true;
  std::vector<std::string> hellos;
  std::vector<std::string> heartbeats;
  bool wants_all = true;  // every peer a contact, unless a test says otherwise
  std::set<std::string> wanted;
  std::set<std::string> members;   // co-members: known, no standing link
  mutable int has_link_calls = 0;  // a walk of the table asks it once per peer
};

Bytes key_of(char c) {
  return Bytes(32, static_cast<uint8_t>(c));
}

std::string endpoint_of(int port) {
  return "tcp://10.0.0.1:" + std::to_string(port);
}

struct Rig {
  explicit Rig(size_t max_peers = 8) : table(options(max_peers), clock, links, counters, record) {}

  static core::PeerTableOptions options(size_t max_peers) {
    core::PeerTableOptions options;
    options.max_peers = max_peers;
    return options;
  }

  // A beacon from peer `c` (fingerprint "fp-c", key c...c) listening on `port`.
  PeerTable::Peer* beacon(char c, int port = 4000, bool configured = false) {
    return table.on_beacon(std::string("fp-") + c, key_of(c), key_of(c), endpoint_of(port),
                           configured);
  }
  // Brings peer `c` online: our handshake, then a frame from it.
  void online(char c) {
    const std::string fp = std::string("fp-") + c;
    table.on_link(fp, LinkEvent::kHandshakeSucceeded);
    PeerTable::Peer* peer = table.find(fp);
    if (table.on_traffic(*peer)) table.changed(*peer);
  }
  PeerState state(char c) { return table.find(std::string("fp-") + c)->liveness.state(); }

  FakeClock clock;
  FakeLinks links;
  core::Counters counters;
  std::vector<std::pair<std::string, PeerState>> changes;
  std::function<void(PeerTable::Peer&)> record = [this](PeerTable::Peer& peer) {
    changes.emplace_back(peer.info.fingerprint, peer.liveness.state());
  };
  PeerTable table;
};

}  // namespace

TEST_CASE("a verified beacon makes a peer, admits its key and opens its link",
          "[core][peer_table]") {
  Rig rig;
  PeerTable::Peer* peer = rig.beacon('a');
  REQUIRE(peer != nullptr);
  CHECK(peer->info.endpoint == endpoint_of(4000));
  CHECK(rig.links.claims.contains({key_of('a'), "fp-a"}));
  CHECK(rig.links.links.at("fp-a") == endpoint_of(4000));
  CHECK(peer->hello_pending);
  CHECK(rig.state('a') == PeerState::kConnecting);
  CHECK(rig.counters.get(core::Counter::peers_discovered) == 1);
  REQUIRE(rig.changes.size() == 1);
  CHECK(rig.changes[0] == std::make_pair(std::string("fp-a"), PeerState::kConnecting));

  // The same beacon again: no second link.
  rig.beacon('a');
  CHECK(rig.links.connects == 1);
  CHECK(rig.table.size() == 1);
}

TEST_CASE("the handshake sends our Hello before the peer is reported online",
          "[core][peer_table]") {
  Rig rig;
  rig.beacon('a');
  rig.online('a');
  CHECK(rig.links.hellos == std::vector<std::string>{"fp-a"});
  CHECK_FALSE(rig.table.find("fp-a")->hello_pending);
  CHECK(rig.state('a') == PeerState::kOnline);
  CHECK(rig.table.find("fp-a")->link_fresh);
}

TEST_CASE("a Hello that could not go is tried again on the next tick", "[core][peer_table]") {
  Rig rig;
  rig.beacon('a');
  rig.links.hellos_go = false;
  rig.table.on_link("fp-a", LinkEvent::kHandshakeSucceeded);
  CHECK(rig.table.find("fp-a")->hello_pending);
  rig.links.hellos_go = true;
  rig.table.tick();
  CHECK(rig.links.hellos.size() == 2);
  CHECK_FALSE(rig.table.find("fp-a")->hello_pending);
}

TEST_CASE("an online peer keeps its address against a beacon from elsewhere",
          "[core][peer_table][security]") {
  Rig rig;
  rig.beacon('a', 4000);
  rig.online('a');
  rig.beacon('a', 5000);  // a replayed beacon, from another address
  CHECK(rig.table.find("fp-a")->info.endpoint == endpoint_of(4000));
  CHECK(rig.links.connects == 1);

  SECTION("an offline one moves") {
    rig.table.on_link("fp-a", LinkEvent::kDisconnected);
    REQUIRE_FALSE(rig.table.find("fp-a")->liveness.is_online());
    rig.beacon('a', 5000);
    CHECK(rig.table.find("fp-a")->info.endpoint == endpoint_of(5000));
    CHECK(rig.links.links.at("fp-a") == endpoint_of(5000));
  }
}

TEST_CASE("a peer is found where it is now: not where it was, not once forgotten",
          "[core][peer_table]") {
  Rig rig;
  auto at = [&](int port) {
    const PeerTable::Peer* peer = rig.table.at_endpoint(endpoint_of(port));
    return peer == nullptr ? std::string() : peer->info.fingerprint;
  };
  rig.beacon('b', 4000);
  CHECK(at(4000) == "fp-b");
  CHECK(at(4001).empty());

  // Offline, it moves: found at its new address only.
  rig.beacon('b', 4001);
  CHECK(at(4001) == "fp-b");
  CHECK(at(4000).empty());

  // Two identities claim one address: the first by fingerprint, as a walk of the table found.
  rig.beacon('c', 4001);
  rig.beacon('a', 4001);
  CHECK(at(4001) == "fp-a");
  rig.table.forget("fp-a");
  CHECK(at(4001) == "fp-b");
  rig.table.forget("fp-b");
  CHECK(at(4001) == "fp-c");

  // One evicted to make room goes from the index too.
  Rig full(1);
  full.links.wants_all = false;  // strangers, without links: the ones a full table forgets
  full.beacon('s', 4100);
  full.beacon('t', 4200);
  REQUIRE(full.table.find("fp-s") == nullptr);
  CHECK(full.table.at_endpoint(endpoint_of(4100)) == nullptr);
  CHECK(full.table.at_endpoint(endpoint_of(4200)) != nullptr);
}

TEST_CASE("a full table forgets a stranger without a link, never a contact or a configured peer",
          "[core][peer_table][security]") {
  Rig rig(3);
  rig.links.wants_all = false;
  rig.links.wanted = {"fp-b"};
  rig.beacon('a', 4000, /*configured=*/true);
  rig.clock.advance_ms(10);
  rig.beacon('b', 4001);  // a contact
  rig.online('b');
  rig.clock.advance_ms(10);
  rig.beacon('c', 4002);  // a stranger
  CHECK_FALSE(rig.links.links.contains("fp-c"));
  rig.clock.advance_ms(10);

  REQUIRE(rig.beacon('d', 4003) != nullptr);
  CHECK(rig.table.find("fp-c") == nullptr);  // the only one that may go
  CHECK_FALSE(rig.links.claims.contains({key_of('c'), "fp-c"}));
  CHECK(rig.counters.get(core::Counter::peers_evicted) == 1);

  // A stranger we opened a link to (we sent it something) stays while the link does.
  REQUIRE(rig.table.open_on_demand(*rig.table.find("fp-d")));
  CHECK(rig.beacon('e', 4004) == nullptr);  // nobody left to evict
  CHECK(rig.counters.get(core::Counter::peer_table_full) == 1);
  CHECK(rig.table.size() == 3);
}

TEST_CASE("a refused handshake is retried with a backoff that doubles up to its cap",
          "[core][peer_table]") {
  Rig rig;
  rig.beacon('a');
  int64_t expected = PeerTable::kRelinkInitialMs;
  for (int attempt = 0; attempt < 10; ++attempt) {
    rig.table.on_link("fp-a", LinkEvent::kHandshakeFailed);
    rig.table.on_link("fp-a", LinkEvent::kDisconnected);  // the same attempt, not a second
    CHECK(rig.table.next_deadline_ms() <= rig.clock.now_ms() + expected);
    const int connects = rig.links.connects;
    rig.clock.advance_ms(expected - 1);
    rig.table.tick();
    CHECK(rig.links.connects == connects);
    rig.clock.advance_ms(1);
    rig.table.tick();
    CHECK(rig.links.connects == connects + 1);
    expected = std::min(expected * 2, PeerTable::kRelinkMaxMs);
  }
  CHECK(expected == PeerTable::kRelinkMaxMs);
  CHECK(rig.counters.get(core::Counter::relinks) == 10);
}

TEST_CASE("a link that was up and dropped is reopened at once", "[core][peer_table]") {
  Rig rig;
  rig.beacon('a');
  rig.online('a');
  const int connects = rig.links.connects;
  rig.table.on_link("fp-a", LinkEvent::kDisconnected);
  CHECK(rig.state('a') == PeerState::kOffline);
  rig.table.tick();
  CHECK(rig.links.connects == connects + 1);
  CHECK(rig.table.find("fp-a")->hello_pending == false);  // sent on the tick, the link is there
}

TEST_CASE("silence makes a peer evasive, then offline; heartbeats go on the beat",
          "[core][peer_table]") {
  Rig rig;
  rig.beacon('a');
  rig.online('a');
  const net::LivenessTimeouts timeouts;
  rig.clock.advance_ms(1000);
  rig.table.tick();
  CHECK(rig.links.heartbeats == std::vector<std::string>{"fp-a"});
  rig.table.tick();
  CHECK(rig.links.heartbeats.size() == 1);  // not again before the next beat
  CHECK(rig.table.next_deadline_ms() == rig.clock.now_ms() - 1000 + timeouts.evasive_ms);
  rig.clock.advance_ms(timeouts.evasive_ms - 1000);
  rig.table.tick();
  CHECK(rig.state('a') == PeerState::kEvasive);
  rig.clock.advance_ms(timeouts.offline_ms - timeouts.evasive_ms);
  rig.table.tick();
  CHECK(rig.state('a') == PeerState::kOffline);
  CHECK(rig.changes.back() == std::make_pair(std::string("fp-a"), PeerState::kOffline));
}

TEST_CASE("a heartbeat held back on one tick goes on the next that allows it",
          "[core][peer_table]") {
  Rig rig;
  rig.beacon('a');
  rig.online('a');
  rig.clock.advance_ms(1000);
  rig.table.tick(false);
  CHECK(rig.links.heartbeats.empty());
  CHECK(rig.table.heartbeats_held());
  rig.clock.advance_ms(5);
  rig.table.tick();
  CHECK(rig.links.heartbeats == std::vector<std::string>{"fp-a"});
  CHECK_FALSE(rig.table.heartbeats_held());
  rig.table.tick(false);  // none due: nothing held
  CHECK_FALSE(rig.table.heartbeats_held());
  CHECK(rig.links.heartbeats.size() == 1);
}

TEST_CASE("a proved key is its prover's, and other identities' claims on it go",
          "[core][peer_table][security]") {
  Rig rig;
  rig.beacon('a');
  // 'b' claims a's key in its beacon.
  rig.table.on_beacon("fp-b", key_of('b'), key_of('a'), endpoint_of(4001), false);
  rig.table.bind_key(key_of('a'), "fp-a");
  REQUIRE(rig.table.owner_of(key_of('a')) != nullptr);
  CHECK(*rig.table.owner_of(key_of('a')) == "fp-a");
  CHECK(rig.table.find("fp-b") == nullptr);
  CHECK(rig.counters.get(core::Counter::beacon_claims_refused) == 1);

  // The same identity proving another key gives up the first.
  rig.table.bind_key(key_of('z'), "fp-a");
  CHECK(rig.table.owner_of(key_of('a')) == nullptr);
  CHECK(rig.counters.get(core::Counter::identity_key_rebound) == 1);

  // Forgetting the peer forgets what it proved.
  rig.table.forget("fp-a");
  CHECK(rig.table.owner_of(key_of('z')) == nullptr);
}

TEST_CASE("a peer introduced as a contact gets a Hello at once", "[core][peer_table]") {
  Rig rig;
  rig.beacon('a');
  rig.online('a');
  rig.table.introduce("fp-a");
  CHECK(rig.table.find("fp-a")->known);
  CHECK(rig.links.hellos.size() == 2);
  rig.table.introduce("fp-nobody");  // no entry: nothing to do
}

TEST_CASE(
    "a co-member is known but gets no standing link: neither its beacons nor its introduction "
    "open one, it is never evicted, and a link opened to send it something closes when idle",
    "[core][peer_table][scale]") {
  Rig rig(2);
  rig.links.wants_all = false;
  rig.links.members = {"fp-m"};
  REQUIRE(rig.beacon('m') != nullptr);
  CHECK(rig.table.find("fp-m")->known);
  CHECK_FALSE(rig.links.links.contains("fp-m"));
  rig.table.introduce("fp-m");  // the roster that made it a co-member
  CHECK_FALSE(rig.links.links.contains("fp-m"));
  rig.beacon('m');
  CHECK_FALSE(rig.links.links.contains("fp-m"));

  // A full table evicts the stranger, not the co-member.
  rig.beacon('s', 4001);
  REQUIRE(rig.beacon('t', 4002) != nullptr);
  CHECK(rig.table.find("fp-m") != nullptr);
  CHECK(rig.table.find("fp-s") == nullptr);

  // We send it something: a link on demand, closed once idle, and not reopened by its beacons.
  REQUIRE(rig.table.open_on_demand(*rig.table.find("fp-m")));
  rig.online('m');
  CHECK(rig.links.links.contains("fp-m"));
  rig.clock.advance_ms(core::PeerTableOptions{}.link_idle_ms + 1000);
  rig.table.tick();
  CHECK_FALSE(rig.links.links.contains("fp-m"));
  rig.beacon('m');
  CHECK_FALSE(rig.links.links.contains("fp-m"));

  // Once a contact, it keeps one.
  rig.links.wanted = {"fp-m"};
  rig.table.introduce("fp-m");
  CHECK(rig.links.links.contains("fp-m"));
}

TEST_CASE("a LAN of strangers is walked only when one is due, and each goes offline on time",
          "[core][peer_table][scale]") {
  Rig rig(1000);
  rig.links.wants_all = false;
  constexpr int kStrangers = 300;
  constexpr int64_t kIntervalMs = 30'000;
  auto fingerprint = [](int i) { return "fp-" + std::to_string(i); };
  auto live_beacon = [&](int i) {
    Bytes key(32, 0);
    key[0] = static_cast<uint8_t>(i);
    key[1] = static_cast<uint8_t>(i >> 8);
    PeerTable::Peer* peer =
        rig.table.on_beacon(fingerprint(i), key, key, endpoint_of(4000 + i), false, true);
    REQUIRE(peer != nullptr);
    rig.table.on_live_beacon(*peer, kIntervalMs);
  };
  for (int i = 0; i < kStrangers; ++i) live_beacon(i);
  REQUIRE(rig.links.links.empty());
  REQUIRE(rig.changes.size() == kStrangers);  // each online
  rig.changes.clear();
  const int64_t first_deadline = rig.table.next_deadline_ms();
  REQUIRE(first_deadline > rig.clock.now_ms());

  // Rounds before the deadline cost no walk.
  const int walked_before = rig.links.has_link_calls;
  for (int round = 0; round < 20; ++round) {
    rig.clock.advance_ms(1000);
    rig.table.tick();
    CHECK(rig.table.next_deadline_ms() == first_deadline);
  }
  CHECK(rig.links.has_link_calls == walked_before);

  // Half of them beacon again; the deadline stays early (a walk later finds nothing due and
  // moves it), and the other half go at their own deadline, not later and not sooner.
  for (int i = 0; i < kStrangers; i += 2) live_beacon(i);
  CHECK(rig.table.next_deadline_ms() == first_deadline);
  const int walked_at_deadline = rig.links.has_link_calls;
  rig.clock.advance_ms(first_deadline - rig.clock.now_ms() - 1);
  rig.table.tick();
  CHECK(rig.changes.empty());
  CHECK(rig.links.has_link_calls == walked_at_deadline);
  rig.clock.advance_ms(1);
  rig.table.tick();
  CHECK(rig.links.has_link_calls == walked_at_deadline + kStrangers);
  size_t evasive = 0;
  for (const auto& [fp, state] : rig.changes) {
    const int i = std::stoi(fp.substr(3));
    CHECK(i % 2 == 1);
    if (state == PeerState::kEvasive) ++evasive;
  }
  CHECK(evasive == kStrangers / 2);
  CHECK(rig.table.next_deadline_ms() > rig.clock.now_ms());
  CHECK(rig.table.find(fingerprint(0))->liveness.state() == PeerState::kOnline);
}
