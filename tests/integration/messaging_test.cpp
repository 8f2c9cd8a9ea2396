// 1:1 text between real nodes on 127.0.0.1 (promise 3-6, doc/guide.md, Text, man sotto): contacts
// and safety numbers, receipts, the durable outbox across a restart, duplicates, what an
// eavesdropper and the disk see, changed identities, bad input, and unknown senders.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "sotto/base/bytes.h"
#include "sotto/core/control_client.h"
#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/profile_node.h"
#include "tests/support/relay.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using test::DaemonProfile;
using test::LoopbackRelay;
using test::ProfileNode;
using test::wait_until;

namespace {

size_t count_body(const std::vector<json>& history, const std::string& body) {
  return static_cast<size_t>(std::count_if(
      history.begin(), history.end(), [&](const json& m) { return m.value("body", "") == body; }));
}

size_t count_body(const std::vector<core::MessageInfo>& history, const std::string& body) {
  return static_cast<size_t>(
      std::count_if(history.begin(), history.end(), [&](const auto& m) { return m.body == body; }));
}

// True when `history` holds exactly `n` outgoing messages and all are delivered.
bool outgoing_delivered(const std::vector<json>& history, size_t n) {
  size_t outgoing = 0, delivered = 0;
  for (const auto& m : history) {
    if (!m.value("outgoing", false)) continue;
    ++outgoing;
    if (m.value("state", "") == "delivered") ++delivered;
  }
  return outgoing == n && delivered == n;
}

bool outgoing_delivered(const std::vector<core::MessageInfo>& history, size_t n) {
  size_t outgoing = 0, delivered = 0;
  for (const auto& m : history) {
    if (!m.outgoing) continue;
    ++outgoing;
    if (m.state == core::MessageState::kDelivered) ++delivered;
  }
  return outgoing == n && delivered == n;
}

std::string state_of(const std::vector<core::MessageInfo>& history, const std::string& id) {
  for (const auto& m : history) {
    if (m.id == id) return std::string(core::to_string(m.state));
  }
  return "";
}

// Exactly one line on stderr, nothing on stdout: what a script sees from a refused command.
std::string random_marker(const std::string& prefix) {
  std::random_device rd;
  std::string marker = prefix;
  for (int i = 0; i < 16; ++i) marker += "abcdefghijklmnopqrstuvwxyz"[rd() % 26];
  return marker;
}

// The next event of `kind` ("message", "receipt", ...; "" for any) that satisfies `also`, on a
// subscribed control client; others are skipped. nullopt after 5 s without one.
std::optional<json> next_event(
    core::ControlClient& client, const std::string& kind,
    const std::function<bool(const json&)>& also = [](const json&) { return true; }) {
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < end) {
    auto event = client.next_event(200);
    if (!event.is_ok()) return std::nullopt;
    if (!event.value()) continue;
    auto parsed = json::parse(*event.value());
    if ((kind.empty() || parsed.value("event", "") == kind) && also(parsed)) return parsed;
  }
  return std::nullopt;
}

bool both_online(ProfileNode& a, ProfileNode& b) {
  return a.sees_online(b.fingerprint()) && b.sees_online(a.fingerprint());
}

// By fingerprint: a peer shows its name only to contacts and to the nodes it dialled.
bool both_online(const DaemonProfile& a, const DaemonProfile& b) {
  return a.peer_state(b.fingerprint()) == "online" && b.peer_state(a.fingerprint()) == "online";
}

// Starts Alice's daemon and Bob's (given Alice's endpoint) and waits until they see each other.
void start_pair(DaemonProfile& alice, DaemonProfile& bob) {
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  REQUIRE(wait_until([&] { return both_online(alice, bob); }, 5s));
}

