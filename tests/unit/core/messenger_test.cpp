// The Messenger between two real profiles, with the network replaced by the test: frames one
// side hands to its "transport" are delivered (or lost, tampered with, replayed) by hand, and
// time moves on a FakeClock. This is the node's own receive path (decrypt inside the
// transaction, dedup, receipts after commit) without sockets or timing in the way.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "sotto/base/clock.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/contact_repo.h"
#include "src/core/account_internals.h"
#include "src/core/messenger.h"
#include "src/net/content.h"
#include "src/net/hello.h"
#include "src/net/wire.h"
#include "tests/support/messenger_parties.h"
#include "tests/support/profiles.h"
#include "tests/support/search_state.h"
#include "tests/support/temp_dir.h"

using namespace sotto;

namespace {

struct Party {
  std::unique_ptr<core::Account> account;
  std::unique_ptr<core::Messenger> messenger;
  std::vector<Bytes> outgoing;  // frames handed to the transport, towards the other party
  std::map<std::string, uint64_t> counters;
  std::map<std::string, core::PeerInfo> peers;
  std::vector<core::ContactEvent> contact_events;
  std::vector<std::string> greeted;  // peers sent our Hello for a lookup by name
  bool socket_full = false;          // the transport refuses frames, as a full ZeroMQ queue does

  uint64_t counter(const std::string& name) const {
    auto it = counters.find(name);
    return it == counters.end() ? 0 : it->second;
  }
  std::vector<core::MessageInfo> history() {
    auto list = messenger->history("", 100000);
    REQUIRE(list.is_ok());
    return list.value();
  }
};

// A front end's send, committed at once (as the node's loop does at the end of its round).
Result<core::MessageInfo> send_now(core::Messenger& messenger, const std::string& to,
                                   const std::string& text) {
  std::optional<Result<core::MessageInfo>> result;
  messenger.send_text(to, text, [&](Result<core::MessageInfo> r) { result = std::move(r); });
  messenger.flush_sends();
  if (!result) return Status::internal("send_text did not finish");
  return std::move(*result);
}

// Alice and Bob, each online in the other's peer table.
struct Pair {
  test::TempDir tmp;
  FakeClock clock;
  Party alice;
  Party bob;
  core::MessengerOptions options;

  explicit Pair(core::MessengerOptions messenger_options = {}) : options(messenger_options) {
    alice.account = test::create_account(tmp / "alice", "alice");
    bob.account = test::create_account(tmp / "bob", "bob");
    wire(alice, bob);
    wire(bob, alice);
  }

  void wire(Party& self, Party& other) {
    self.peers[other.account->fingerprint()] = test::online_peer(*other.account);
    core::MessengerHooks hooks;
    Party* me = &self;
    hooks.send_frame = [me](const std::string&, ByteView frame) {
      if (me->socket_full) return false;
      me->outgoing.emplace_back(frame.begin(), frame.end());
      return true;
    };
    test::serve_peers_and_counters(hooks, me);
    hooks.publish = [me](core::Event event) {
      if (auto* contact = std::get_if<core::ContactEvent>(&event.body)) {
        me->contact_events.push_back(*contact);
      }
    };
    hooks.greet = [me](const std::string& fp) {
      me->greeted.push_back(fp);
      return true;
    };
    self.messenger = std::make_unique<core::Messenger>(*self.account, clock, options, hooks);
    REQUIRE(self.messenger->start().is_ok());
  }

  // One poll round at `to`: these frames from `from` arrive together, then after_poll commits.
  static void deliver(Party& from, Party& to, const std::vector<Bytes>& frames) {
    for (const Bytes& frame : frames) {
      auto envelope = net::decode_frame(frame);
      if (!envelope.is_ok()) continue;  // the node drops it before the messenger sees it
      to.messenger->on_envelope(from.account->fingerprint(), envelope.value());
    }
    to.messenger->after_poll();
  }
  // Delivers everything `from` has sent so far.
  static void flush(Party& from, Party& to) {
    std::vector<Bytes> frames;
    frames.swap(from.outgoing);
    deliver(from, to, frames);
  }

  // Alice adds Bob (bundle request and answer), as `sotto add bob` does over the network.
  void add_bob() {
    std::optional<Result<core::ContactInfo>> added;
    alice.messenger->add_contact("bob", "", [&](Result<core::ContactInfo> r) { added = r; });
    flush(alice, bob);  // the bundle request
    flush(bob, alice);  // the bundle
    REQUIRE(added.has_value());
    INFO(added->status().message());
    REQUIRE(added->is_ok());
  }

