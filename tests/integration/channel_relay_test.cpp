// Members relay channel traffic (doc/guide.md, Shift change; issue 24): a member who was away gets
// what was said from any co-member online, in its author's order, exactly once, each message
// checked as its author's; the author, back, finds its outbox empty without sending anything
// twice.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "sotto/core/node.h"
#include "tests/support/channel_lab.h"
#include "tests/support/profile_node.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::ChannelLab;
using test::count_text;
using test::ProfileNode;
using test::wait_until;

namespace {

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + " " + std::to_string(i));
  return out;
}

// The texts of `history` that start with `prefix`, in the history's order.
std::vector<std::string> texts_with(const std::vector<core::MessageInfo>& history,
                                    const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& m : history) {
    if (m.kind == core::MessageKind::kText && m.body.rfind(prefix, 0) == 0) out.push_back(m.body);
  }
  return out;
}

}  // namespace

TEST_CASE("channel relay: a member away catches up from another member while the author is away",
          "[channel][relay]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  ChannelLab lab({"alice", "bob", "carol"});
  test::open_channel(lab, "alice", "ops", {"bob", "carol"}, false);
  ProfileNode& alice = lab["alice"];
  ProfileNode& bob = lab["bob"];
  ProfileNode& carol = lab["carol"];

  carol.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(carol.fingerprint()); }, 10s));
  const auto texts = numbered("shift note", 200);
  for (size_t i = 0; i < 100; ++i) REQUIRE(alice.node().send_text("#ops", texts[i]).is_ok());
  // One push-to-talk clip in the middle: bob hears it live; carol gets it from bob later.
  test::TempDir dir;
  const std::string wav = dir / "speech.wav";
  test::write_speech(wav, test::alsa_speech({"Front_Center"}));
  auto clip = alice.node().talk("#ops", wav);
  REQUIRE(clip.is_ok());
  for (size_t i = 100; i < 200; ++i) REQUIRE(alice.node().send_text("#ops", texts[i]).is_ok());
  REQUIRE(
      wait_until([&] { return texts_with(bob.history("#ops"), "shift note").size() == 200; }, 20s));
  auto has_clip = [&](ProfileNode& node) {
    auto history = node.history("#ops");
    return std::count_if(history.begin(), history.end(), [&](const core::MessageInfo& m) {
      return m.kind == core::MessageKind::kVoice && m.id == clip.value().id;
    });
  };
  REQUIRE(wait_until([&] { return has_clip(bob) == 1; }, 10s));
  alice.stop();

  lab.start("carol");
  INFO("carol: relay_copies_archived " << carol.counter("relay_copies_archived")
                                       << ", relay_dropped_order "
                                       << carol.counter("relay_dropped_order"));
  REQUIRE(wait_until([&] { return texts_with(carol.history("#ops"), "shift note").size() >= 200; },
                     30s));
  const auto history = carol.history("#ops");
  // In alice's order, each once, and credited to alice, with bob named as the relay.
  CHECK(texts_with(history, "shift note") == texts);
  size_t relayed_by_bob = 0;
  for (const auto& m : history) {
    if (m.body.rfind("shift note", 0) != 0) continue;
    CHECK(m.sender == alice.fingerprint());
    if (m.relayed_by == bob.fingerprint()) ++relayed_by_bob;
  }
  CHECK(relayed_by_bob == 200);
  // The clip too, between the 100th and the 101st text, checked against alice's signature.
  REQUIRE(wait_until([&] { return has_clip(carol) == 1; }, 10s));
  std::vector<std::string> order;
  for (const auto& m : history) {
    if (m.kind == core::MessageKind::kVoice) order.push_back("clip");
    if (m.body == texts[99] || m.body == texts[100]) order.push_back(m.body);
  }
  CHECK(order == std::vector<std::string>{texts[99], "clip", texts[100]});
  auto played = carol.node().play(clip.value().id, dir / "carol.wav");
  REQUIRE(played.is_ok());
  CHECK(played.value().signature_valid);
  CHECK(carol.counter("relay_copies_archived") == 201);
  CHECK(carol.counter("relay_dropped_invalid") == 0);

  // alice returns: carol's marks empty her outbox for carol, and nothing goes to carol twice.
  const uint64_t duplicates_before = carol.counter("message_duplicates");
  const uint64_t received_before = carol.counter("group_messages_received");
  lab.start("alice");
  auto undelivered = [&] {
    std::string out;
    for (const auto& m : alice.history("#ops")) {
      if (m.outgoing && m.kind == core::MessageKind::kText &&
          m.state != core::MessageState::kDelivered) {
        out += m.body + "; ";
      }
    }
    return out + " relay_acknowledged " + std::to_string(alice.counter("relay_acknowledged")) +
           " outbox_waiting " + std::to_string(alice.counter("outbox_waiting")) + " syncs sent " +
           std::to_string(alice.counter("relay_syncs_sent")) + " received " +
           std::to_string(alice.counter("relay_syncs_received")) + " timeouts " +
           std::to_string(alice.counter("relay_sync_timeouts"));
  };
  INFO(undelivered());
  REQUIRE(wait_until(
      [&] {
        auto mine = alice.history("#ops");
        return std::all_of(mine.begin(), mine.end(), [](const core::MessageInfo& m) {
          return !m.outgoing || m.kind != core::MessageKind::kText ||
                 m.state == core::MessageState::kDelivered;
        });
      },
      15s));
  CHECK(alice.counter("relay_acknowledged") >= 200);
  CHECK(alice.counter("outbox_waiting") == 0);
  // A text alice sends now goes to carol on the one link it shares with whatever alice would
  // still resend, after it: once carol has it, any resend has arrived too.
  REQUIRE(alice.node().send_text("#ops", "end of shift").is_ok());
  REQUIRE(wait_until([&] { return count_text(carol.history("#ops"), "end of shift") == 1; }, 10s));
  CHECK(carol.counter("message_duplicates") == duplicates_before);
  CHECK(carol.counter("group_messages_received") == received_before + 1);
  CHECK(count_text(carol.history("#ops"), texts.front()) == 1);
}