// Alice adds Bob and sends him `text`, and waits until it is delivered.
void add_and_deliver(DaemonProfile& alice, const std::string& text) {
  REQUIRE(alice.sotto({"add", "bob"}).exit_code == 0);
  REQUIRE(alice.sotto({"send", "bob", text}).exit_code == 0);
  REQUIRE(wait_until([&] { return outgoing_delivered(alice.history(), 1); }, 5s));
}

}  // namespace

TEST_CASE(
    "two daemons: same safety number, texts both ways archived once per side and "
    "delivered, the receiver's new contact unverified until verify --confirm",
    "[messaging][cli][integration]") {
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  start_pair(alice, bob);

  // Alice's event stream, as `sotto events` reads it (subscribed before anything happens).
  auto events = core::ControlClient::connect(alice.dir());
  REQUIRE(events.is_ok());
  REQUIRE(json::parse(events.value()->request(R"({"cmd":"subscribe"})").value())["ok"] == true);

  auto added = alice.sotto({"add", "bob"});
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  CHECK(added.out.find("unverified") != std::string::npos);
  auto contact_event = next_event(*events.value(), "contact");
  REQUIRE(contact_event.has_value());
  CHECK((*contact_event)["contact"]["name"] == "bob");
  CHECK((*contact_event)["change"] == "added");
  REQUIRE(alice.contact("bob").has_value());
  CHECK(alice.contact("bob")->value("trust", "") == "unverified");
  CHECK(alice.contact("bob")->value("fingerprint", "") == bob.fingerprint());

  // Bob knows nothing of Alice until her first text arrives.
  CHECK_FALSE(bob.contact("alice").has_value());
  REQUIRE(alice.sotto({"send", "bob", "a1: hello bob"}).exit_code == 0);
  REQUIRE(wait_until([&] { return count_body(bob.history(), "a1: hello bob") == 1; }, 5s));

  // Bob made Alice a contact, named from her Hello, unverified.
  auto bobs_alice = bob.contact("alice");
  REQUIRE(bobs_alice.has_value());
  CHECK(bobs_alice->value("fingerprint", "") == alice.fingerprint());
  CHECK(bobs_alice->value("trust", "") == "unverified");

  // Both see the same safety number (60 digits in 12 groups).
  auto number_at_alice = alice.sotto({"--json", "verify", "bob"});
  auto number_at_bob = bob.sotto({"--json", "verify", "alice"});
  REQUIRE(number_at_alice.exit_code == 0);
  REQUIRE(number_at_bob.exit_code == 0);
  const std::string safety = json::parse(number_at_alice.out)["safety_number"];
  CHECK(safety.size() == 71);
  CHECK(json::parse(number_at_bob.out)["safety_number"] == safety);

  // Texts both ways, without waiting in between.
  for (int i = 1; i <= 3; ++i) {
    auto from_bob = bob.sotto({"send", "alice", "b" + std::to_string(i) + ": hi alice"});
    INFO(from_bob.err);
    REQUIRE(from_bob.exit_code == 0);
    if (i < 3) {
      REQUIRE(alice.sotto({"send", "bob", "a" + std::to_string(i + 1) + ": more"}).exit_code == 0);
    }
  }
  const std::vector<std::string> all = {"a1: hello bob", "a2: more",     "a3: more",
                                        "b1: hi alice",  "b2: hi alice", "b3: hi alice"};
  REQUIRE(wait_until(
      [&] {
        return outgoing_delivered(alice.history(), 3) && outgoing_delivered(bob.history(), 3) &&
               alice.history().size() == 6 && bob.history().size() == 6;
      },
      10s));

  // Each text exactly once on each side, with the same id; incoming ones "received".
  auto at_alice = alice.history();
  auto at_bob = bob.history();
  std::map<std::string, std::string> id_at_alice, id_at_bob;
  for (const auto& m : at_alice) id_at_alice[m["body"]] = m["id"];
  for (const auto& m : at_bob) id_at_bob[m["body"]] = m["id"];
  for (const auto& body : all) {
    INFO(body);
    CHECK(count_body(at_alice, body) == 1);
    CHECK(count_body(at_bob, body) == 1);
    CHECK(id_at_alice[body] == id_at_bob[body]);
  }
  for (const auto& m : at_bob) {
    const bool mine = m["body"].get<std::string>()[0] == 'b';
    CHECK(m["outgoing"] == mine);
    CHECK(m["state"] == (mine ? "delivered" : "received"));
    if (!mine) {
      CHECK(m["sender_name"] == "alice");
      CHECK(m["trust"] == "unverified");
    }
  }
  // Alice's front end heard of a receipt for each of her texts and of each of Bob's texts.
  std::set<std::string> receipts, incoming;
  while (receipts.size() < 3 || incoming.size() < 3) {
    auto event = next_event(*events.value(), "", [](const json& e) {
      return e["event"] == "receipt" || (e["event"] == "message" && !e["message"]["outgoing"]);
    });
    if (!event) break;
    if ((*event)["event"] == "receipt") {
      CHECK((*event)["state"] == "delivered");
      CHECK((*event)["conversation"] == bob.fingerprint());
      receipts.insert((*event)["id"].get<std::string>());
    } else {
      CHECK((*event)["message"]["sender_name"] == "bob");
      incoming.insert((*event)["message"]["body"].get<std::string>());
    }
  }
  CHECK(receipts == std::set<std::string>{id_at_alice["a1: hello bob"], id_at_alice["a2: more"],
                                          id_at_alice["a3: more"]});
  CHECK(incoming == std::set<std::string>{"b1: hi alice", "b2: hi alice", "b3: hi alice"});

  // Bob compares numbers and confirms: Alice is verified from then on.
  auto confirmed = bob.sotto({"verify", "alice", "--confirm"});
  INFO(confirmed.err);
  REQUIRE(confirmed.exit_code == 0);
  CHECK(confirmed.out.find(safety) != std::string::npos);
  CHECK(bob.contact("alice")->value("trust", "") == "verified");
  for (const auto& m : bob.history("alice")) CHECK(m["trust"] == "verified");
  CHECK(alice.contact("bob")->value("trust", "") == "unverified");  // Alice has not, yet

  // The archive survives the daemon: read offline (with the passphrase), it is the same.
  CHECK(bob.stop() == 0);
  auto offline = bob.history();
  REQUIRE(offline.size() == 6);
  for (const auto& body : all) CHECK(count_body(offline, body) == 1);
  auto offline_contacts = bob.contacts();
  REQUIRE(offline_contacts.size() == 1);
  CHECK(offline_contacts.front()["trust"] == "verified");
}