  // Sends one text from Alice; returns its frame (taken out of Alice's outgoing queue).
  std::pair<core::MessageInfo, Bytes> alice_sends(const std::string& text) {
    auto sent = send_now(*alice.messenger, "bob", text);
    INFO(sent.status().message());
    REQUIRE(sent.is_ok());
    REQUIRE(alice.outgoing.size() == 1);
    Bytes frame = alice.outgoing.back();
    alice.outgoing.clear();
    return {sent.value(), frame};
  }
};

// Bob as a stranger found by its beacons alone shows Alice: online, no name, no digest yet.
void make_bob_a_stranger(Pair& p) {
  core::PeerInfo& bob = p.alice.peers[p.bob.account->fingerprint()];
  bob.name.clear();
  bob.name_digest.clear();
}

// Another stranger online at Alice's: an identity nobody here holds the keys of.
std::string add_stranger(Pair& p, uint8_t seed) {
  core::PeerInfo info;
  info.fingerprint = to_hex(Bytes(32, seed));
  info.state = net::PeerState::kOnline;
  info.endpoint = "tcp://127.0.0.1:2";
  p.alice.peers[info.fingerprint] = info;
  return info.fingerprint;
}

// `fingerprint`'s Hello reaches Alice: the digest of `name`, keyed to her transport key.
void hello_to_alice(Pair& p, const std::string& fingerprint, const std::string& name) {
  p.alice.peers[fingerprint].name_digest =
      net::name_digest(p.alice.account->transport_public(), name);
  p.alice.messenger->on_peer_changed(fingerprint);
}

size_t count_body(const std::vector<core::MessageInfo>& history, const std::string& body) {
  return static_cast<size_t>(
      std::count_if(history.begin(), history.end(), [&](const auto& m) { return m.body == body; }));
}

std::string state_of(Party& party, const std::string& id) {
  for (const auto& m : party.history()) {
    if (m.id == id) return std::string(core::to_string(m.state));
  }
  return "";
}

Bytes reframe_with_body(const Bytes& frame, const Bytes& body) {
  auto envelope = net::decode_frame(frame);
  REQUIRE(envelope.is_ok());
  wire::Envelope copy = envelope.value();
  copy.mutable_signal()->set_body(as_chars(body).data(), body.size());
  auto out = net::encode_frame(copy);
  REQUIRE(out.is_ok());
  return out.value();
}

Bytes body_of(const Bytes& frame) {
  auto envelope = net::decode_frame(frame);
  REQUIRE(envelope.is_ok());
  REQUIRE(envelope.value().has_signal());
  const std::string& body = envelope.value().signal().body();
  return Bytes(body.begin(), body.end());
}

// Flips every bit of the Signal ciphertext of `frame` in turn and delivers each to Bob: every
// one must fail to decrypt (counted as message_dropped_invalid), leave Bob's archive as it was,
// and make Bob send nothing (no receipt for what was not committed).
void check_every_bit_flip_refused(Pair& p, const Bytes& frame) {
  const Bytes body = body_of(frame);
  const size_t archived = p.bob.history().size();
  const uint64_t dropped = p.bob.counter("message_dropped_invalid");
  size_t refused = 0;
  for (size_t bit = 0; bit < body.size() * 8; ++bit) {
    Bytes tampered = body;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    Pair::deliver(p.alice, p.bob, {reframe_with_body(frame, tampered)});
    if (p.bob.counter("message_dropped_invalid") == dropped + refused + 1) ++refused;
    if (!p.bob.outgoing.empty()) {
      FAIL_CHECK("bit " << bit << " of " << body.size() * 8 << " made Bob answer");
      p.bob.outgoing.clear();
    }
  }
  CHECK(refused == body.size() * 8);
  CHECK(p.bob.history().size() == archived);
}

}  // namespace

TEST_CASE("a 1:1 ciphertext with any one bit flipped is refused; the untouched one still decrypts",
          "[core][messenger][security]") {
  Pair p;
  p.add_bob();
  // Texts both ways first, so the next one is an ordinary ratchet message: until Alice has
  // decrypted something from Bob, hers are PreKey messages (receipts are not Signal messages).
  auto [warm, warm_frame] = p.alice_sends("warm up");
  Pair::deliver(p.alice, p.bob, {warm_frame});
  Pair::flush(p.bob, p.alice);  // Bob's receipt
  REQUIRE(state_of(p.alice, warm.id) == "delivered");
  REQUIRE(send_now(*p.bob.messenger, "alice", "reply").is_ok());
  Pair::flush(p.bob, p.alice);
  Pair::flush(p.alice, p.bob);  // Alice's receipt

  auto [sent, frame] = p.alice_sends("do not touch");
  REQUIRE(net::decode_frame(frame).value().signal().type() ==
          static_cast<uint32_t>(crypto::Ciphertext::Type::kWhisper));
  REQUIRE(p.bob.counter("messages_received") == 1);
  check_every_bit_flip_refused(p, frame);
  CHECK(p.bob.counter("messages_received") == 1);
  CHECK(count_body(p.bob.history(), "do not touch") == 0);

  // The genuine frame decrypts afterwards: the failed attempts changed no ratchet state.
  Pair::deliver(p.alice, p.bob, {frame});
  CHECK(p.bob.counter("messages_received") == 2);
  CHECK(count_body(p.bob.history(), "do not touch") == 1);
  Pair::flush(p.bob, p.alice);
  CHECK(state_of(p.alice, sent.id) == "delivered");
}

