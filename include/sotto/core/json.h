// The JSON shapes of the node's data, shared by the control socket and the CLI, so that a reply
// from a running node and the same data read offline look alike. Field names are part of the
// CLI contract (man/sotto.1).
// Thread-safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sotto/base/status.h"

#include "sotto/core/archive.h"
#include "sotto/core/events.h"
#include "sotto/core/mailbox.h"

namespace sotto::core {

nlohmann::json peer_object(const PeerInfo& peer);
nlohmann::json contact_object(const ContactInfo& contact);
nlohmann::json message_object(const MessageInfo& message);
nlohmann::json voice_object(const VoiceStats& voice);
nlohmann::json channel_object(const ChannelInfo& channel);
nlohmann::json event_object(const Event& event);
nlohmann::json played_object(const PlayedClip& played);
// `sotto mailbox status`: "mailbox" (ours, or null) and, serving as one, "serving" with "users".
nlohmann::json mailbox_object(const MailboxInfo& info);
// Search and export (archive.h): a hit is message_object plus "conversation_name" and "snippet".
nlohmann::json search_hit_object(const SearchHit& hit);
nlohmann::json export_summary_object(const ExportSummary& summary);
nlohmann::json export_progress_object(const ExportProgress& progress);
// {"ok": false, "error": message, "code": status_code_name}: what every failed request answers.
nlohmann::json error_object(const Status& status);

// The one place a reply or an event becomes text. Invalid UTF-8 (a snippet cut inside a
// character, bytes a peer sent, a directory name) is replaced rather than thrown: nothing thrown
// may cross the node's loop.
std::string to_text(const nlohmann::json& object);

}  // namespace sotto::core