TEST_CASE(
    "100 texts sent while the peer is down arrive after its restart in order, exactly "
    "once, and all turn delivered",
    "[messaging][outbox][integration]") {
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  alice.start();
  bob.start(test::loopback_with_peers({alice.endpoint()}));
  REQUIRE(wait_until([&] { return both_online(alice, bob); }, 5s));
  auto added = alice.node().add_contact("bob");
  INFO(added.status().message());
  REQUIRE(added.is_ok());
  auto first = alice.node().send_text("bob", "before the outage");
  REQUIRE(first.is_ok());
  REQUIRE(
      wait_until([&] { return state_of(alice.history(), first.value().id) == "delivered"; }, 5s));
  const uint16_t old_port = bob.port();

  bob.stop();
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto sent = alice.node().send_text("bob", "queued " + std::to_string(i));
    INFO(sent.status().message());
    REQUIRE(sent.is_ok());
    ids.push_back(sent.value().id);
  }
  auto waiting = alice.history();
  CHECK(std::none_of(waiting.begin(), waiting.end(), [&](const core::MessageInfo& m) {
    return m.body.rfind("queued ", 0) == 0 && m.state == core::MessageState::kDelivered;
  }));

  // Bob comes back on the same profile and a new ephemeral port; Alice finds him by his beacon.
  bob.start(test::loopback_with_peers({alice.endpoint()}));
  INFO("bob moved from port " << old_port << " to " << bob.port());
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(wait_until([&] { return outgoing_delivered(alice.history(), 101); }, 20s));
  INFO("drained in " << std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count()
                     << " ms");

  auto at_bob = bob.history(alice.fingerprint());
  REQUIRE(at_bob.size() == 101);
  CHECK(at_bob[0].body == "before the outage");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    INFO("position " << i + 1);
    CHECK(at_bob[static_cast<size_t>(i) + 1].body == "queued " + std::to_string(i));
    CHECK(at_bob[static_cast<size_t>(i) + 1].id == ids[static_cast<size_t>(i)]);
    CHECK(seen.insert(at_bob[static_cast<size_t>(i) + 1].id).second);
  }
  CHECK(bob.counter("messages_received") == 100);
}

