#include "sotto/core/json.h"

namespace sotto::core {

using nlohmann::json;

json peer_object(const PeerInfo& peer) {
  return json{{"fingerprint", peer.fingerprint},
              {"name", peer.name},
              {"endpoint", peer.endpoint},
              {"state", std::string(net::to_string(peer.state))},
              {"identity_key", to_hex(peer.identity_key)},
              {"transport_key", to_z85(peer.transport_key)},
              {"configured", peer.configured},
              {"silent_ms", peer.silent_ms}};
}

json mailbox_object(const MailboxInfo& info) {
  json out = json::object();
  if (info.mailbox.empty()) {
    out["mailbox"] = nullptr;
  } else {
    json mine{{"fingerprint", info.mailbox},
              {"name", info.name},
              {"endpoint", info.endpoint},
              {"state", info.state},
              {"online", info.online}};
    if (!info.reason.empty()) mine["reason"] = info.reason;
    if (info.held >= 0) mine["held"] = info.held;
    if (info.quota_bytes > 0) mine["quota_bytes"] = info.quota_bytes;
    out["mailbox"] = std::move(mine);
  }
  out["serving"] = info.serving;
  if (info.serving) {
    out["quota_bytes"] = info.limits.quota_bytes;
    out["max_users"] = info.limits.max_users;
    json users = json::array();
    for (const MailboxUser& u : info.users) {
      users.push_back(json{{"fingerprint", u.fingerprint},
                           {"name", u.name},
                           {"held", u.held},
                           {"held_bytes", u.held_bytes},
                           {"senders", u.senders}});
    }
    out["users"] = std::move(users);
  }
  return out;
}

json contact_object(const ContactInfo& contact) {
  json out{{"fingerprint", contact.fingerprint},
           {"name", contact.name},
           {"identity_key", to_hex(contact.identity_key)},
           {"trust", std::string(to_string(contact.trust))},
           {"online", contact.online}};
  if (!contact.namesake_of.empty()) out["namesake_of"] = contact.namesake_of;
  return out;
}

json message_object(const MessageInfo& m) {
  json out{{"id", m.id},
           {"conversation", m.conversation},
           {"kind", std::string(to_string(m.kind))},
           {"sender", m.sender},
           {"sender_name", m.sender_name},
           {"outgoing", m.outgoing},
           {"body", m.body},
           {"time", m.sent_at},
           {"received_at", m.received_at},
           {"state", std::string(to_string(m.state))},
           {"trust", std::string(to_string(m.trust))}};
  if (!m.channel.empty()) out["channel"] = m.channel;
  if (!m.relayed_by.empty()) out["relayed_by"] = m.relayed_by;
  return out;
}

json voice_object(const VoiceStats& v) {
  json out{{"id", v.id},
           {"channel", v.channel},
           {"talker", v.talker},
           {"talker_name", v.talker_name},
           {"outgoing", v.outgoing},
           {"frame_ms", v.frame_ms},
           {"frames_sent", v.frames_sent},
           {"frames_received", v.frames_received},
           {"frames_lost", v.frames_lost},
           {"frames_concealed", v.frames_concealed},
           {"frames_dropped", v.frames_dropped},
           {"delay_p50_ms", v.delay_p50_ms},
           {"delay_max_ms", v.delay_max_ms},
           {"started_at_ms", v.started_at_ms},
           {"duration_ms", v.duration_ms},
           {"archived", v.archived}};
  if (!v.wav.empty()) out["wav"] = v.wav;
  return out;
}

json channel_object(const ChannelInfo& c) {
  json members = json::array();
  for (const auto& m : c.members) {
    json member{{"fingerprint", m.fingerprint},
                {"name", m.name},
                {"identity_key", to_hex(m.identity_key)},
                {"admin", m.admin},
                {"online", m.online},
                {"on_air", m.on_air},
                {"trust", std::string(to_string(m.trust))}};
    if (!m.vouched_by.empty()) member["vouched_by"] = m.vouched_by;
    if (m.waiting_for_key) member["waiting_for_key"] = true;
    members.push_back(std::move(member));
  }
  json voice = json::array();
  for (const auto& v : c.voice) voice.push_back(voice_object(v));
  return json{{"id", c.id},
              {"name", c.name},
              {"admin", c.admin},
              {"admin_name", c.admin_name},
              {"epoch", c.epoch},
              {"locked", c.locked},
              {"strict", c.strict},
              {"free_voice", c.free_voice},
              {"expire_ms", c.expire_ms},
              {"security_code", c.security_code},
              {"state", std::string(to_string(c.state))},
              {"members", members},
              {"voice", voice}};
}

json event_object(const Event& event) {
  json out{{"at_ms", event.at_ms}};
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, PeerEvent>) {
          out["event"] = "peer";
          out["peer"] = peer_object(body.peer);
        } else if constexpr (std::is_same_v<T, MessageEvent>) {
          out["event"] = "message";
          out["message"] = message_object(body.message);
        } else if constexpr (std::is_same_v<T, ReceiptEvent>) {
          out["event"] = "receipt";
          out["conversation"] = body.conversation;
          out["id"] = body.id;
          out["state"] = std::string(to_string(body.state));
        } else if constexpr (std::is_same_v<T, ContactEvent>) {
          out["event"] = "contact";
          out["change"] = std::string(to_string(body.change));
          out["contact"] = contact_object(body.contact);
        } else if constexpr (std::is_same_v<T, ChannelEvent>) {
          out["event"] = "channel";
          out["change"] = std::string(to_string(body.change));
          out["actor"] = body.actor;
          out["subject"] = body.subject;
          out["channel"] = channel_object(body.channel);
        } else if constexpr (std::is_same_v<T, VoiceEvent>) {
          out["event"] = "voice";
          out["phase"] = std::string(to_string(body.phase));
          out["voice"] = voice_object(body.voice);
        } else if constexpr (std::is_same_v<T, AlertEvent>) {
          out["event"] = "alert";
          out["kind"] = std::string(to_string(body.kind));
          out["message"] = body.message;
        }
      },
      event.body);
  return out;
}

json played_object(const PlayedClip& p) {
  json out{{"message", message_object(p.message)},
           {"signature_valid", p.signature_valid},
           {"frames", p.frames},
           {"duration_ms", p.duration_ms}};
  if (!p.ogg.empty()) {
    out["ogg"] = p.ogg;
  } else {
    out["wav"] = p.wav;
  }
  return out;
}

json search_hit_object(const SearchHit& hit) {
  json out = message_object(hit.message);
  out["conversation_name"] = hit.conversation_name;
  out["snippet"] = hit.snippet;
  return out;
}

json export_summary_object(const ExportSummary& summary) {
  json out{
      {"file", summary.file}, {"messages", summary.messages}, {"voice_clips", summary.voice_clips}};
  if (!summary.voice_dir.empty()) out["voice_dir"] = summary.voice_dir;
  return out;
}

json export_progress_object(const ExportProgress& progress) {
  return json{{"messages", progress.messages},
              {"voice_clips", progress.voice_clips},
              {"fraction", progress.fraction}};
}

json error_object(const Status& status) {
  return json{{"ok", false},
              {"error", status.message()},
              {"code", std::string(status_code_name(status.code()))}};
}

std::string to_text(const json& object) {
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sotto::core