TEST_CASE("channel relay: a sender key begun while a member was away reaches it from a co-member",
          "[channel][relay]") {
  ChannelLab lab({"alice", "bob", "carol"});
  test::open_channel(lab, "alice", "ops", {"bob", "carol"}, false);
  ProfileNode& alice = lab["alice"];
  ProfileNode& bob = lab["bob"];
  ProfileNode& carol = lab["carol"];

  carol.stop();
  // Past kRotateAfterMessages: alice's texts after the thousandth are under a key carol never
  // got from alice herself.
  const auto texts = numbered("long shift", 1100);
  std::vector<std::future<Result<core::MessageInfo>>> sends;
  for (const auto& text : texts) sends.push_back(alice.node().send_text_async("#ops", text));
  for (auto& sent : sends) REQUIRE(sent.get().is_ok());
  REQUIRE(wait_until([&] { return texts_with(bob.history("#ops"), "long shift").size() == 1100; },
                     30s));
  alice.stop();

  lab.start("carol");
  const bool caught_up = wait_until(
      [&] { return texts_with(carol.history("#ops"), "long shift").size() >= 1100; }, 30s);
  std::string counters;
  for (const char* c : {"relay_copies_archived", "relay_dropped_no_key", "relay_dropped_order",
                        "relay_dropped_invalid", "relay_keys_received", "relay_keys_known",
                        "relay_key_dropped", "relay_syncs_sent", "relay_syncs_received"}) {
    counters += std::string(c) + " " + std::to_string(carol.counter(c)) + "/" +
                std::to_string(bob.counter(c)) + " ";
  }
  counters += "sent " + std::to_string(bob.counter("relay_copies_sent")) + " keys sent " +
              std::to_string(bob.counter("relay_keys_sent"));
  INFO("carol/bob: " << counters);
  REQUIRE(caught_up);
  CHECK(texts_with(carol.history("#ops"), "long shift") == texts);
  CHECK(carol.counter("relay_keys_received") >= 1);
  CHECK(carol.counter("relay_key_dropped") == 0);
}

TEST_CASE("channel relay: a co-member with no marks yet answers the ask, so the outbox waits not",
          "[channel][relay]") {
  // Nobody has spoken in #ops: carol holds no marks, alice none of her own. Alice's 1:1 text for
  // carol waits in her outbox for carol's marks when carol returns; an empty answer must release
  // it at once, not after kSyncWaitMs.
  ChannelLab lab({"alice", "carol"});
  ProfileNode& alice = lab["alice"];
  ProfileNode& carol = lab["carol"];
  REQUIRE(wait_until([&] { return lab.all_online(); }, 8s));
  lab.add_verified("alice", {"carol"});
  REQUIRE(alice.node().create_channel("ops").is_ok());
  REQUIRE(alice.node().invite_to_channel("ops", "carol").is_ok());
  lab.accept_invitation("carol", "alice", "ops");
  carol.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(carol.fingerprint()); }, 10s));
  auto sent = alice.node().send_text(carol.fingerprint(), "while you were out");
  REQUIRE(sent.is_ok());
  lab.start("carol");
  REQUIRE(wait_until(
      [&] { return test::count_text(carol.history(alice.fingerprint()), "while you were out"); },
      10s));
  CHECK(alice.counter("relay_syncs_received") >= 1);
  CHECK(alice.counter("relay_sync_timeouts") == 0);
}
