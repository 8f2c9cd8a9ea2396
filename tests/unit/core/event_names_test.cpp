// The spellings of the event enums are a contract: the JSON, the control socket, the wire's
// roster change and the CLI's output carry them, and scripts read them. Each list below is the
// complete set of values, in declaration order, as they were spelt when they were strings.
#include <catch2/catch.hpp>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "sotto/core/events.h"
#include "sotto/core/json.h"

using namespace sotto;

namespace {

template <typename E>
using Spellings = std::vector<std::pair<E, std::string_view>>;

// Every value names itself and parses back; the value after the last has no name (so the list
// is complete); parse refuses what is not a spelling, however close.
template <typename E>
void check_spellings(const Spellings<E>& spellings,
                     std::optional<E> (*parse)(std::string_view name)) {
  for (size_t i = 0; i < spellings.size(); ++i) {
    const auto& [value, name] = spellings[i];
    INFO(name);
    CHECK(static_cast<size_t>(value) == i);
    CHECK(core::to_string(value) == name);
    CHECK(parse(name) == value);
    const std::string shouted(name.size(), 'X');
    CHECK_FALSE(parse(shouted));
    CHECK_FALSE(parse(std::string(name) + " "));
  }
  CHECK(core::to_string(static_cast<E>(spellings.size())) == "unknown");
  CHECK_FALSE(parse("unknown"));
  CHECK_FALSE(parse(""));
  CHECK_FALSE(parse("bogus"));
}

}  // namespace

TEST_CASE("contact trust: verified and unverified, nothing else", "[core][names]") {
  check_spellings<core::Trust>(
      {{core::Trust::kUnverified, "unverified"}, {core::Trust::kVerified, "verified"}},
      core::parse_trust);
}

TEST_CASE("message kinds: text, system, voice", "[core][names]") {
  check_spellings<core::MessageKind>({{core::MessageKind::kText, "text"},
                                      {core::MessageKind::kSystem, "system"},
                                      {core::MessageKind::kVoice, "voice"}},
                                     core::parse_message_kind);
}

TEST_CASE("message states: pending, sent, delivered, received, at mailbox", "[core][names]") {
  check_spellings<core::MessageState>({{core::MessageState::kPending, "pending"},
                                       {core::MessageState::kSent, "sent"},
                                       {core::MessageState::kDelivered, "delivered"},
                                       {core::MessageState::kReceived, "received"},
                                       {core::MessageState::kAtMailbox, "at_mailbox"}},
                                      core::parse_message_state);
}

TEST_CASE("channel member trust: me, verified, vouched, unverified", "[core][names]") {
  check_spellings<core::MemberTrust>({{core::MemberTrust::kMe, "me"},
                                      {core::MemberTrust::kVerified, "verified"},
                                      {core::MemberTrust::kVouched, "vouched"},
                                      {core::MemberTrust::kUnverified, "unverified"}},
                                     core::parse_member_trust);
}

TEST_CASE("channel states: member, removed, left, dissolved, invited", "[core][names]") {
  check_spellings<core::ChannelState>({{core::ChannelState::kMember, "member"},
                                       {core::ChannelState::kRemoved, "removed"},
                                       {core::ChannelState::kLeft, "left"},
                                       {core::ChannelState::kDissolved, "dissolved"},
                                       {core::ChannelState::kInvited, "invited"}},
                                      core::parse_channel_state);
}

TEST_CASE("voice phases: started, ended, refused, interrupted, dropped, delivered",
          "[core][names]") {
  check_spellings<core::VoicePhase>({{core::VoicePhase::kStarted, "started"},
                                     {core::VoicePhase::kEnded, "ended"},
                                     {core::VoicePhase::kRefused, "refused"},
                                     {core::VoicePhase::kInterrupted, "interrupted"},
                                     {core::VoicePhase::kDropped, "dropped"},
                                     {core::VoicePhase::kDelivered, "delivered"}},
                                    core::parse_voice_phase);
}

TEST_CASE("channel changes: the audit trail's eleven words", "[core][names]") {
  check_spellings<core::ChannelChange>({{core::ChannelChange::kCreated, "created"},
                                        {core::ChannelChange::kInvited, "invited"},
                                        {core::ChannelChange::kJoined, "joined"},
                                        {core::ChannelChange::kRemoved, "removed"},
                                        {core::ChannelChange::kLeft, "left"},
                                        {core::ChannelChange::kDissolved, "dissolved"},
                                        {core::ChannelChange::kRotated, "rotated"},
                                        {core::ChannelChange::kDeclined, "declined"},
                                        {core::ChannelChange::kInvitation, "invitation"},
                                        {core::ChannelChange::kExpiry, "expiry"},
                                        {core::ChannelChange::kChanged, "changed"}},
                                       core::parse_channel_change);
}

TEST_CASE("contact changes: added, verified, replaced", "[core][names]") {
  check_spellings<core::ContactChange>({{core::ContactChange::kAdded, "added"},
                                        {core::ContactChange::kVerified, "verified"},
                                        {core::ContactChange::kReplaced, "replaced"}},
                                       core::parse_contact_change);
}

TEST_CASE("alert kinds: storage, untrusted identity, invitation, mailbox full/refused/expired",
          "[core][names]") {
  check_spellings<core::AlertKind>({{core::AlertKind::kStorageFull, "storage-full"},
                                    {core::AlertKind::kStorageRecovered, "storage-recovered"},
                                    {core::AlertKind::kUntrustedIdentity, "untrusted-identity"},
                                    {core::AlertKind::kChannelInvitation, "channel-invitation"},
                                    {core::AlertKind::kMailboxFull, "mailbox-full"},
                                    {core::AlertKind::kMailboxRefused, "mailbox-refused"},
                                    {core::AlertKind::kMailboxExpired, "mailbox-expired"}},
                                   core::parse_alert_kind);
}

TEST_CASE("the JSON of events and their objects carries the spellings", "[core][names]") {
  core::MessageInfo message;
  message.kind = core::MessageKind::kVoice;
  message.state = core::MessageState::kPending;
  message.trust = core::Trust::kVerified;
  const auto message_json = core::message_object(message);
  CHECK(message_json["kind"] == "voice");
  CHECK(message_json["state"] == "pending");
  CHECK(message_json["trust"] == "verified");

  core::ChannelEvent changed;
  changed.change = core::ChannelChange::kInvitation;
  changed.channel.state = core::ChannelState::kInvited;
  core::ChannelMember member;
  member.trust = core::MemberTrust::kVouched;
  changed.channel.members.push_back(member);
  const auto channel_json = core::event_object(core::Event{0, changed, {}});
  CHECK(channel_json["change"] == "invitation");
  CHECK(channel_json["channel"]["state"] == "invited");
  CHECK(channel_json["channel"]["members"][0]["trust"] == "vouched");

  core::VoiceEvent voice;
  voice.phase = core::VoicePhase::kDelivered;
  CHECK(core::event_object(core::Event{0, voice, {}})["phase"] == "delivered");
  const core::ReceiptEvent receipt{"c", "id", core::MessageState::kDelivered};
  CHECK(core::event_object(core::Event{0, receipt, {}})["state"] == "delivered");
  const core::ContactEvent contact{{}, core::ContactChange::kReplaced};
  CHECK(core::event_object(core::Event{0, contact, {}})["change"] == "replaced");
  const core::AlertEvent alert{core::AlertKind::kUntrustedIdentity, "refused"};
  CHECK(core::event_object(core::Event{0, alert, {}})["kind"] == "untrusted-identity");
}