TEST_CASE(
    "the first (PreKey) message with any one bit of its ciphertext flipped never yields "
    "another message, and the untouched one still decrypts",
    "[core][messenger][security]") {
  Pair p;
  p.add_bob();
  auto [sent, frame] = p.alice_sends("first contact");
  const Bytes body = body_of(frame);
  // Unlike a ratchet message, a PreKeySignalMessage carries fields outside its MAC (the
  // registration id), so a flip there may still decrypt, to the very same text. What must hold:
  // no flip produces any other text or a second copy (once one was accepted, the later ones
  // meet an existing session: refused or duplicates).
  for (size_t bit = 0; bit < body.size() * 8; ++bit) {
    Bytes tampered = body;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    Pair::deliver(p.alice, p.bob, {reframe_with_body(frame, tampered)});
    p.bob.outgoing.clear();
    auto history = p.bob.history();
    if (history.size() > 1 || (history.size() == 1 && (history.front().body != "first contact" ||
                                                       history.front().id != sent.id))) {
      FAIL("bit " << bit << " made Bob archive something else");
    }
  }
  // For the record: how the flips were taken.
  INFO(p.bob.counter("messages_received")
       << " archived, " << p.bob.counter("message_duplicates") << " duplicates, "
       << p.bob.counter("message_dropped_invalid") << " refused of " << body.size() * 8
       << " flips");
  CHECK(p.bob.counter("messages_received") <= 1);
  Pair::deliver(p.alice, p.bob, {frame});
  CHECK(count_body(p.bob.history(), "first contact") == 1);
  Pair::flush(p.bob, p.alice);
  CHECK(state_of(p.alice, sent.id) == "delivered");
}

TEST_CASE("a retry resends only the oldest window, and the next one only as receipts return",
          "[core][messenger][outbox]") {
  core::MessengerOptions options;
  options.retry_window = 4;
  Pair p(options);
  p.add_bob();
  std::vector<Bytes> frames;
  for (int i = 0; i < 10; ++i) frames.push_back(p.alice_sends("lost " + std::to_string(i)).second);

  // Every frame was lost. The retry resends the four oldest, the very bytes first sent.
  p.clock.advance_ms(2100);
  p.alice.messenger->on_timer();
  CHECK(p.alice.counter("outbox_retries") == 1);
  REQUIRE(p.alice.outgoing == std::vector<Bytes>(frames.begin(), frames.begin() + 4));
  // Nothing more while no receipt comes back: a slow peer is not sent the rest again.
  p.alice.messenger->on_timer();
  CHECK(p.alice.outgoing.size() == 4);
  std::vector<Bytes> resent;
  resent.swap(p.alice.outgoing);
  p.clock.advance_ms(4100);  // the backoff doubled: the second retry, still the oldest four
  p.alice.messenger->on_timer();
  CHECK(p.alice.counter("outbox_retries") == 2);
  CHECK(p.alice.outgoing == resent);
  p.alice.outgoing.clear();

  // Each window acknowledged brings the next one, until the outbox is empty.
  for (size_t from = 4; from < frames.size(); from += 4) {
    Pair::deliver(p.alice, p.bob, resent);
    Pair::flush(p.bob, p.alice);  // the receipts
    p.alice.messenger->on_timer();
    const size_t to = std::min(from + 4, frames.size());
    REQUIRE(p.alice.outgoing == std::vector<Bytes>(frames.begin() + from, frames.begin() + to));
    resent.clear();
    resent.swap(p.alice.outgoing);
  }
  Pair::deliver(p.alice, p.bob, resent);
  Pair::flush(p.bob, p.alice);
  CHECK(p.bob.counter("messages_received") == 10);
  CHECK(p.bob.counter("message_duplicates") == 0);
  CHECK(p.alice.counter("outbox_frames_resent") == 14);  // 4 twice, then 4, 2
  p.clock.advance_ms(120000);
  p.alice.messenger->on_timer();
  CHECK(p.alice.outgoing.empty());
  CHECK(p.alice.counter("outbox_retries") == 2);
}

TEST_CASE("a frame waits in the outbox without its padding and goes again as the bytes first sent",
          "[core][messenger][outbox]") {
  Pair p;
  p.add_bob();
  const Bytes frame = p.alice_sends(std::string(3000, 'x')).second;
  const size_t payload = (size_t{frame[0]} << 24) | (size_t{frame[1]} << 16) |
                         (size_t{frame[2]} << 8) | size_t{frame[3]};
  REQUIRE(frame.size() > 3 * payload);  // a 16 KiB content bucket travels in a 64 KiB frame
  storage::Database& db = core::AccountInternals::db(*p.alice.account);
  auto stored = db.prepare("SELECT length(frame) FROM outbox");
  REQUIRE(stored.is_ok());
  auto row = stored.value()->step();
  REQUIRE((row.is_ok() && row.value()));
  CHECK(stored.value()->column_int64(0) == static_cast<int64_t>(4 + payload));
  stored.value()->reset();

  p.alice.outgoing.clear();
  p.clock.advance_ms(2100);
  p.alice.messenger->on_timer();
  REQUIRE(p.alice.outgoing.size() == 1);
  CHECK(p.alice.outgoing.front() == frame);
}