// The duplicate path of doc/guide.md, Text with real nodes: Bob commits a text and acknowledges it,
// but the relay between them holds everything Bob sends towards Alice (his DEALER to her ROUTER),
// so no receipt reaches her. After ~2 s Alice's outbox resends the *stored* frame; Bob's libsignal
// reports the ciphertext as already decrypted, Bob counts a duplicate, acknowledges it again
// from the archive and stores nothing. Once the relay lets go, the receipts arrive and the text
// is delivered — archived once. (tests/unit/core/messenger_test.cpp drives the same path with a
// fake clock and also replays the frame once more.)
TEST_CASE("a resent frame of a text already committed is acknowledged again, not archived twice",
          "[messaging][outbox][integration][security]") {
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  alice.start();
  LoopbackRelay relay({alice.port()});
  bob.start(test::loopback_with_peers({LoopbackRelay::endpoint_of(alice.port())}));
  relay.mirror(bob.port());
  REQUIRE(wait_until([&] { return both_online(alice, bob); }, 6s));
  REQUIRE(alice.node().add_contact("bob").is_ok());
  auto warm = alice.node().send_text("bob", "warm up");
  REQUIRE(warm.is_ok());
  REQUIRE(
      wait_until([&] { return state_of(alice.history(), warm.value().id) == "delivered"; }, 5s));

  relay.hold_towards(alice.port());
  auto sent = alice.node().send_text("bob", "only once, please");
  REQUIRE(sent.is_ok());
  REQUIRE(wait_until([&] { return count_body(bob.history(), "only once, please") == 1; }, 3s));
  const uint64_t receipts_before = bob.counter("receipts_sent");
  REQUIRE(wait_until([&] { return bob.counter("message_duplicates") >= 1; }, 4500ms));
  CHECK(alice.counter("outbox_retries") >= 1);
  CHECK(bob.counter("receipts_sent") > receipts_before);  // acknowledged again
  CHECK(state_of(alice.history(), sent.value().id) != "delivered");
  relay.release(alice.port());

  REQUIRE(
      wait_until([&] { return state_of(alice.history(), sent.value().id) == "delivered"; }, 8s));
  auto at_bob = bob.history();
  CHECK(at_bob.size() == 2);
  CHECK(count_body(at_bob, "only once, please") == 1);
  CHECK(bob.counter("messages_received") == 2);
}

