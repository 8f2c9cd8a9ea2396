// Channel relay under attack (issue 24): a member hands its co-members each author's ciphertext
// as it came, and the receiver opens it under the author's sender key, so a relay can withhold
// but not alter or forge. Here the relay is hostile: a real member who edits the copies it holds
// (or passes its own ciphertext off as another author's), a member the admin has removed, and a
// stranger with genuine copies. The attacker speaks as mallory herself: her profile, opened
// while her node is down, gives it her identity, her transport key and the copies she kept.
//
// Each case sends to carol, who missed the texts and whose other co-members are all offline:
// the attacker is the only relay she can hear. Each refusal is counted by its reason, and
// carol's archive is checked without the text. Where the copies are acceptable from a member,
// a member then sends them and they are archived: the refused frames did reach the relay path,
// and only the defence under test kept them out.
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/storage/channel_copy_repo.h"
#include "src/core/account_internals.h"
#include "src/core/channel_relay.h"
#include "src/net/wire.h"
#include "tests/support/adversary.h"
#include "tests/support/approach.h"
#include "tests/support/channel_lab.h"
#include "tests/support/profile_node.h"
#include "tests/support/profiles.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::ChannelLab;
using test::count_text;
using test::HostileInsider;
using test::ProfileNode;
using test::wait_until;

namespace {

// #ops, opened by alice with bob, carol and mallory: sessions and sender keys in place, and one
// text from each member (its author's message 1).
struct RelayLab {
  ChannelLab lab{{"alice", "bob", "carol", "mallory"}};
  Bytes channel_id;

  RelayLab() {
    test::open_channel(lab, "alice", "ops", {"bob", "carol", "mallory"}, false);
    auto info = test::channel_of(lab["alice"], "ops");
    REQUIRE(info);
    auto id = from_hex(info->id);
    REQUIRE(id);
    channel_id = *id;
  }
  ProfileNode& operator[](const std::string& name) { return lab[name]; }
  void stop(const std::vector<std::string>& names) {
    for (const auto& name : names) lab[name].stop();
  }
};

// Alice, bob and mallory go away; carol comes back and meets only mallory's account, now in a
// hostile client that relays whatever it likes.
std::unique_ptr<HostileInsider> carol_meets_hostile_mallory(RelayLab& lab) {
  lab.stop({"alice", "bob", "mallory"});
  auto insider = std::make_unique<HostileInsider>(test::open_account(lab["mallory"].profile_dir()));
  lab.lab.start("carol");
  approach(*insider, lab["carol"]);
  return insider;
}

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + " " + std::to_string(i));
  return out;
}

// `author` posts `texts` to #ops, and `holder` has archived (so keeps a copy of) every one.
void post(ProfileNode& author, const std::vector<std::string>& texts, ProfileNode& holder) {
  for (const auto& text : texts) REQUIRE(author.node().send_text("#ops", text).is_ok());
  REQUIRE(wait_until(
      [&] {
        const auto history = holder.history("#ops");
        for (const auto& text : texts) {
          if (count_text(history, text) != 1) return false;
        }
        return true;
      },
      10s));
}

// The copies of `author`'s messages that `account` keeps to hand on, in the author's order.
std::vector<storage::ChannelCopy> copies_of(core::Account& account, const Bytes& channel_id,
                                            const std::string& author) {
  auto copies = storage::ChannelCopyRepo(core::AccountInternals::db(account))
                    .after(channel_id, author, 0, 100);
  REQUIRE(copies.is_ok());
  return std::move(copies).value();
}

// The last `n` of `copies`: the texts posted while the victim was away.
std::vector<storage::ChannelCopy> last(const std::vector<storage::ChannelCopy>& copies, size_t n) {
  REQUIRE(copies.size() >= n);
  return {copies.end() - static_cast<std::ptrdiff_t>(n), copies.end()};
}

// What a relay sends for `copy`: the frame ChannelRelay::offer builds, from whatever the hostile
// relay put in the copy.
Bytes relayed_frame(const storage::ChannelCopy& copy) {
  auto frame = net::encode_frame(core::relayed_group(copy));
  REQUIRE(frame.is_ok());
  return std::move(frame).value();
}

// Marks that say the sender holds nothing of `authors` in the channel, asking for marks back:
// what a member sends to have every copy of theirs handed over.
Bytes sync_frame(const Bytes& channel_id, const std::vector<std::string>& authors) {
  wire::Envelope envelope;
  auto* sync = envelope.mutable_sync();
  for (const std::string& author : authors) {
    auto* mark = sync->add_marks();
    mark->set_channel_id(as_chars(channel_id).data(), channel_id.size());
    mark->set_author(author);
    mark->set_held_through(0);
  }
  sync->set_want_reply(true);
  auto frame = net::encode_frame(std::move(envelope));
  REQUIRE(frame.is_ok());
  return std::move(frame).value();
}

