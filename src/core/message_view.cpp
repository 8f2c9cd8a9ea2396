#include "src/core/message_view.h"

namespace sotto::core {
namespace {

MessageState state_of(storage::MessageState state) {
  switch (state) {
    case storage::MessageState::kPending:
      return MessageState::kPending;
    case storage::MessageState::kSent:
      return MessageState::kSent;
    case storage::MessageState::kDelivered:
      return MessageState::kDelivered;
    case storage::MessageState::kReceived:
      return MessageState::kReceived;
    case storage::MessageState::kAtMailbox:
      return MessageState::kAtMailbox;
  }
  return MessageState::kReceived;
}

// Control rows (storage::MessageKind::kControl) are never shown as such: they read as text.
MessageKind kind_of(storage::MessageKind kind) {
  switch (kind) {
    case storage::MessageKind::kSystem:
      return MessageKind::kSystem;
    case storage::MessageKind::kVoice:
      return MessageKind::kVoice;
    case storage::MessageKind::kText:
    case storage::MessageKind::kControl:
      return MessageKind::kText;
  }
  return MessageKind::kText;
}

}  // namespace

Trust trust_of(storage::Trust trust) {
  return trust == storage::Trust::kVerified ? Trust::kVerified : Trust::kUnverified;
}

MessageInfo message_info(const storage::MessageRecord& record, const std::string& sender_name,
                         Trust trust, const std::string& channel_name) {
  MessageInfo info;
  info.id = to_hex(record.message_id);
  info.conversation = record.conversation;
  info.channel = channel_name;
  info.kind = kind_of(record.kind);
  info.sender = record.sender;
  info.sender_name = sender_name;
  info.outgoing = record.outgoing;
  info.body = record.body;
  info.sent_at = record.sent_at;
  info.received_at = record.received_at;
  info.state = state_of(record.state);
  info.trust = trust;
  return info;
}

}  // namespace sotto::core