TEST_CASE("no text appears in the bytes between two nodes nor in any file of either profile",
          "[messaging][integration][security]") {
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  alice.start();
  LoopbackRelay relay({alice.port()});
  bob.start(test::loopback_with_peers({LoopbackRelay::endpoint_of(alice.port())}));
  relay.mirror(bob.port());
  REQUIRE(wait_until([&] { return both_online(alice, bob); }, 6s));
  // Everything between them goes through the relay: each knows the other by its mirror.
  CHECK(alice.node().peers().front().endpoint == LoopbackRelay::endpoint_of(bob.port()));
  CHECK(bob.node().peers().front().endpoint == LoopbackRelay::endpoint_of(alice.port()));

  const std::string to_bob = random_marker("to-bob-secret-");
  const std::string to_alice = random_marker("to-alice-secret-");
  REQUIRE(alice.node().add_contact("bob").is_ok());
  auto sent = alice.node().send_text("bob", to_bob);
  REQUIRE(sent.is_ok());
  REQUIRE(wait_until([&] { return count_body(bob.history(), to_bob) == 1; }, 5s));
  auto reply = bob.node().send_text("alice", to_alice);
  REQUIRE(reply.is_ok());
  REQUIRE(wait_until(
      [&] {
        return outgoing_delivered(alice.history(), 1) && outgoing_delivered(bob.history(), 1);
      },
      5s));

  // The wire: the relay saw the traffic (the CurveZMQ greeting and the beacons' magic are in
  // clear, so it would see a plaintext body too), but no body.
  INFO("relay: " << relay.tcp_bytes() << " TCP bytes, " << relay.datagrams() << " datagrams");
  CHECK(relay.tcp_bytes() > 0);
  CHECK(relay.datagrams() > 0);
  CHECK(relay.saw("CURVE"));
  CHECK(relay.saw("STO1"));
  CHECK_FALSE(relay.saw(to_bob));
  CHECK_FALSE(relay.saw(to_alice));

  // The disk, with the nodes running (WAL in use) and after they stopped.
  for (int round = 0; round < 2; ++round) {
    INFO((round == 0 ? "running" : "stopped"));
    for (const std::string& dir : {alice.profile_dir(), bob.profile_dir()}) {
      size_t scanned = 0;
      CHECK(test::files_containing(dir, to_bob, 0, &scanned).empty());
      CHECK(test::files_containing(dir, to_alice).empty());
      CHECK(scanned >= 2);  // at least the database and its header
      CHECK_FALSE(test::file_contains(dir + "/sotto.db", "SQLite format 3"));
    }
    alice.stop();
    bob.stop();
  }
  // ...while the archive does hold them (so the scan looked where they are).
  alice.start();
  CHECK(count_body(alice.history(), to_bob) == 1);
  CHECK(count_body(alice.history(), to_alice) == 1);
}