// `insider` announces itself to `victim`, connects and has its Hello proved: what it sends next
// is credited to its identity.

// How many of `texts` `node` has archived in #ops, counting repeats.
size_t archived(ProfileNode& node, const std::vector<std::string>& texts) {
  const auto history = node.history("#ops");
  size_t n = 0;
  for (const auto& text : texts) n += count_text(history, text);
  return n;
}

// `insider` sends `frame` (a copy made `what`) to `victim`, which counts its refusal under
// `counter`.
void refused(HostileInsider& insider, ProfileNode& victim, const std::string& what,
             const Bytes& frame, const std::string& counter) {
  INFO("a copy " << what << ", its refusal counted as " << counter);
  const uint64_t before = victim.counter(counter);
  REQUIRE(insider.send(frame));
  // CHECK, not REQUIRE: had it been taken instead, the archive checks that follow show it.
  CHECK(wait_until([&] { return victim.counter(counter) > before; }, 5s));
}

}  // namespace

TEST_CASE("channel relay attack: a member's altered copies are refused, the genuine one taken",
          "[adversarial][relay]") {
  RelayLab lab;
  ProfileNode& alice = lab["alice"];
  ProfileNode& carol = lab["carol"];
  ProfileNode& mallory = lab["mallory"];

  // While carol is away, alice and mallory each post as many texts: mallory's numbers then
  // match alice's, so one of her own ciphertexts fits where alice's next one goes.
  lab.stop({"carol"});
  const auto texts = numbered("handover", 2);
  post(alice, texts, mallory);
  const auto own_texts = numbered("mallory's own", 2);
  post(mallory, own_texts, mallory);
  const auto hostile = carol_meets_hostile_mallory(lab);
  HostileInsider& insider = *hostile;
  const auto missed = last(copies_of(insider.account(), lab.channel_id, alice.fingerprint()), 2);
  const storage::ChannelCopy& first = missed[0];
  const storage::ChannelCopy& second = missed[1];
  const auto own = last(copies_of(insider.account(), lab.channel_id, mallory.fingerprint()), 2);
  REQUIRE(own[0].seq == first.seq);
  const uint64_t received = carol.counter("group_messages_received");
  auto nothing_archived = [&] {
    CHECK(archived(carol, texts) == 0);
    CHECK(archived(carol, own_texts) == 0);
    CHECK(carol.counter("relay_copies_archived") == 0);
    CHECK(carol.counter("group_messages_received") == received);
  };

  // One byte of the ciphertext flipped: alice's signature no longer holds.
  storage::ChannelCopy flipped = first;
  flipped.body[flipped.body.size() / 2] ^= 0x01;
  refused(insider, carol, "with a byte flipped", relayed_frame(flipped), "relay_dropped_invalid");
  nothing_archived();
  // Alice's second text, numbered in the envelope as her first (to skip one, or swap two): the
  // number signed inside is not the envelope's.
  storage::ChannelCopy renumbered = second;
  renumbered.seq = first.seq;
  refused(insider, carol, "renumbered back", relayed_frame(renumbered), "relay_dropped_invalid");
  nothing_archived();
  // Her first text under the number of her second: not the next one carol lacks.
  storage::ChannelCopy ahead = first;
  ahead.seq = second.seq;
  refused(insider, carol, "renumbered ahead", relayed_frame(ahead), "relay_dropped_order");
  nothing_archived();
  // Her first text under another message id (to have it archived twice, or a receipt misread).
  storage::ChannelCopy reidentified = first;
  reidentified.message_id = test::random_bytes(first.message_id.size(), 24);
  refused(insider, carol, "under another id", relayed_frame(reidentified), "relay_dropped_invalid");
  nothing_archived();
  // Mallory's own text, signed by her under the same number and key generation, passed off as
  // alice's: it opens under mallory's key only, and alice's holds no chain of that id. Id,
  // channel and number inside match the envelope: only the author's key catches it.
  REQUIRE(own[0].generation == first.generation);
  storage::ChannelCopy forged = own[0];
  forged.author = alice.fingerprint();
  refused(insider, carol, "of mallory's as alice's", relayed_frame(forged),
          "relay_dropped_invalid");
  nothing_archived();

  // The genuine copy, as mallory holds it: taken, once, as alice's, relayed by mallory.
  REQUIRE(insider.send(relayed_frame(first)));
  REQUIRE(wait_until([&] { return carol.counter("relay_copies_archived") == 1; }, 5s));
  refused(insider, carol, "sent again", relayed_frame(first), "relay_dropped_duplicate");
  const auto history = carol.history("#ops");
  CHECK(count_text(history, texts[0]) == 1);
  CHECK(count_text(history, texts[1]) == 0);
  for (const auto& m : history) {
    if (m.body != texts[0]) continue;
    CHECK(m.sender == alice.fingerprint());
    CHECK(m.relayed_by == mallory.fingerprint());
  }
  CHECK(carol.counter("relay_copies_archived") == 1);
}

