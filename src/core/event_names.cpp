// The spellings of the event enums (events.h): what JSON, the wire and the CLI show. They are a
// contract (the acceptance tests and scripts read them); tests/unit/core/event_names_test.cpp
// pins each one.
#include "sotto/core/events.h"

namespace sotto::core {
namespace {

constexpr std::string_view kUnknown = "unknown";

// REQUIRES: E counts from 0 without gaps and its to_string names every value (the switches
// below, which the compiler checks for a missing case), so walking upwards meets each value
// once and stops at the first unnamed one.
template <typename E>
std::optional<E> parse_named(std::string_view name) {
  for (int i = 0;; ++i) {
    const E value = static_cast<E>(i);
    const std::string_view known = to_string(value);
    if (known == kUnknown) return std::nullopt;
    if (known == name) return value;
  }
}

}  // namespace

std::string_view to_string(Trust trust) {
  switch (trust) {
    case Trust::kUnverified:
      return "unverified";
    case Trust::kVerified:
      return "verified";
  }
  return kUnknown;
}

std::optional<Trust> parse_trust(std::string_view name) {
  return parse_named<Trust>(name);
}

std::string_view to_string(MessageKind kind) {
  switch (kind) {
    case MessageKind::kText:
      return "text";
    case MessageKind::kSystem:
      return "system";
    case MessageKind::kVoice:
      return "voice";
  }
  return kUnknown;
}

std::optional<MessageKind> parse_message_kind(std::string_view name) {
  return parse_named<MessageKind>(name);
}

std::string_view to_string(MessageState state) {
  switch (state) {
    case MessageState::kPending:
      return "pending";
    case MessageState::kSent:
      return "sent";
    case MessageState::kDelivered:
      return "delivered";
    case MessageState::kReceived:
      return "received";
    case MessageState::kAtMailbox:
      return "at_mailbox";
  }
  return kUnknown;
}

std::optional<MessageState> parse_message_state(std::string_view name) {
  return parse_named<MessageState>(name);
}

std::string_view to_string(MemberTrust trust) {
  switch (trust) {
    case MemberTrust::kMe:
      return "me";
    case MemberTrust::kVerified:
      return "verified";
    case MemberTrust::kVouched:
      return "vouched";
    case MemberTrust::kUnverified:
      return "unverified";
  }
  return kUnknown;
}

std::optional<MemberTrust> parse_member_trust(std::string_view name) {
  return parse_named<MemberTrust>(name);
}

std::string_view to_string(ChannelState state) {
  switch (state) {
    case ChannelState::kMember:
      return "member";
    case ChannelState::kRemoved:
      return "removed";
    case ChannelState::kLeft:
      return "left";
    case ChannelState::kDissolved:
      return "dissolved";
    case ChannelState::kInvited:
      return "invited";
  }
  return kUnknown;
}

std::optional<ChannelState> parse_channel_state(std::string_view name) {
  return parse_named<ChannelState>(name);
}

std::string_view to_string(VoicePhase phase) {
  switch (phase) {
    case VoicePhase::kStarted:
      return "started";
    case VoicePhase::kEnded:
      return "ended";
    case VoicePhase::kRefused:
      return "refused";
    case VoicePhase::kInterrupted:
      return "interrupted";
    case VoicePhase::kDropped:
      return "dropped";
    case VoicePhase::kDelivered:
      return "delivered";
  }
  return kUnknown;
}

std::optional<VoicePhase> parse_voice_phase(std::string_view name) {
  return parse_named<VoicePhase>(name);
}

std::string_view to_string(ChannelChange change) {
  switch (change) {
    case ChannelChange::kCreated:
      return "created";
    case ChannelChange::kInvited:
      return "invited";
    case ChannelChange::kJoined:
      return "joined";
    case ChannelChange::kRemoved:
      return "removed";
    case ChannelChange::kLeft:
      return "left";
    case ChannelChange::kDissolved:
      return "dissolved";
    case ChannelChange::kRotated:
      return "rotated";
    case ChannelChange::kDeclined:
      return "declined";
    case ChannelChange::kInvitation:
      return "invitation";
    case ChannelChange::kExpiry:
      return "expiry";
    case ChannelChange::kChanged:
      return "changed";
  }
  return kUnknown;
}

std::optional<ChannelChange> parse_channel_change(std::string_view name) {
  return parse_named<ChannelChange>(name);
}

std::string_view to_string(ContactChange change) {
  switch (change) {
    case ContactChange::kAdded:
      return "added";
    case ContactChange::kVerified:
      return "verified";
    case ContactChange::kReplaced:
      return "replaced";
  }
  return kUnknown;
}

std::optional<ContactChange> parse_contact_change(std::string_view name) {
  return parse_named<ContactChange>(name);
}

std::string_view to_string(AlertKind kind) {
  switch (kind) {
    case AlertKind::kStorageFull:
      return "storage-full";
    case AlertKind::kStorageRecovered:
      return "storage-recovered";
    case AlertKind::kUntrustedIdentity:
      return "untrusted-identity";
    case AlertKind::kMailboxFull:
      return "mailbox-full";
    case AlertKind::kMailboxRefused:
      return "mailbox-refused";
    case AlertKind::kMailboxExpired:
      return "mailbox-expired";
    case AlertKind::kChannelInvitation:
      return "channel-invitation";
  }
  return kUnknown;
}

std::optional<AlertKind> parse_alert_kind(std::string_view name) {
  return parse_named<AlertKind>(name);
}

}  // namespace sotto::core