TEST_CASE("the retry interval learns how long a slow peer takes to acknowledge",
          "[core][messenger][outbox]") {
  Pair p;
  p.add_bob();
  // Bob takes 5 s to acknowledge (a slow board): Alice learns to wait twice that long.
  Pair::deliver(p.alice, p.bob, {p.alice_sends("slow").second});
  p.clock.advance_ms(5000);
  Pair::flush(p.bob, p.alice);
  REQUIRE(p.alice.counter("receipts_received") == 1);

  auto [lost, frame] = p.alice_sends("lost once");
  p.clock.advance_ms(2100);  // the default interval: too soon for this peer
  p.alice.messenger->on_timer();
  CHECK(p.alice.outgoing.empty());
  p.clock.advance_ms(8000);  // 10.1 s
  p.alice.messenger->on_timer();
  CHECK(p.alice.counter("outbox_retries") == 1);
  CHECK(p.alice.outgoing == std::vector<Bytes>{frame});
}

TEST_CASE("a retried frame of a committed message is acknowledged again, not archived twice",
          "[core][messenger][outbox]") {
  Pair p;
  p.add_bob();
  auto [sent, frame] = p.alice_sends("exactly once");
  Pair::deliver(p.alice, p.bob, {frame});
  REQUIRE(count_body(p.bob.history(), "exactly once") == 1);
  REQUIRE(p.bob.outgoing.size() == 1);  // the receipt...
  p.bob.outgoing.clear();               // ...is lost on the way

  // No receipt within the retry interval: Alice resends the stored frame, byte for byte (a
  // retry is never re-encrypted: that would make two ciphertexts of one message).
  p.clock.advance_ms(2100);
  p.alice.messenger->on_timer();
  CHECK(p.alice.counter("outbox_retries") == 1);
  REQUIRE(p.alice.outgoing.size() == 1);
  CHECK(p.alice.outgoing.front() == frame);

  // Bob sees a libsignal duplicate: counted, acknowledged again from the archive, not stored.
  Pair::flush(p.alice, p.bob);
  CHECK(p.bob.counter("message_duplicates") == 1);
  CHECK(p.bob.counter("messages_received") == 1);
  CHECK(count_body(p.bob.history(), "exactly once") == 1);
  REQUIRE(p.bob.outgoing.size() == 1);
  Pair::flush(p.bob, p.alice);
  CHECK(state_of(p.alice, sent.id) == "delivered");

  // An eavesdropper's replay of the same frame later changes nothing either.
  Pair::deliver(p.alice, p.bob, {frame, frame});
  CHECK(p.bob.counter("message_duplicates") == 3);
  CHECK(count_body(p.bob.history(), "exactly once") == 1);
  CHECK(p.bob.history().size() == 1);

  // Delivered: the outbox is empty, so nothing is retried any more.
  p.clock.advance_ms(120000);
  p.alice.messenger->on_timer();
  CHECK(p.alice.outgoing.empty());
  CHECK(p.alice.counter("outbox_retries") == 1);
}

TEST_CASE(
    "new messages are indexed for search once the node has been quiet and not in their commit",
    "[core][messenger][search]") {
  Pair p;
  p.add_bob();
  auto unindexed = [&] {
    return test::unindexed_messages(core::AccountInternals::db(*p.bob.account));
  };
  Pair::deliver(p.alice, p.bob, {p.alice_sends("rendezvous at the quiet hour").second});
  REQUIRE(count_body(p.bob.history(), "rendezvous at the quiet hour") == 1);
  CHECK(unindexed() > 0);  // the message's commit left the index alone
  const auto due = p.bob.messenger->tidy_at_ms();
  REQUIRE(due.has_value());

  // Still busy a moment ago: nothing yet.
  p.clock.advance_ms(*due - p.clock.now_ms() - 1);
  p.bob.messenger->tidy_when_quiet();
  CHECK(unindexed() > 0);

  // Quiet long enough: indexed, and nothing more is due.
  p.clock.advance_ms(1);
  p.bob.messenger->tidy_when_quiet();
  CHECK(unindexed() == 0);
  CHECK_FALSE(p.bob.messenger->tidy_at_ms().has_value());
}

TEST_CASE("housekeeping is not due while frames wait for room in a full socket queue",
          "[core][messenger][search]") {
  Pair p;
  p.add_bob();
  p.alice.socket_full = true;
  REQUIRE(send_now(*p.alice.messenger, "bob", "waits for room").is_ok());
  REQUIRE(p.alice.messenger->busy());
  // tidy_when_quiet would not run while busy: a due time would only make the loop spin.
  p.clock.advance_ms(1000);
  CHECK_FALSE(p.alice.messenger->tidy_at_ms().has_value());

  p.alice.socket_full = false;
  p.alice.messenger->on_timer();  // the outbox sends what waited
  CHECK(p.alice.outgoing.size() == 1);
  CHECK_FALSE(p.alice.messenger->busy());
  CHECK(p.alice.messenger->tidy_at_ms().has_value());
}