TEST_CASE("channel relay attack: a removed member's copies and marks are refused",
          "[adversarial][relay]") {
  RelayLab lab;
  ProfileNode& alice = lab["alice"];
  ProfileNode& bob = lab["bob"];
  ProfileNode& carol = lab["carol"];
  ProfileNode& mallory = lab["mallory"];

  // Bob's texts reach mallory while carol and alice are away: only mallory (and bob) hold them.
  lab.stop({"carol", "alice"});
  const auto texts = numbered("before the removal", 3);
  post(bob, texts, mallory);
  lab.stop({"bob", "mallory"});
  // Alice removes mallory, and carol learns the new roster from her.
  lab.lab.start("alice");
  REQUIRE(alice.node().remove_from_channel("ops", "mallory").is_ok());
  lab.lab.start("carol");
  REQUIRE(wait_until(
      [&] {
        auto ops = test::channel_of(carol, "ops");
        return ops && ops->state == core::ChannelState::kMember &&
               test::member_fingerprints(*ops).count(mallory.fingerprint()) == 0;
      },
      10s));
  lab.stop({"alice"});

  HostileInsider insider(test::open_account(mallory.profile_dir()));
  const auto missed = last(copies_of(insider.account(), lab.channel_id, bob.fingerprint()), 3);
  approach(insider, carol);

  // Bob's genuine copies, in his order, each the next carol lacks: refused for who relays them.
  const uint64_t not_member = carol.counter("relay_dropped_not_member");
  for (const auto& copy : missed) REQUIRE(insider.send(relayed_frame(copy)));
  CHECK(wait_until(
      [&] { return carol.counter("relay_dropped_not_member") >= not_member + missed.size(); }, 5s));
  CHECK(archived(carol, texts) == 0);
  CHECK(carol.counter("relay_copies_archived") == 0);

  // Marks that say mallory holds nothing of alice's or bob's: carol holds both authors' copies,
  // and hands none to someone no longer on her roster.
  const uint64_t ignored = carol.counter("relay_marks_ignored");
  const uint64_t copies_sent = carol.counter("relay_copies_sent");
  REQUIRE(insider.send(sync_frame(lab.channel_id, {alice.fingerprint(), bob.fingerprint()})));
  REQUIRE(wait_until([&] { return carol.counter("relay_marks_ignored") >= ignored + 2; }, 5s));
  settled(insider, carol);
  CHECK(carol.counter("relay_copies_sent") == copies_sent);
}

TEST_CASE("channel relay attack: a stranger's genuine copies are refused", "[adversarial][relay]") {
  RelayLab lab;
  ProfileNode& alice = lab["alice"];
  ProfileNode& carol = lab["carol"];
  ProfileNode& mallory = lab["mallory"];

  // Alice's texts reach mallory (and bob) while carol is away.
  lab.stop({"carol"});
  const auto texts = numbered("members only", 2);
  post(alice, texts, mallory);
  lab.stop({"alice", "bob", "mallory"});
  // The stranger got hold of mallory's copies (say, from her disk): genuine, signed by alice.
  std::vector<storage::ChannelCopy> missed;
  {
    auto account = test::open_account(mallory.profile_dir());
    missed = last(copies_of(*account, lab.channel_id, alice.fingerprint()), 2);
  }

  lab.lab.start("carol");
  HostileInsider stranger("stranger");
  approach(stranger, carol);
  const uint64_t not_member = carol.counter("relay_dropped_not_member");
  for (const auto& copy : missed) REQUIRE(stranger.send(relayed_frame(copy)));
  CHECK(wait_until(
      [&] { return carol.counter("relay_dropped_not_member") >= not_member + missed.size(); }, 5s));
  CHECK(archived(carol, texts) == 0);
  CHECK(carol.counter("relay_copies_archived") == 0);

  // The same copies from mallory, a member, are taken: the stranger was refused for who it is.
  lab.lab.start("mallory");
  REQUIRE(wait_until([&] { return archived(carol, texts) == texts.size(); }, 10s));
  for (const auto& m : carol.history("#ops")) {
    if (m.body.rfind("members only", 0) != 0) continue;
    CHECK(m.sender == alice.fingerprint());
    CHECK(m.relayed_by == mallory.fingerprint());
  }
  CHECK(carol.counter("relay_copies_archived") == texts.size());
}

