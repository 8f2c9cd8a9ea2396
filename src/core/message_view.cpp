#include "src/core/message_view.h"

namespace sotto::core {
namespace {

std::string state_name(storage::MessageState state) {
  switch (state) {
    case storage::MessageState::kPending:
      return "pending";
    case storage::MessageState::kSent:
      return "sent";
    case storage::MessageState::kDelivered:
      return "delivered";
    case storage::MessageState::kReceived:
      return "received";
  }
  return "unknown";
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
  info.kind = record.kind == storage::MessageKind::kSystem  ? "system"
              : record.kind == storage::MessageKind::kVoice ? "voice"
                                                            : "text";
  info.sender = record.sender;
  info.sender_name = sender_name;
  info.outgoing = record.outgoing;
  info.body = record.body;
  info.sent_at = record.sent_at;
  info.received_at = record.received_at;
  info.state = state_name(record.state);
  info.trust = trust;
  return info;
}

}  // namespace sotto::core