TEST_CASE(
    "a recipient is found by name or by any case of a fingerprint prefix; an unknown or "
    "ambiguous one is refused with nothing stored") {
  Pair p;
  p.add_bob();
  const std::string bob = p.bob.account->fingerprint();
  std::string upper = bob.substr(0, 12);
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);

  for (const std::string& to : {std::string("bob"), bob.substr(0, 8), upper, bob}) {
    INFO("to " << to);
    auto sent = send_now(*p.alice.messenger, to, "hello via " + to);
    INFO(sent.status().message());
    REQUIRE(sent.is_ok());
    CHECK(sent.value().conversation == bob);
  }
  const size_t archived = p.alice.history().size();
  p.alice.outgoing.clear();

  auto unknown = send_now(*p.alice.messenger, "carol", "hi");
  REQUIRE_FALSE(unknown.is_ok());
  CHECK_THAT(unknown.status().message(), Catch::Contains("unknown recipient 'carol'"));
  // Not bob's: a prefix differing in its last digit.
  std::string other = bob.substr(0, 8);
  other.back() = other.back() == '0' ? '1' : '0';
  CHECK_FALSE(send_now(*p.alice.messenger, other, "hi").is_ok());

  // A second identity under the same name is a namesake: "bob" still finds the first bob, never
  // the newcomer, and the newcomer is marked for what it is.
  auto carol = test::create_account(p.tmp / "carol", "carol");
  storage::ContactRecord twin;
  twin.fingerprint = carol->fingerprint();
  twin.name = "bob";
  twin.identity_key = carol->identity_key();
  REQUIRE(storage::ContactRepo(core::AccountInternals::db(*p.alice.account)).upsert(twin).is_ok());
  auto still_bob = send_now(*p.alice.messenger, "bob", "to the first bob");
  REQUIRE(still_bob.is_ok());
  CHECK(still_bob.value().conversation == bob);
  auto listed = p.alice.messenger->contacts().value();
  auto namesake = std::find_if(listed.begin(), listed.end(),
                               [&](const auto& c) { return c.fingerprint == twin.fingerprint; });
  REQUIRE(namesake != listed.end());
  CHECK(namesake->namesake_of == bob);
  CHECK(namesake->trust == core::Trust::kUnverified);

  // A name that reads like a fingerprint prefix does not capture the prefix: a contact calling
  // itself by the start of bob's fingerprint makes that text ambiguous, naming both.
  auto dave = test::create_account(p.tmp / "dave", "dave");
  storage::ContactRecord hexname;
  hexname.fingerprint = dave->fingerprint();
  hexname.name = bob.substr(0, 8);
  hexname.identity_key = dave->identity_key();
  REQUIRE(
      storage::ContactRepo(core::AccountInternals::db(*p.alice.account)).upsert(hexname).is_ok());
  auto ambiguous = send_now(*p.alice.messenger, bob.substr(0, 8), "hi");
  REQUIRE_FALSE(ambiguous.is_ok());
  CHECK_THAT(ambiguous.status().message(), Catch::Contains("ambiguous") &&
                                               Catch::Contains(bob.substr(0, 16)) &&
                                               Catch::Contains(hexname.fingerprint.substr(0, 16)));
  // A longer prefix still picks bob out.
  CHECK(send_now(*p.alice.messenger, bob.substr(0, 12), "still bob").is_ok());

  CHECK(p.alice.history().size() == archived + 2);
}

TEST_CASE(
    "a first message over bob's connection that opens a session for another identity is "
    "refused; bob's own first message is then taken",
    "[core][messenger][security][adversarial]") {
  Pair p;
  const std::string alice_fp = p.alice.account->fingerprint();
  // Eve builds a pre-key message to Alice with her own identity key; it travels over the
  // connection Bob authenticated (Bob is the attacker, or Eve borrowed his link).
  auto eve = test::create_account(p.tmp / "eve", "eve");
  auto bundle = core::AccountInternals::signal(*p.alice.account).bundle();
  REQUIRE(bundle.is_ok());
  REQUIRE(core::AccountInternals::signal(*eve).process_bundle(alice_fp, bundle.value()).is_ok());
  const Bytes id = crypto::random_bytes(net::kMessageIdSize);
  wire::Content content;
  content.mutable_text()->set_id(as_chars(id).data(), id.size());
  content.mutable_text()->set_body("it's bob, honest");
  auto plaintext = net::encode_content(content);
  REQUIRE(plaintext.is_ok());
  auto ciphertext = core::AccountInternals::signal(*eve).encrypt(alice_fp, plaintext.value());
  REQUIRE(ciphertext.is_ok());
  REQUIRE(ciphertext.value().type == crypto::Ciphertext::Type::kPreKey);
  wire::Envelope envelope;
  envelope.mutable_signal()->set_type(static_cast<uint32_t>(ciphertext.value().type));
  envelope.mutable_signal()->set_body(as_chars(ciphertext.value().bytes).data(),
                                      ciphertext.value().bytes.size());
  envelope.mutable_signal()->set_message_id(as_chars(id).data(), id.size());
  Pair::deliver(p.bob, p.alice, {net::encode_frame(envelope).value()});
  CHECK(p.alice.counter("message_refused_identity_mismatch") == 1);
  CHECK(count_body(p.alice.history(), "it's bob, honest") == 0);
  // Nothing was kept under Bob's address: no session, no identity to trip the real Bob.
  CHECK_FALSE(core::AccountInternals::signal(*p.alice.account)
                  .has_session(p.bob.account->fingerprint())
                  .value());

  // The real Bob writes first: his own identity, accepted.
  std::optional<Result<core::ContactInfo>> added;
  p.bob.messenger->add_contact("alice", "", [&](Result<core::ContactInfo> r) { added = r; });
  Pair::flush(p.bob, p.alice);
  Pair::flush(p.alice, p.bob);
  REQUIRE(added.has_value());
  REQUIRE(added->is_ok());
  REQUIRE(send_now(*p.bob.messenger, "alice", "the real bob").is_ok());
  Pair::flush(p.bob, p.alice);
  CHECK(count_body(p.alice.history(), "the real bob") == 1);
}