TEST_CASE(
    "channel relay attack: a member's ChannelSync of too many marks is dropped whole, and "
    "carol serves on",
    "[adversarial][relay]") {
  RelayLab lab;
  ProfileNode& alice = lab["alice"];
  ProfileNode& carol = lab["carol"];
  ProfileNode& mallory = lab["mallory"];

  // Mallory, a member, asks carol for everything of alice's in #ops, with one mark more than a
  // ChannelSync may hold: the rest name authors nobody knows, to make the frame big. Had carol
  // taken it, she would hand mallory alice's text.
  lab.stop({"bob", "carol", "mallory"});
  lab.lab.start("carol");
  HostileInsider insider(test::open_account(mallory.profile_dir()));
  approach(insider, carol);
  std::vector<std::string> authors = {alice.fingerprint()};
  for (uint32_t i = 0; i < static_cast<uint32_t>(core::ChannelRelay::kMaxMarks); ++i) {
    authors.push_back(to_hex(test::random_bytes(32, i)));
  }
  const uint64_t dropped = carol.counter("relay_sync_dropped");
  const uint64_t copies_sent = carol.counter("relay_copies_sent");
  REQUIRE(insider.send(sync_frame(lab.channel_id, authors)));
  REQUIRE(wait_until([&] { return carol.counter("relay_sync_dropped") > dropped; }, 5s));
  settled(insider, carol);
  CHECK(carol.counter("relay_copies_sent") == copies_sent);

  // Carol keeps serving: alice's next text reaches her, and the same marks within the bound,
  // from the same link, have alice's texts handed to mallory.
  REQUIRE(alice.node().send_text("#ops", "after the flood").is_ok());
  CHECK(wait_until([&] { return count_text(carol.history("#ops"), "after the flood") == 1; }, 10s));
  authors.resize(static_cast<size_t>(core::ChannelRelay::kMaxMarks));
  REQUIRE(insider.send(sync_frame(lab.channel_id, authors)));
  CHECK(wait_until([&] { return carol.counter("relay_copies_sent") > copies_sent; }, 5s));
  CHECK(carol.counter("relay_sync_dropped") == dropped + 1);
}

TEST_CASE(
    "channel relay attack: a forged copy in a burst whose signatures are checked ahead is "
    "refused, and nothing after it is taken out of order",
    "[adversarial][relay]") {
  RelayLab lab;
  ProfileNode& alice = lab["alice"];
  ProfileNode& carol = lab["carol"];
  ProfileNode& mallory = lab["mallory"];

  lab.stop({"carol"});
  const auto texts = numbered("burst", 40);
  post(alice, texts, mallory);
  const auto hostile = carol_meets_hostile_mallory(lab);
  HostileInsider& insider = *hostile;
  const auto missed = last(copies_of(insider.account(), lab.channel_id, alice.fingerprint()), 40);
  // All 40 back to back, the 21st with a byte flipped: carol opens them in batches whose
  // signatures a second thread checks while her loop opens them (crypto/verify_ahead.h).
  const uint64_t invalid = carol.counter("relay_dropped_invalid");
  const uint64_t checked =
      carol.counter("signatures_checked_ahead") + carol.counter("signatures_checked_in_turn");
  for (size_t i = 0; i < missed.size(); ++i) {
    storage::ChannelCopy copy = missed[i];
    if (i == 20) copy.body[copy.body.size() / 2] ^= 0x01;
    REQUIRE(insider.send(relayed_frame(copy)));
  }
  REQUIRE(wait_until([&] { return carol.counter("relay_dropped_invalid") > invalid; }, 5s));
  REQUIRE(wait_until([&] { return carol.counter("relay_copies_archived") >= 20; }, 5s));
  const std::vector<std::string> before(texts.begin(), texts.begin() + 20);
  const std::vector<std::string> after(texts.begin() + 20, texts.end());
  settled(insider, carol);
  CHECK(archived(carol, before) == before.size());
  CHECK(archived(carol, after) == 0);  // the forged one, and nothing past the gap it left
  CHECK(carol.counter("relay_copies_archived") == before.size());
  // The batch path took part: some of the 40 checks were handed to the second thread.
  CHECK(carol.counter("signatures_checked_ahead") + carol.counter("signatures_checked_in_turn") >
        checked);

  // The genuine rest: taken, once each, in alice's order.
  for (size_t i = 20; i < missed.size(); ++i) REQUIRE(insider.send(relayed_frame(missed[i])));
  REQUIRE(wait_until([&] { return archived(carol, texts) == texts.size(); }, 10s));
  CHECK(carol.counter("relay_copies_archived") == texts.size());
  std::vector<std::string> order;
  for (const auto& m : carol.history("#ops")) {
    if (m.body.rfind("burst ", 0) == 0) order.push_back(m.body);
  }
  CHECK(order == texts);
}
