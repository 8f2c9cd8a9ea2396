#include "src/core/control_request.h"

#include <algorithm>
#include <map>
#include <string_view>

namespace sotto::core {
namespace {

using nlohmann::json;
using Parser = Result<ControlRequest> (*)(const json& request);

std::string text(const json& request, const char* key) {
  auto it = request.find(key);
  return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const json& request, const char* key, bool otherwise) {
  auto it = request.find(key);
  return it != request.end() && it->is_boolean() ? it->get<bool>() : otherwise;
}

std::optional<int64_t> integer(const json& request, const char* key) {
  auto it = request.find(key);
  if (it == request.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

// The strings of the list under `key` (a missing or non-list field reads as none); a list that
// holds anything but strings is refused, since acting on part of it would change the wrong thing.
Result<std::vector<std::string>> texts(const json& request, const char* key) {
  std::vector<std::string> out;
  auto it = request.find(key);
  if (it == request.end() || !it->is_array()) return out;
  for (const json& item : *it) {
    if (!item.is_string()) {
      return Status::invalid_argument(std::string(key) + " must be a list of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<ControlRequest> parse_channel(const json& request) {
  static const std::map<std::string, control::ChannelAction, std::less<>> kActions = {
      {"create", control::ChannelAction::kCreate}, {"invite", control::ChannelAction::kInvite},
      {"remove", control::ChannelAction::kRemove}, {"leave", control::ChannelAction::kLeave},
      {"accept", control::ChannelAction::kAccept}, {"decline", control::ChannelAction::kDecline},
      {"list", control::ChannelAction::kList},     {"roster", control::ChannelAction::kRoster},
  };
  const std::string action = text(request, "action");
  auto it = kActions.find(action);
  if (it == kActions.end()) {
    return Status::invalid_argument(
        "unknown channel action '" + action +
        "' (create, invite, remove, leave, accept, decline, list or roster)");
  }
  control::Channel channel{it->second,
                           text(request, "name"),
                           text(request, "peer"),
                           flag(request, "strict", true),
                           flag(request, "free", false),
                           {}};
  SOTTO_ASSIGN_OR_RETURN(channel.members, texts(request, "members"));
  if (!channel.peer.empty() && channel.action == control::ChannelAction::kInvite) {
    channel.members.insert(channel.members.begin(), channel.peer);
  }
  return ControlRequest(std::move(channel));
}

Result<ControlRequest> parse_export(const json& request) {
  ExportOptions options;
  options.out = text(request, "out");
  if (!options.out.empty() && options.out.front() != '/') {
    return Status::invalid_argument("the node needs an absolute path for the export file, not " +
                                    options.out);
  }
  const std::string format = text(request, "format");
  auto named = export_format_named(format.empty() ? "json" : format);
  if (!named) {
    return Status::invalid_argument("unknown export format '" + format + "' (json or text)");
  }
  options.format = *named;
  options.in = text(request, "in");
  options.since_ms = integer(request, "since");
  options.force = flag(request, "force", false);
  const std::string voice = text(request, "voice");
  auto voice_format = voice_file_format_named(voice.empty() ? "ogg" : voice);
  if (!voice_format) {
    return Status::invalid_argument("unknown voice format '" + voice + "' (ogg or wav)");
  }
  options.voice = *voice_format;
  return ControlRequest(control::Export{std::move(options)});
}

// The file to write is "ogg" (Ogg Opus) or "wav" (decoded), not both.
Result<ControlRequest> parse_play(const json& request) {
  const std::string ogg = text(request, "ogg");
  const std::string wav = text(request, "wav");
  if (!ogg.empty() && !wav.empty()) {
    return Status::invalid_argument("play writes one file: ogg or wav, not both");
  }
  if (!ogg.empty())
    return ControlRequest(control::Play{text(request, "id"), ogg, VoiceFileFormat::kOgg});
  return ControlRequest(control::Play{text(request, "id"), wav, VoiceFileFormat::kWav});
}

Result<ControlRequest> parse_expire(const json& request) {
  auto expire_ms = integer(request, "expire_ms");
  if (!expire_ms) return Status::invalid_argument("expire needs expire_ms (0: off)");
  return ControlRequest(control::Expire{text(request, "to"), *expire_ms});
}

Result<ControlRequest> parse_ptt(const json& request) {
  const std::string action = text(request, "action");
  if (action != "on" && action != "off") {
    return Status::invalid_argument("ptt action must be on or off");
  }
  return ControlRequest(control::Ptt{text(request, "channel"), action == "on"});
}

Result<ControlRequest> parse_mailbox(const json& request) {
  const std::string action = text(request, "action");
  if (action == "status") return ControlRequest(control::Mailbox{false, ""});
  if (action == "use") return ControlRequest(control::Mailbox{true, text(request, "node")});
  if (action == "off") return ControlRequest(control::Mailbox{true, ""});
  return Status::invalid_argument("mailbox action must be use, off or status");
}

Result<ControlRequest> parse_history(const json& request) {
  const int64_t limit = integer(request, "limit").value_or(50);
  return ControlRequest(
      control::History{text(request, "to"), std::clamp<int64_t>(limit, 1, 1'000'000)});
}

const std::map<std::string, Parser, std::less<>>& parsers() {
  static const std::map<std::string, Parser, std::less<>> kParsers = {
      {"lock",
       [](const json&) -> Result<ControlRequest> { return ControlRequest(control::Lock{}); }},
      {"unlock",
       [](const json&) -> Result<ControlRequest> { return ControlRequest(control::Unlock{}); }},
      {"send",
       [](const json& r) -> Result<ControlRequest> {
         return ControlRequest(control::Send{text(r, "to"), text(r, "text")});
       }},
      {"add",
       [](const json& r) -> Result<ControlRequest> {
         return ControlRequest(control::Add{text(r, "peer"), text(r, "name")});
       }},
      {"verify",
       [](const json& r) -> Result<ControlRequest> {
         return ControlRequest(control::Verify{text(r, "to"), flag(r, "confirm", false)});
       }},
      {"replace",
       [](const json& r) -> Result<ControlRequest> {
         return ControlRequest(control::Replace{text(r, "old"), text(r, "new")});
       }},
      {"contacts",
       [](const json&) -> Result<ControlRequest> { return ControlRequest(control::Contacts{}); }},
      {"history", parse_history},
      {"channel", parse_channel},
      {"talk",
       [](const json& r) -> Result<ControlRequest> {
         return ControlRequest(control::Talk{text(r, "channel"), text(r, "wav")});
       }},
      {"expire", parse_expire},
      {"ptt", parse_ptt},
      {"play", parse_play},
      {"search",
       [](const json& r) -> Result<ControlRequest> {
         return ControlRequest(control::Search{text(r, "query"), text(r, "in"),
                                               integer(r, "limit").value_or(kDefaultSearchLimit)});
       }},
      {"export", parse_export},
      {"mailbox", parse_mailbox},
      {"export_progress",
       [](const json&) -> Result<ControlRequest> {
         return ControlRequest(control::ExportProgress{});
       }},
  };
  return kParsers;
}

}  // namespace

std::optional<Result<ControlRequest>> parse_control_request(const std::string& cmd,
                                                            const json& request) {
  auto it = parsers().find(cmd);
  if (it == parsers().end()) return std::nullopt;
  return it->second(request);
}

}  // namespace sotto::core