TEST_CASE("adding a contact again keeps the trust already given, in the reply and the event",
          "[core][messenger]") {
  Pair p;
  p.add_bob();
  std::optional<Result<core::ContactInfo>> confirmed;
  p.alice.messenger->confirm_contact("bob", [&](Result<core::ContactInfo> r) { confirmed = r; });
  REQUIRE(confirmed.has_value());
  REQUIRE(confirmed->is_ok());
  REQUIRE(confirmed->value().trust == core::Trust::kVerified);

  // With the session in place (no bundle round trip) and with a new bundle asked for.
  for (bool new_session : {false, true}) {
    if (new_session) {
      p.clock.advance_ms(p.options.bundle_request_interval_ms);  // Bob serves one bundle per
                                                                 // interval and peer
      REQUIRE(core::AccountInternals::signal(*p.alice.account)
                  .store()
                  .delete_session(p.bob.account->fingerprint(), crypto::SignalEngine::kDeviceId)
                  .is_ok());
    }
    p.alice.contact_events.clear();
    std::optional<Result<core::ContactInfo>> again;
    p.alice.messenger->add_contact("bob", "", [&](Result<core::ContactInfo> r) { again = r; });
    Pair::flush(p.alice, p.bob);
    Pair::flush(p.bob, p.alice);
    REQUIRE(again.has_value());
    INFO("new session: " << new_session << ", " << again->status().message());
    REQUIRE(again->is_ok());
    CHECK(again->value().trust == core::Trust::kVerified);
    REQUIRE(p.alice.contact_events.size() == 1);
    CHECK(p.alice.contact_events[0].change == core::ContactChange::kAdded);
    CHECK(p.alice.contact_events[0].contact.trust == core::Trust::kVerified);
  }
}

TEST_CASE("what expires during a live transmission leaves the log at the next quiet tidy",
          "[core][messenger][archive]") {
  Pair p;
  p.add_bob();
  p.alice_sends("soon gone");
  REQUIRE(p.alice.messenger->set_expiry("bob", 1000).is_ok());
  p.alice.outgoing.clear();
  p.clock.advance_ms(2000);
  storage::Database& db = core::AccountInternals::db(*p.alice.account);
  REQUIRE(db.checkpoint().is_ok());

  // On air: the text goes from the archive, but the copy of the log (tens of milliseconds)
  // waits; the log still holds the deletion's pages.
  p.alice.messenger->on_timer(/*on_air=*/true);
  CHECK(count_body(p.alice.history(), "soon gone") == 0);
  CHECK(p.alice.counter("messages_expired") >= 1);  // the text, and the audit line before it
  CHECK(db.wal_frames() > 0);
  REQUIRE(p.alice.messenger->tidy_at_ms().has_value());

  // The first quiet tidy after the transmission copies it away.
  p.clock.advance_ms(1000);
  p.alice.messenger->tidy_when_quiet();
  CHECK(db.wal_frames() == 0);
  CHECK_FALSE(p.alice.messenger->tidy_at_ms().has_value());
}

TEST_CASE(
    "a disappearing-messages setting made after the timer found none applies at the next timer",
    "[core][messenger][archive]") {
  Pair p;
  p.add_bob();
  p.alice_sends("soon gone");
  // No conversation expires: the timer finds no setting, and stops asking the database for one.
  p.alice.messenger->on_timer(/*on_air=*/false);
  p.clock.advance_ms(2000);
  p.alice.messenger->on_timer(/*on_air=*/false);
  REQUIRE(count_body(p.alice.history(), "soon gone") == 1);

  REQUIRE(p.alice.messenger->set_expiry("bob", 1000).is_ok());
  p.clock.advance_ms(2000);
  p.alice.messenger->on_timer(/*on_air=*/false);
  CHECK(count_body(p.alice.history(), "soon gone") == 0);
  CHECK(p.alice.counter("messages_expired") >= 1);
}

// Alice, Bob as a stranger found by his beacons alone, Xavier another; Alice's add by name and
// what it answered.
struct LookupLab {
  Pair p;
  std::string bob;
  std::string xavier;
  std::optional<Result<core::ContactInfo>> added;

  explicit LookupLab(uint8_t xavier_seed) {
    make_bob_a_stranger(p);
    bob = p.bob.account->fingerprint();
    xavier = add_stranger(p, xavier_seed);
  }
  void add(const std::string& query) {
    added.reset();
    p.alice.messenger->add_contact(query, "", [this](Result<core::ContactInfo> r) { added = r; });
  }
  // Alice's bundle request reaches Bob, his bundle reaches her.
  void bundle_round_trip() {
    Pair::flush(p.alice, p.bob);
    Pair::flush(p.bob, p.alice);
  }
  void require_bob_added() {
    REQUIRE(added.has_value());
    INFO(added->status().message());
    REQUIRE(added->is_ok());
    CHECK(added->value().fingerprint == bob);
    CHECK(added->value().name == "bob");
  }
};

