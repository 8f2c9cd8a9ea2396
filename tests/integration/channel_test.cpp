// Channels between real in-process nodes on 127.0.0.1 (doc/guide.md, Channels, issue 5): a locked,
// strict channel with an admin; channel text fanned out and archived once per member; a contact
// that is not a member hears nothing; the same roster and security code on every member; a removed
// member hears nothing more; an offline member catches up; rosters say who vouched for whom;
// refused changes change nothing.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/core/node.h"
#include "tests/support/channel_lab.h"
#include "tests/support/profile_node.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::channel_of;
using test::ChannelLab;
using test::count_system;
using test::count_text;
using test::describe;
using test::member_named;
using test::ProfileNode;
using test::wait_until;

// A Result that must be ok; its error message when it is not.
#define REQUIRE_OK(result)                             \
  do {                                                 \
    INFO(#result ": " << (result).status().message()); \
    REQUIRE((result).is_ok());                         \
  } while (0)
#define CHECK_OK(result)                               \
  do {                                                 \
    INFO(#result ": " << (result).status().message()); \
    CHECK((result).is_ok());                           \
  } while (0)

namespace {

// True when every node in `members` sees #ops in state "member" with exactly these members,
// the same epoch and the same security code as `reference`.
bool converged(const std::vector<ProfileNode*>& members, const core::ChannelInfo& reference) {
  for (ProfileNode* node : members) {
    auto seen = channel_of(*node, "ops");
    if (!seen || seen->state != core::ChannelState::kMember || seen->epoch != reference.epoch ||
        seen->security_code != reference.security_code ||
        test::member_fingerprints(*seen) != test::member_fingerprints(reference)) {
      return false;
    }
  }
  return true;
}

std::string describe_all(ChannelLab& lab) {
  std::string out;
  for (const auto& name : lab.names()) {
    out += name + ": " + describe(channel_of(lab[name], "ops")) + "\n";
  }
  return out;
}

// Every member's history of #ops holds each of `bodies` exactly once (as text).
bool everyone_has(const std::vector<ProfileNode*>& members,
                  const std::vector<std::string>& bodies) {
  for (ProfileNode* node : members) {
    auto history = node->history("#ops");
    for (const auto& body : bodies) {
      if (count_text(history, body) != 1) return false;
    }
  }
  return true;
}

// The audit events' bodies, one per line, for failure messages.
std::string audit_trail(const std::vector<core::MessageInfo>& history) {
  std::string out;
  for (const auto& m : test::system_events(history)) out += "\n  " + m.body;
  return out;
}

// The trust (and voucher) of the member named `name` on `channel`, "(absent)" when not there.
std::string trust_of(const std::optional<core::ChannelInfo>& channel, const std::string& name) {
  const core::ChannelMember* m = channel ? member_named(*channel, name) : nullptr;
  if (!m) return "(absent)";
  const std::string trust(core::to_string(m->trust));
  return m->vouched_by.empty() ? trust : trust + " by " + m->vouched_by;
}

bool is_bad_input(StatusCode code) {
  return code == StatusCode::kInvalidArgument || code == StatusCode::kNotFound ||
         code == StatusCode::kPermissionDenied || code == StatusCode::kUntrusted;
}

// A 1:1 text from `from` to `to`, waited for at `to`: what `from` queued for `to` before it has
// had the same link and the same time to arrive.
void fence(ProfileNode& from, ProfileNode& to, const std::string& text) {
  INFO("fence " << text);
  REQUIRE(from.node().add_contact(to.fingerprint()).is_ok());
  auto sent = from.node().send_text(to.fingerprint(), text);
  REQUIRE_OK(sent);
  REQUIRE(wait_until(
      [&] {
        auto all = to.history();
        return std::any_of(all.begin(), all.end(),
                           [&](const core::MessageInfo& m) { return m.body == text; });
      },
      5s));
}

// alice (admin) creates #ops with bob and carol, verified contacts of hers; returns once all
// three hold the same roster, which it returns.
core::ChannelInfo open_ops(ChannelLab& lab) {
  ProfileNode& alice = lab["alice"];
  REQUIRE(wait_until([&] { return lab.all_online(); }, 8s));
  lab.add_verified("alice", {"bob", "carol"});
  REQUIRE(alice.node().create_channel("ops").is_ok());
  REQUIRE(alice.node().invite_to_channel("ops", "bob").is_ok());
  auto invited = alice.node().invite_to_channel("ops", "carol");
  REQUIRE(invited.is_ok());
  for (const char* member : {"bob", "carol"}) lab.accept_invitation(member, "alice", "ops");
  INFO(describe_all(lab));
  REQUIRE(wait_until(
      [&] {
        return converged({&alice, &lab["bob"], &lab["carol"]}, invited.value());
      },
      8s));
  return invited.value();
}

}  // namespace

TEST_CASE(
    "four nodes: a channel's text reaches its members once each and no one else; after a "
    "removal the removed member hears nothing, the others go on under a new security code",
    "[channels][integration][security]") {
  ChannelLab lab({"alice", "bob", "carol", "dave"});
  ProfileNode& alice = lab["alice"];
  ProfileNode& bob = lab["bob"];
  ProfileNode& carol = lab["carol"];
  ProfileNode& dave = lab["dave"];
  REQUIRE(wait_until([&] { return lab.all_online(); }, 8s));
  lab.add_verified("alice", {"bob", "carol", "dave"});

  // Alice creates #ops: locked, strict, hers, with herself as the only member.
  auto created = alice.node().create_channel("ops");
  REQUIRE_OK(created);
  const core::ChannelInfo& fresh = created.value();
  CHECK(fresh.name == "ops");
  CHECK(fresh.id.size() == 32);
  CHECK(fresh.admin == alice.fingerprint());
  CHECK(fresh.admin_name == "alice");
  CHECK(fresh.locked);
  CHECK(fresh.strict);
  CHECK(fresh.state == core::ChannelState::kMember);
  CHECK(test::is_security_code(fresh.security_code));
  REQUIRE(fresh.members.size() == 1);
  CHECK(fresh.members.front().fingerprint == alice.fingerprint());
  CHECK(fresh.members.front().admin);
  CHECK(fresh.members.front().trust == core::MemberTrust::kMe);
  const std::string channel_id = fresh.id;

  auto with_bob = alice.node().invite_to_channel("ops", "bob");
  REQUIRE_OK(with_bob);
  CHECK(with_bob.value().members.size() == 2);
  CHECK(with_bob.value().epoch > fresh.epoch);
  CHECK(with_bob.value().security_code != fresh.security_code);
  auto with_carol = alice.node().invite_to_channel("#ops", "carol");  // '#' is optional
  REQUIRE_OK(with_carol);
  const core::ChannelInfo three = with_carol.value();
  REQUIRE(three.members.size() == 3);
  CHECK(three.epoch > with_bob.value().epoch);
  CHECK(test::is_security_code(three.security_code));
  CHECK(test::member_fingerprints(three) ==
        std::set<std::string>{alice.fingerprint(), bob.fingerprint(), carol.fingerprint()});

  for (const char* member : {"bob", "carol"}) lab.accept_invitation(member, "alice", "ops");

  // The same roster, epoch and security code on every member's screen.
  const std::vector<ProfileNode*> members = {&alice, &bob, &carol};
  {
    INFO(describe_all(lab));
    REQUIRE(wait_until([&] { return converged(members, three); }, 8s));
  }
  for (ProfileNode* node : members) {
    auto seen = channel_of(*node, "#ops");
    REQUIRE(seen);
    INFO(describe(seen));
    CHECK(seen->id == channel_id);
    CHECK(seen->name == "ops");
    CHECK(seen->admin == alice.fingerprint());
    CHECK(seen->admin_name == "alice");
    CHECK(seen->locked);
    CHECK(seen->strict);
    for (const auto& m : seen->members) {
      CHECK(m.admin == (m.fingerprint == alice.fingerprint()));
      CHECK((m.trust == core::MemberTrust::kMe) == (m.fingerprint == node->fingerprint()));
    }
    auto listed = node->node().channels();
    REQUIRE(listed.is_ok());
    REQUIRE(listed.value().size() == 1);
    CHECK(listed.value().front().id == channel_id);
  }
  // Alice verified both; on Bob's and Carol's rosters each other's key is vouched for by her.
  CHECK(trust_of(channel_of(alice, "ops"), "bob") == "verified");
  CHECK(trust_of(channel_of(alice, "ops"), "carol") == "verified");
  CHECK(trust_of(channel_of(carol, "ops"), "bob") == "vouched by alice");
  CHECK(trust_of(channel_of(bob, "ops"), "carol") == "vouched by alice");

  // Text from each member, without waiting in between.
  std::vector<std::string> before;
  for (int round = 1; round <= 2; ++round) {
    for (ProfileNode* node : members) {
      const std::string body = node == &alice ? "alice says " + std::to_string(round)
                               : node == &bob ? "bob says " + std::to_string(round)
                                              : "carol says " + std::to_string(round);
      auto sent = node->node().send_text("#ops", body);
      INFO(body << ": " << sent.status().message());
      REQUIRE(sent.is_ok());
      CHECK(sent.value().conversation == "#" + channel_id);
      CHECK(sent.value().channel == "ops");
      CHECK(sent.value().kind == core::MessageKind::kText);
      CHECK(sent.value().outgoing);
      before.push_back(body);
    }
  }
  {
    INFO(describe_all(lab));
    REQUIRE(wait_until([&] { return everyone_has(members, before); }, 10s));
  }
  // Archived once per member with one id everywhere; incoming ones name their sender.
  std::map<std::string, std::string> id_of;
  for (const auto& m : alice.history("#ops")) {
    if (m.kind == core::MessageKind::kText) id_of[m.body] = m.id;
  }
  for (ProfileNode* node : members) {
    auto history = node->history("#ops");
    CHECK(test::text_bodies(history).size() == before.size());
    for (const auto& m : history) {
      if (m.kind != core::MessageKind::kText) continue;
      INFO(m.body);
      CHECK(m.conversation == "#" + channel_id);
      CHECK(m.channel == "ops");
      CHECK(m.id == id_of[m.body]);
      const bool mine = m.body.rfind(node == &alice ? "alice"
                                     : node == &bob ? "bob"
                                                    : "carol",
                                     0) == 0;
      CHECK(m.outgoing == mine);
      if (!mine) {
        CHECK(m.state == core::MessageState::kReceived);
        CHECK(m.sender_name == m.body.substr(0, m.body.find(' ')));
      }
    }
  }
  // Receipts from every member turn each sender's texts delivered.
  for (ProfileNode* node : members) {
    CHECK(wait_until([&] { return test::outgoing_delivered(node->history("#ops"), 2); }, 5s));
  }

  // Dave, Alice's contact but no member, got none of it: nothing after a 1:1 fence either.
  fence(alice, dave, "dave's fence");
  CHECK(dave.node().channels().value().empty());
  CHECK_FALSE(dave.node().channel("ops").is_ok());
  for (const auto& m : dave.history()) {
    INFO(m.body);
    CHECK(m.channel.empty());
    CHECK(m.conversation.rfind('#', 0) != 0);
  }
  CHECK(dave.counter("group_messages_received") == 0);
  CHECK(dave.counter("group_dropped_not_member") == 0);  // nobody even sent him any

  // Alice removes Carol.
  const uint64_t carol_received = carol.counter("group_messages_received");
  auto removed = alice.node().remove_from_channel("ops", "carol");
  REQUIRE_OK(removed);
  const core::ChannelInfo two = removed.value();
  CHECK(test::member_fingerprints(two) ==
        std::set<std::string>{alice.fingerprint(), bob.fingerprint()});
  CHECK(two.epoch > three.epoch);
  CHECK(test::is_security_code(two.security_code));
  CHECK(two.security_code != three.security_code);
  {
    INFO(describe_all(lab));
    REQUIRE(wait_until([&] { return converged({&alice, &bob}, two); }, 8s));
    REQUIRE(wait_until(
        [&] {
          auto seen = channel_of(carol, "ops");
          return seen && seen->state == core::ChannelState::kRemoved;
        },
        8s));
  }
  // A removed member cannot write to the channel any more.
  auto refused = carol.node().send_text("#ops", "carol after removal");
  CHECK_FALSE(refused.is_ok());

  // Alice and Bob go on; Carol hears none of it.
  const std::vector<std::string> after = {"alice after 1", "bob after 1", "alice after 2",
                                          "bob after 2"};
  for (const auto& body : after) {
    ProfileNode& from = body.rfind("alice", 0) == 0 ? alice : bob;
    auto sent = from.node().send_text("#ops", body);
    INFO(body << ": " << sent.status().message());
    REQUIRE(sent.is_ok());
  }
  {
    INFO(describe_all(lab));
    REQUIRE(wait_until([&] { return everyone_has({&alice, &bob}, after); }, 10s));
  }
  for (ProfileNode* node : {&alice, &bob}) {
    CHECK(wait_until([&] { return test::outgoing_delivered(node->history("#ops"), 4); }, 5s));
  }
  fence(alice, carol, "carol's fence from alice");
  fence(bob, carol, "carol's fence from bob");
  auto at_carol = carol.history("#ops");
  for (const auto& body : after) CHECK(count_text(at_carol, body) == 0);
  CHECK(count_text(at_carol, "carol after removal") == 0);
  CHECK(test::text_bodies(at_carol).size() == before.size());  // what she had, no more
  for (const auto& body : before) CHECK(count_text(at_carol, body) == 1);
  CHECK(carol.counter("group_messages_received") == carol_received);
  CHECK(carol.counter("group_dropped_not_member") == 0);  // nobody even sent her any
  for (ProfileNode* node : {&alice, &bob}) {
    CHECK(count_text(node->history("#ops"), "carol after removal") == 0);
  }

  // The security code changed on Alice and Bob and is the same on both.
  auto code_at_alice = channel_of(alice, "ops");
  auto code_at_bob = channel_of(bob, "ops");
  REQUIRE(code_at_alice);
  REQUIRE(code_at_bob);
  CHECK(code_at_alice->security_code == code_at_bob->security_code);
  CHECK(code_at_alice->security_code != three.security_code);

  // The audit trail, on every member, naming the actor; each event once.
  {
    auto history = alice.history("#ops");
    INFO("alice's audit trail:" << audit_trail(history));
    CHECK(count_system(history, "created") == 1);
    CHECK(count_system(history, "invited bob") == 1);
    CHECK(count_system(history, "invited carol") == 1);
    CHECK(count_system(history, "removed carol") == 1);
  }
  {
    auto history = bob.history("#ops");
    INFO("bob's audit trail:" << audit_trail(history));
    CHECK(count_system(history, "created") == 1);
    CHECK(count_system(history, "invited carol") == 1);
    CHECK(count_system(history, "removed carol") == 1);
  }
  {
    auto history = carol.history("#ops");
    INFO("carol's audit trail:" << audit_trail(history));
    CHECK(count_system(history, "created") == 1);
    CHECK(count_system(history, "invited") >= 1);
    CHECK(count_system(history, "removed") <= 1);  // her own removal, if she was told
  }
  for (ProfileNode* node : members) {
    for (const auto& m : test::system_events(node->history("#ops"))) {
      INFO(m.body);
      const bool names_actor = m.body.find("alice") != std::string::npos ||
                               m.body.find("bob") != std::string::npos ||
                               m.body.find("carol") != std::string::npos;
      CHECK(names_actor);
      CHECK(m.channel == "ops");
      CHECK(m.conversation == "#" + channel_id);
    }
  }
  // The removal's audit event carries the new security code.
  for (ProfileNode* node : {&alice, &bob}) {
    auto history = node->history("#ops");
    for (const auto& m : test::system_events(history)) {
      if (m.body.find("removed carol") == std::string::npos) continue;
      INFO(m.body);
      CHECK(m.body.find(two.security_code) != std::string::npos);
    }
  }

  // Nothing was refused along the way: every change was correctly signed and current.
  for (const auto& name : lab.names()) {
    INFO(name);
    CHECK(lab[name].counter("channel_update_rejected") == 0);
  }
}

TEST_CASE(
    "a member offline while the channel talks gets every message when back, in order, "
    "exactly once",
    "[channels][integration][outbox]") {
  ChannelLab lab({"alice", "bob", "carol"});
  ProfileNode& alice = lab["alice"];
  ProfileNode& bob = lab["bob"];
  ProfileNode& carol = lab["carol"];
  const core::ChannelInfo invited = open_ops(lab);
  REQUIRE(alice.node().send_text("#ops", "before the outage").is_ok());
  REQUIRE(carol.node().send_text("#ops", "carol before the outage").is_ok());
  REQUIRE(wait_until(
      [&] {
        return everyone_has({&alice, &bob, &carol},
                            {"before the outage", "carol before the outage"});
      },
      8s));

  bob.stop();
  std::vector<std::string> from_alice, from_carol;
  for (int i = 0; i < 10; ++i) {
    from_alice.push_back("alice queued " + std::to_string(i));
    from_carol.push_back("carol queued " + std::to_string(i));
    auto a = alice.node().send_text("#ops", from_alice.back());
    REQUIRE_OK(a);
    auto c = carol.node().send_text("#ops", from_carol.back());
    REQUIRE_OK(c);
  }
  // The members still online are not held up by the one away.
  std::vector<std::string> queued = from_alice;
  queued.insert(queued.end(), from_carol.begin(), from_carol.end());
  REQUIRE(wait_until([&] { return everyone_has({&alice, &carol}, queued); }, 8s));
  auto waiting = alice.history("#ops");
  CHECK(std::none_of(waiting.begin(), waiting.end(), [](const core::MessageInfo& m) {
    return m.body.rfind("alice queued", 0) == 0 && m.state == core::MessageState::kDelivered;
  }));

  // Bob comes back on the same profile (and a new port).
  lab.start("bob");
  REQUIRE(wait_until([&] { return lab.all_online(); }, 8s));
  {
    INFO(describe_all(lab));
    REQUIRE(wait_until([&] { return everyone_has({&bob}, queued); }, 15s));
  }
  auto at_bob = bob.history("#ops");
  std::vector<std::string> alice_order, carol_order;
  for (const auto& m : at_bob) {
    if (m.kind != core::MessageKind::kText) continue;
    if (m.body.rfind("alice queued", 0) == 0) alice_order.push_back(m.body);
    if (m.body.rfind("carol queued", 0) == 0) carol_order.push_back(m.body);
  }
  CHECK(alice_order == from_alice);
  CHECK(carol_order == from_carol);
  CHECK(test::text_bodies(at_bob).size() == 2 + queued.size());
  CHECK(count_text(at_bob, "before the outage") == 1);
  auto roster = channel_of(bob, "ops");
  REQUIRE(roster);
  CHECK(roster->state == core::ChannelState::kMember);
  CHECK(roster->security_code == invited.security_code);

  // Every sender's texts turn delivered once Bob acknowledges them.
  CHECK(wait_until([&] { return test::outgoing_delivered(alice.history("#ops"), 11); }, 10s));
  CHECK(wait_until([&] { return test::outgoing_delivered(carol.history("#ops"), 11); }, 10s));

  // And the channel works both ways for Bob after his return.
  REQUIRE(bob.node().send_text("#ops", "bob is back").is_ok());
  CHECK(wait_until([&] { return everyone_has({&alice, &carol}, {"bob is back"}); }, 8s));
}

TEST_CASE(
    "a roster shows members a viewer has not verified as vouched by the admin, and as "
    "verified once the viewer confirms them",
    "[channels][integration]") {
  ChannelLab lab({"alice", "bob", "carol"});
  ProfileNode& alice = lab["alice"];
  ProfileNode& bob = lab["bob"];
  ProfileNode& carol = lab["carol"];
  const core::ChannelInfo invited = open_ops(lab);

  auto at_carol = channel_of(carol, "ops");
  INFO("carol: " << describe(at_carol));
  REQUIRE(at_carol);
  const core::ChannelMember* bob_at_carol = member_named(*at_carol, "bob");
  REQUIRE(bob_at_carol);
  CHECK(bob_at_carol->fingerprint == bob.fingerprint());
  CHECK(bob_at_carol->trust == core::MemberTrust::kVouched);
  CHECK(bob_at_carol->vouched_by == "alice");
  CHECK_FALSE(bob_at_carol->admin);
  const core::ChannelMember* carol_at_carol = member_named(*at_carol, "carol");
  REQUIRE(carol_at_carol);
  CHECK(carol_at_carol->trust == core::MemberTrust::kMe);
  const core::ChannelMember* alice_at_carol = member_named(*at_carol, "alice");
  REQUIRE(alice_at_carol);
  CHECK(alice_at_carol->admin);
  // Carol compared numbers with Alice before she accepted Alice's invitation (the admin is the
  // one member nobody vouches for: each member verifies the admin or accepts knowingly).
  CHECK(trust_of(at_carol, "alice") == "verified");

  // The identity keys on Carol's roster are the members' real keys (what Alice vouched for).
  std::map<std::string, Bytes> keys_at_alice;
  auto at_alice = channel_of(alice, "ops");
  REQUIRE(at_alice);
  INFO("alice: " << describe(at_alice));
  for (const auto& m : at_alice->members) keys_at_alice[m.fingerprint] = m.identity_key;
  for (const auto& m : at_carol->members) {
    CHECK_FALSE(m.identity_key.empty());
    CHECK(m.identity_key == keys_at_alice[m.fingerprint]);
  }
  CHECK(trust_of(at_alice, "bob") == "verified");
  CHECK(trust_of(at_alice, "carol") == "verified");
  CHECK(trust_of(at_alice, "alice") == "me");

  // Every member is online on everyone's roster.
  for (ProfileNode* node : {&alice, &bob, &carol}) {
    CHECK(wait_until(
        [&] {
          auto seen = channel_of(*node, "ops");
          return seen && std::all_of(seen->members.begin(), seen->members.end(),
                                     [](const core::ChannelMember& m) { return m.online; });
        },
        5s));
    auto seen = channel_of(*node, "ops");
    for (const auto& m : seen->members) CHECK_FALSE(m.on_air);
  }

  // Carol compares numbers with Bob herself: from then on he is verified on her roster.
  REQUIRE(carol.node().add_contact(bob.fingerprint()).is_ok());
  auto confirmed = carol.node().confirm_contact(bob.fingerprint());
  REQUIRE_OK(confirmed);
  auto after = channel_of(carol, "ops");
  REQUIRE(after);
  INFO("carol after: " << describe(after));
  CHECK(trust_of(after, "bob") == "verified");
  // Trust is the viewer's own matter: the roster, and so the code, did not change.
  CHECK(after->security_code == invited.security_code);
  CHECK(after->epoch == invited.epoch);
}

TEST_CASE(
    "refused channel changes say why and change nothing: unknown channel, duplicate name, "
    "non-contact, unverified contact in a strict channel, a member who is not the admin",
    "[channels][integration][security]") {
  ChannelLab lab({"alice", "bob", "carol", "dave"});
  ProfileNode& alice = lab["alice"];
  ProfileNode& bob = lab["bob"];
  ProfileNode& carol = lab["carol"];
  ProfileNode& dave = lab["dave"];
  REQUIRE(wait_until([&] { return lab.all_online(); }, 8s));
  lab.add_verified("alice", {"bob"});
  REQUIRE(alice.node().add_contact("carol").is_ok());  // a contact, not verified
  // Dave is online and seen, but no contact of Alice's.
  REQUIRE(alice.node().create_channel("ops").is_ok());
  auto invited = alice.node().invite_to_channel("ops", "bob");
  REQUIRE(invited.is_ok());
  lab.accept_invitation("bob", "alice", "ops");
  const core::ChannelInfo before = invited.value();
  REQUIRE(wait_until([&] { return converged({&alice, &bob}, before); }, 8s));
  // Bob has verified Carol himself, so only his not being the admin stands in his way.
  lab.add_verified("bob", {"carol"});
  const auto alice_history = alice.history("#ops");
  const auto bob_history = bob.history("#ops");

  struct Case {
    const char* what;
    std::function<Status()> call;
    std::optional<StatusCode> code;  // when one category is the only right one
  };
  const std::vector<Case> cases = {
      {"unknown channel (roster)", [&] { return alice.node().channel("nosuch").status(); },
       std::nullopt},
      {"unknown channel (invite)",
       [&] { return alice.node().invite_to_channel("nosuch", "bob").status(); }, std::nullopt},
      {"unknown channel (text)", [&] { return alice.node().send_text("#nosuch", "hi").status(); },
       std::nullopt},
      {"unknown channel (leave)", [&] { return alice.node().leave_channel("nosuch").status(); },
       std::nullopt},
      {"duplicate name", [&] { return alice.node().create_channel("ops").status(); }, std::nullopt},
      {"duplicate name with '#'", [&] { return alice.node().create_channel("#ops").status(); },
       std::nullopt},
      {"non-contact", [&] { return alice.node().invite_to_channel("ops", "dave").status(); },
       std::nullopt},
      {"unverified contact, strict channel",
       [&] { return alice.node().invite_to_channel("ops", "carol").status(); }, std::nullopt},
      {"non-admin invites", [&] { return bob.node().invite_to_channel("ops", "carol").status(); },
       StatusCode::kInvalidArgument},
      {"non-admin removes the admin",
       [&] {
         return bob.node().remove_from_channel("ops", alice.fingerprint().substr(0, 16)).status();
       },
       StatusCode::kInvalidArgument},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    Status status = c.call();
    INFO("status " << static_cast<int>(status.code()) << ": " << status.message());
    CHECK_FALSE(status.is_ok());
    CHECK(is_bad_input(status.code()));
    if (c.code) CHECK(status.code() == *c.code);
    CHECK_FALSE(status.message().empty());
  }

  // Inviting a member again or removing a non-member may be refused or be a no-op; either way
  // (checked below) the roster, the epoch and the code stay as they were.
  {
    auto again = alice.node().invite_to_channel("ops", "bob");
    INFO("invite bob again: " << again.status().message());
    if (again.is_ok()) CHECK(again.value().epoch == before.epoch);
    auto absent = alice.node().remove_from_channel("ops", "carol");
    INFO("remove carol, no member: " << absent.status().message());
    if (absent.is_ok()) CHECK(absent.value().epoch == before.epoch);
  }

  // Nothing changed, on either member; no channel appeared anywhere else.
  for (ProfileNode* node : {&alice, &bob}) {
    auto seen = channel_of(*node, "ops");
    REQUIRE(seen);
    INFO(describe(seen));
    CHECK(seen->epoch == before.epoch);
    CHECK(seen->security_code == before.security_code);
    CHECK(test::member_fingerprints(*seen) == test::member_fingerprints(before));
    CHECK(node->node().channels().value().size() == 1);
  }
  CHECK(alice.history("#ops").size() == alice_history.size());
  CHECK(bob.history("#ops").size() == bob_history.size());
  CHECK(carol.node().channels().value().empty());
  CHECK(dave.node().channels().value().empty());

  // An open channel takes an unverified contact (but still no stranger).
  auto open = alice.node().create_channel("lobby", /*strict=*/false);
  REQUIRE_OK(open);
  CHECK_FALSE(open.value().strict);
  auto carol_in = alice.node().invite_to_channel("lobby", "carol");
  CHECK_OK(carol_in);
  auto stranger = alice.node().invite_to_channel("lobby", "dave");
  CHECK_FALSE(stranger.is_ok());
  CHECK(is_bad_input(stranger.status().code()));
}