TEST_CASE(
    "a new identity using a contact's name is a namesake: the contact keeps its name and trust "
    "and is never blocked; only an explicit replace, after verifying, moves the name",
    "[messaging][cli][integration][security]") {
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  start_pair(alice, bob);
  add_and_deliver(alice, "to the first bob");
  alice.sotto_ok({"verify", "bob", "--confirm"});
  const std::string old_bob = bob.fingerprint();

  // Bob's profile is wiped and made again, same name, new identity key; it dials Alice, so its
  // Hello tells her its name.
  REQUIRE(bob.stop() == 0);
  bob.remove_profile();
  bob.init("bob");
  bob.start({"--peer", alice.endpoint()});
  REQUIRE(bob.fingerprint() != old_bob);
  REQUIRE(wait_until([&] { return alice.peer_state(bob.fingerprint()) == "online"; }, 8s));
  // A name is not an identity: the contact bob is the old key, still verified, and sending to it
  // is not refused (it waits for the old bob in the outbox).
  auto kept = alice.contact("bob");
  REQUIRE(kept.has_value());
  CHECK(kept->value("fingerprint", "") == old_bob);
  CHECK(kept->value("trust", "") == "verified");
  CHECK(alice.sotto({"send", "bob", "for the first bob"}).exit_code == 0);

  // Adding the newcomer makes a separate, unverified contact, flagged as a namesake everywhere.
  const std::string new_bob = bob.fingerprint().substr(0, 16);
  alice.sotto_ok({"add", new_bob});
  const auto listed = alice.contacts();
  auto namesake = std::find_if(listed.begin(), listed.end(), [&](const json& c) {
    return c.value("fingerprint", "") == bob.fingerprint();
  });
  REQUIRE(namesake != listed.end());
  CHECK(namesake->value("name", "") == "bob");
  CHECK(namesake->value("namesake_of", "") == old_bob);
  CHECK(namesake->value("trust", "") == "unverified");
  CHECK(alice.sotto_ok({"contacts"}).find("also calls itself bob") != std::string::npos);
  CHECK(alice.contact("bob")->value("fingerprint", "") == old_bob);

  // Replacing needs the new key verified first; then the name moves, and only then.
  auto early = alice.sotto({"replace", "bob", new_bob});
  CHECK(early.exit_code == 2);
  CHECK(one_line_error(early));
  CHECK(early.err.find("verify") != std::string::npos);
  CHECK(alice.contact("bob")->value("fingerprint", "") == old_bob);
  alice.sotto_ok({"verify", new_bob, "--confirm"});
  alice.sotto_ok({"replace", "bob", new_bob});
  auto contact = alice.contact("bob");
  REQUIRE(contact.has_value());
  CHECK(contact->value("trust", "") == "verified");
  CHECK(contact->value("fingerprint", "") == bob.fingerprint());

  auto sent = alice.sotto({"send", "bob", "hello, new bob"});
  INFO(sent.err);
  REQUIRE(sent.exit_code == 0);
  REQUIRE(wait_until([&] { return count_body(bob.history(), "hello, new bob") == 1; }, 5s));
  auto at_bob = bob.history();
  CHECK(at_bob.size() == 1);  // what was meant for the old key never went to the new one
  CHECK(at_bob.front()["sender"] == alice.fingerprint());
  auto at_new_bob = bob.sotto({"--json", "verify", "alice"});
  auto at_alice = alice.sotto({"--json", "verify", "bob"});
  REQUIRE(at_new_bob.exit_code == 0);
  REQUIRE(at_alice.exit_code == 0);
  CHECK(json::parse(at_new_bob.out)["safety_number"] == json::parse(at_alice.out)["safety_number"]);
}

TEST_CASE(
    "bad input to sotto send is refused with one line and exit 2, and nothing is stored or "
    "sent",
    "[messaging][cli][integration]") {
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  start_pair(alice, bob);
  add_and_deliver(alice, "a good one");
  const auto alice_before = alice.history();
  const auto bob_before = bob.history();
  const uint64_t sent_before = alice.stats().value("messages_sent", uint64_t{0});

  struct Case {
    const char* what;
    std::vector<std::string> args;
    std::optional<std::string> stdin_text;
  };
  const std::vector<Case> cases = {
      {"unknown recipient", {"send", "carol", "hi"}, std::nullopt},
      {"recipient not UTF-8",
       {"send",
        "bo\xff"
        "b",
        "hi"},
       std::nullopt},
      {"empty text", {"send", "bob", ""}, std::nullopt},
      {"empty text from stdin", {"send", "bob", "-"}, std::string("\n")},
      {"text over 64 KiB", {"send", "bob", "-"}, std::string(64 * 1024 + 1, 'x')},
      {"invalid UTF-8", {"send", "bob", "-"}, std::string("caf\xe9 au lait")},
      {"truncated UTF-8", {"send", "bob", "-"}, std::string("ends in \xe2\x82")},
      {"overlong UTF-8", {"send", "bob", "-"}, std::string("slash \xc0\xaf")},
      {"UTF-16 surrogate", {"send", "bob", "-"}, std::string("half \xed\xa0\x80 pair")},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto result = c.stdin_text ? alice.sotto(c.args, &*c.stdin_text) : alice.sotto(c.args);
    INFO("exit " << result.exit_code << ", stderr: " << result.err);
    CHECK(result.exit_code == 2);
    CHECK(one_line_error(result));
  }
  CHECK(alice.history() == alice_before);
  CHECK(alice.stats().value("messages_sent", uint64_t{0}) == sent_before);

  // A good text sent last, in order behind anything the bad ones might have queued, shows
  // that nothing else went out: once it is delivered Bob has it and no more.
  REQUIRE(alice.sotto({"send", "bob", "a good one again"}).exit_code == 0);
  REQUIRE(wait_until([&] { return outgoing_delivered(alice.history(), 2); }, 5s));
  auto bob_after = bob.history();
  REQUIRE(bob_after.size() == bob_before.size() + 1);
  CHECK(bob_after.back()["body"] == "a good one again");
  CHECK(alice.history().size() == alice_before.size() + 1);
}