TEST_CASE("an add by a name nobody showed greets the strangers once, then adds the match",
          "[core][messenger][lookup]") {
  LookupLab lab(0x11);
  Pair& p = lab.p;
  lab.add("bob");
  CHECK(p.alice.greeted.size() == 2);
  CHECK(p.alice.counter("name_lookup_greetings") == 2);
  // Bob answers first; Alice waits for Xavier too, who might also answer to "bob".
  hello_to_alice(p, lab.bob, "bob");
  CHECK(p.alice.outgoing.empty());
  CHECK_FALSE(lab.added.has_value());
  hello_to_alice(p, lab.xavier, "xavier");
  REQUIRE(p.alice.outgoing.size() == 1);  // the bundle request, to Bob
  lab.bundle_round_trip();
  lab.require_bob_added();
  CHECK(p.alice.greeted.size() == 2);  // nobody twice
}

TEST_CASE("a lookup goes on at its deadline with the answers it has: one, several or none",
          "[core][messenger][lookup]") {
  LookupLab lab(0x22);
  Pair& p = lab.p;
  SECTION("none: no peer by that name nearby") {
    lab.add("nobody");
    p.clock.advance_ms(p.options.name_lookup_ms - 1);
    p.alice.messenger->on_timer();
    CHECK_FALSE(lab.added.has_value());
    p.clock.advance_ms(1);
    p.alice.messenger->on_timer();
    REQUIRE(lab.added.has_value());
    CHECK(lab.added->status().message().find("no peer 'nobody' nearby") != std::string::npos);
  }
  SECTION("one: Xavier stayed silent, Bob is added") {
    lab.add("bob");
    hello_to_alice(p, lab.bob, "bob");
    p.clock.advance_ms(p.options.name_lookup_ms);
    p.alice.messenger->on_timer();
    lab.bundle_round_trip();
    lab.require_bob_added();
  }
  SECTION("several: Xavier also calls himself bob") {
    lab.add("bob");
    hello_to_alice(p, lab.bob, "bob");
    hello_to_alice(p, lab.xavier, "bob");
    REQUIRE(lab.added.has_value());
    CHECK(lab.added->status().message().find("matches several peers") != std::string::npos);
  }
  CHECK(p.alice.greeted.size() == 2);
}

TEST_CASE("peers' Hellos and changes make us greet no one; only our own add by name does",
          "[core][messenger][lookup][security]") {
  LookupLab lab(0x33);
  Pair& p = lab.p;
  const std::string yvonne = add_stranger(p, 0x44);
  // Strangers' Hellos, with nothing being looked up.
  hello_to_alice(p, lab.xavier, "bob");
  p.alice.messenger->on_peer_changed(lab.bob);
  p.alice.messenger->on_timer();
  CHECK(p.alice.greeted.empty());
  // An add by fingerprint prefix, or by a name already shown (Xavier's digest), greets no one.
  p.alice.messenger->add_contact(yvonne.substr(0, 8), "", [](Result<core::ContactInfo>) {});
  p.alice.messenger->add_contact("bob", "", [](Result<core::ContactInfo>) {});
  CHECK(p.alice.greeted.empty());
  // An add by a name nobody shows: only the strangers without a digest, each once however
  // often they change.
  lab.add("zed");
  std::vector<std::string> expected = {lab.bob, yvonne};
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> greeted = p.alice.greeted;
  std::sort(greeted.begin(), greeted.end());
  CHECK(greeted == expected);
  for (int i = 0; i < 5; ++i) {
    p.alice.messenger->on_peer_changed(lab.bob);
    p.alice.messenger->on_peer_changed(lab.xavier);
  }
  CHECK(p.alice.greeted.size() == 2);
  hello_to_alice(p, lab.bob, "bob");
  hello_to_alice(p, yvonne, "yvonne");
  REQUIRE(lab.added.has_value());
  CHECK(lab.added->status().message().find("no peer 'zed' nearby") != std::string::npos);
}

TEST_CASE("one lookup greets at most a few hundred strangers, and says it left the rest",
          "[core][messenger][lookup]") {
  Pair p;
  for (int i = 0; i < 300; ++i) {
    core::PeerInfo info;
    info.fingerprint = to_hex(crypto::random_bytes(32));
    info.state = net::PeerState::kOnline;
    p.alice.peers[info.fingerprint] = info;
  }
  p.alice.messenger->add_contact("someone", "", [](Result<core::ContactInfo>) {});
  CHECK(p.alice.greeted.size() == core::ContactBook::kMaxGreetingsPerLookup);
  CHECK(p.alice.counter("name_lookup_greetings_capped") == 1);
}

namespace {

// Alice, Bob and an office serving as a mailbox, each online in the others' peer tables unless a
// test says otherwise. Frames wait in `sent` until route() delivers them where they are
// addressed; a party in `away` is not running, and what is sent to it is lost.
struct MailboxTrio {
  test::TempDir tmp;
  FakeClock clock;
  std::map<std::string, Party> parties;        // by name
  std::map<std::string, std::string> name_of;  // fingerprint -> name
  struct Sent {
    std::string from;
    std::string to;
    Bytes frame;
  };
  std::vector<Sent> sent;
  std::set<std::string> away;

