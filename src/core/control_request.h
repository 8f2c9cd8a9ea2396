// The control socket's commands as types (the protocol is in control_server.h): one struct per
// command, each read from the request's JSON by one entry of a table keyed by the command's name.
// The JSON is parsed once, at the socket; from here on a request is one of these.
//
// A field of the wrong type reads as missing (as the CLI has always been answered); a command
// whose arguments cannot be acted on is refused here with InvalidArgument, before it reaches
// the node.
// Thread-safety: free functions on values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/archive.h"

namespace sotto::core {

namespace control {

struct Lock {};
struct Unlock {};  // on a running node: refused (it is not locked)
struct Send {
  std::string to, text;
};
struct Add {
  std::string peer, name;
};
struct Verify {
  std::string to;
  bool confirm = false;
};
struct Replace {
  std::string old_contact, new_contact;
};
struct Contacts {};
struct History {
  std::string to;
  int64_t limit = 50;  // clamped to 1..1,000,000
};

enum class ChannelAction { kCreate, kInvite, kRemove, kLeave, kAccept, kDecline, kList, kRoster };
// "members" (a list of contact names or fingerprint prefixes) names whom create or invite adds,
// all in one roster change; "peer" is the one-member form, added first.
struct Channel {
  ChannelAction action = ChannelAction::kList;
  std::string name, peer;
  bool strict = true;
  bool free_voice = false;
  std::vector<std::string> members;
};

struct Talk {
  std::string channel, wav;
};
struct Expire {
  std::string to;
  int64_t expire_ms = 0;
};
struct Ptt {
  std::string channel;
  bool on = false;
};
struct Play {
  std::string id, out;
  VoiceFileFormat format = VoiceFileFormat::kWav;
};
struct Search {
  std::string query, in;
  int64_t limit = kDefaultSearchLimit;
};
struct Export {
  ExportOptions options;
};
struct ExportProgress {};
// "use" with "node" (empty: none), or "status".
struct Mailbox {
  bool use = false;
  std::string node;
};

}  // namespace control

using ControlRequest =
    std::variant<control::Lock, control::Unlock, control::Send, control::Add, control::Verify,
                 control::Replace, control::Contacts, control::History, control::Channel,
                 control::Talk, control::Expire, control::Ptt, control::Play, control::Search,
                 control::Export, control::ExportProgress, control::Mailbox>;

// The typed request for command `cmd` with arguments `request` (a JSON object); nullopt when
// no such command exists, InvalidArgument when its arguments cannot be acted on.
std::optional<Result<ControlRequest>> parse_control_request(const std::string& cmd,
                                                            const nlohmann::json& request);

}  // namespace sotto::core