TEST_CASE("texts up to the 64 KiB limit are delivered, and the ones after them too",
          "[messaging][integration]") {
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  alice.start();
  bob.start(test::loopback_with_peers({alice.endpoint()}));
  REQUIRE(wait_until([&] { return both_online(alice, bob); }, 5s));
  REQUIRE(alice.node().add_contact("bob").is_ok());
  // One text per content size bucket (net::kContentBuckets), the largest allowed last.
  const std::vector<size_t> sizes = {100, 500, 2000, 16000, 17000, 62 * 1024, 64 * 1024};
  std::vector<std::string> ids;
  for (size_t size : sizes) {
    auto sent = alice.node().send_text("bob", std::string(size, 'x'));
    INFO(size << " bytes: " << sent.status().message());
    REQUIRE(sent.is_ok());
    ids.push_back(sent.value().id);
  }
  auto after = alice.node().send_text("bob", "after the big ones");
  REQUIRE(after.is_ok());
  ids.push_back(after.value().id);
  const bool delivered = wait_until([&] { return outgoing_delivered(alice.history(), 8); }, 5s);
  auto history = alice.history();
  for (size_t i = 0; i < ids.size(); ++i) {
    INFO((i < sizes.size() ? std::to_string(sizes[i]) + " bytes" : "the last, short one"));
    CHECK(state_of(history, ids[i]) == "delivered");
  }
  INFO("bob: inbound_disconnects " << bob.counter("inbound_disconnects") << ", alice: "
                                   << "link_disconnects " << alice.counter("link_disconnects"));
  CHECK(delivered);
  auto at_bob = bob.history();
  CHECK(at_bob.size() == ids.size());
  CHECK(bob.counter("inbound_disconnects") == 0);
}

TEST_CASE(
    "a node with accept_unknown off refuses a first text from an unknown identity; the "
    "same text is accepted by default",
    "[messaging][integration][security]") {
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  alice.start();
  core::NodeOptions strict = test::loopback_with_peers({alice.endpoint()});
  strict.accept_unknown = false;
  bob.start(std::move(strict));
  REQUIRE(wait_until([&] { return both_online(alice, bob); }, 5s));
  // Bob still hands out his bundle (a session costs him nothing), but takes no text.
  REQUIRE(alice.node().add_contact("bob").is_ok());
  auto sent = alice.node().send_text("bob", "hello, stranger");
  REQUIRE(sent.is_ok());
  REQUIRE(wait_until([&] { return bob.counter("message_refused_unknown") >= 1; }, 5s));
  CHECK(bob.history().empty());
  CHECK(bob.node().contacts().value().empty());
  CHECK(bob.counter("messages_received") == 0);
  CHECK(state_of(alice.history(), sent.value().id) != "delivered");

  // The same Bob with the default (accept): Alice's outbox resends the same stored frame.
  bob.stop();
  bob.start(test::loopback_with_peers({alice.endpoint()}));
  REQUIRE(
      wait_until([&] { return state_of(alice.history(), sent.value().id) == "delivered"; }, 8s));
  auto at_bob = bob.history();
  REQUIRE(at_bob.size() == 1);
  CHECK(at_bob.front().body == "hello, stranger");
  CHECK(at_bob.front().id == sent.value().id);
  auto contacts = bob.node().contacts().value();
  REQUIRE(contacts.size() == 1);
  CHECK(contacts.front().fingerprint == alice.fingerprint());
  CHECK(contacts.front().trust == core::Trust::kUnverified);
}