  MailboxTrio() {
    for (const char* name : {"alice", "bob", "office"}) {
      parties[name].account = test::create_account(tmp / name, name);
      name_of[parties[name].account->fingerprint()] = name;
    }
    for (auto& [name, self] : parties) wire(name, self);
  }

  Party& operator[](const std::string& name) { return parties.at(name); }
  std::string fp(const std::string& name) { return parties.at(name).account->fingerprint(); }
  // How `at` sees `whose` now.
  void set_state(const std::string& at, const std::string& whose, net::PeerState state) {
    parties.at(at).peers.at(fp(whose)).state = state;
  }

  void wire(const std::string& name, Party& self) {
    for (auto& [other_name, other] : parties) {
      if (other_name == name) continue;
      self.peers[other.account->fingerprint()] = test::online_peer(*other.account);
    }
    core::MessengerHooks hooks;
    Party* me = &self;
    hooks.send_frame = [this, name](const std::string& to, ByteView frame) {
      sent.push_back({name, to, Bytes(frame.begin(), frame.end())});
      return true;
    };
    test::serve_peers_and_counters(hooks, me);
    hooks.greet = [](const std::string&) { return true; };
    hooks.publish = [](core::Event) {};
    hooks.introduce = [](const std::string&) {};
    core::MessengerOptions options;
    options.serve_mailbox = name == "office";
    self.messenger = std::make_unique<core::Messenger>(*self.account, clock, options, hooks);
    REQUIRE(self.messenger->start().is_ok());
  }

  // Delivers what was sent, and what that makes the parties send, until nothing more is: a
  // party's frames of one round arrive together and are committed at once (after_poll).
  void route() {
    for (int round = 0; round < 20 && !sent.empty(); ++round) {
      std::vector<Sent> batch;
      batch.swap(sent);
      std::set<std::string> received;
      for (const Sent& s : batch) {
        auto to = name_of.find(s.to);
        if (to == name_of.end() || away.contains(to->second)) continue;
        auto envelope = net::decode_frame(s.frame);
        if (!envelope.is_ok()) continue;
        parties.at(to->second).messenger->on_envelope(fp(s.from), envelope.value());
        received.insert(to->second);
      }
      for (const std::string& name : received) parties.at(name).messenger->after_poll();
      for (auto& [name, party] : parties) party.messenger->flush_sends();
    }
  }

  bool has_text(const std::string& at, const std::string& text) {
    const auto history = parties.at(at).history();
    return std::any_of(history.begin(), history.end(),
                       [&](const core::MessageInfo& m) { return m.body == text; });
  }
};

}  // namespace

TEST_CASE(
    "a user's register that reaches its mailbox before the mailbox sees the user online still "
    "gets it what is held, once the user is online",
    "[core][messenger][mailbox]") {
  MailboxTrio t;
  auto add = [&](const std::string& who, const std::string& whom) {
    std::optional<Result<core::ContactInfo>> added;
    t[who].messenger->add_contact(whom, "", [&](Result<core::ContactInfo> r) { added = r; });
    t.route();
    REQUIRE(added.has_value());
    INFO(added->status().message());
    REQUIRE(added->is_ok());
  };
  add("alice", "bob");
  add("bob", "alice");
  std::optional<Result<core::MailboxInfo>> used;
  t["bob"].messenger->use_mailbox("office", [&](Result<core::MailboxInfo> r) { used = r; });
  t.route();
  REQUIRE(used.has_value());
  INFO(used->status().message());
  REQUIRE(used->is_ok());

  // Bob stops. Alice's text for him waits in her outbox, then at the office.
  t.away.insert("bob");
  t.set_state("alice", "bob", net::PeerState::kOffline);
  t.set_state("office", "bob", net::PeerState::kOffline);
  REQUIRE(send_now(*t["alice"].messenger, "bob", "crane tag 114 expires Friday").is_ok());
  t.route();
  for (int tick = 0; tick < 10; ++tick) {
    t.clock.advance_ms(1000);
    t["alice"].messenger->on_timer();
    t.route();
  }
  const auto alices = t["alice"].history();
  REQUIRE(std::any_of(alices.begin(), alices.end(), [](const core::MessageInfo& m) {
    return m.body == "crane tag 114 expires Friday" && m.state == core::MessageState::kAtMailbox;
  }));

  // Bob is back and sees the office online: he registers. The office's own link to him is
  // still reconnecting, so it does not see him online yet.
  t.away.erase("bob");
  t.set_state("office", "bob", net::PeerState::kConnecting);
  t["bob"].messenger->on_peer_online(t.fp("office"));
  t.route();
  t["office"].messenger->on_timer();
  t.route();
  CHECK_FALSE(t.has_text("bob", "crane tag 114 expires Friday"));  // it cannot reach him yet

  SECTION("its link comes up: the handover goes at once") {
    t.set_state("office", "bob", net::PeerState::kOnline);
    t["office"].messenger->on_peer_online(t.fp("bob"));
    t.route();
    CHECK(t.has_text("bob", "crane tag 114 expires Friday"));
  }
  SECTION("or at the office's next timer, if it is online by then") {
    t.set_state("office", "bob", net::PeerState::kOnline);
    t.clock.advance_ms(1000);
    t["office"].messenger->on_timer();
    t.route();
    CHECK(t.has_text("bob", "crane tag 114 expires Friday"));
  }
}
