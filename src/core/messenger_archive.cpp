// Messenger: reading the archive for search and export (src/core/archive.h) — how a TO names a
// conversation, and how archive rows are shown (names, channels, trust) as history() shows them.
#include <map>

#include "src/core/account_internals.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"

namespace sotto::core {

Result<std::string> Messenger::conversation_key(const std::string& to) {
  if (to.empty()) return std::string();
  if (to.front() == '#') {
    SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(to));
    return conversation_of(channel);
  }
  SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord contact, contacts_.resolve(to));
  return contact.fingerprint;
}

Result<std::vector<MessageInfo>> Messenger::describe(
    const std::vector<storage::MessageRecord>& rows, std::vector<std::string>* labels) {
  // Who is who, read once per call: contacts first, then channel members we have no contact for.
  std::map<std::string, std::pair<std::string, Trust>> people;
  SOTTO_ASSIGN_OR_RETURN(auto contacts, contacts_.records());
  for (const auto& c : contacts) people[c.fingerprint] = {c.name, trust_of(c.trust)};
  std::map<std::string, std::string> channel_names;  // conversation -> name
  storage::ChannelRepo channel_repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto channels, channel_repo.list());
  for (const auto& c : channels) {
    channel_names[conversation_of(c)] = c.name;
    SOTTO_ASSIGN_OR_RETURN(auto members, channel_repo.members(c.id));
    for (const auto& m : members) {
      if (people.count(m.fingerprint) == 0) people[m.fingerprint] = {m.name, Trust::kUnverified};
    }
  }
  auto name_or_prefix = [&](const std::string& fingerprint) {
    auto it = people.find(fingerprint);
    return it != people.end() && !it->second.first.empty() ? it->second.first
                                                           : fingerprint.substr(0, 16);
  };
  std::vector<MessageInfo> out;
  out.reserve(rows.size());
  if (labels != nullptr) labels->clear();
  for (const auto& r : rows) {
    auto channel = channel_names.find(r.conversation);
    const bool in_channel = channel != channel_names.end();
    const std::string sender_name = r.outgoing ? account_.name() : name_or_prefix(r.sender);
    const auto who = people.find(in_channel ? r.sender : r.conversation);
    const Trust trust = who != people.end() ? who->second.second : Trust::kUnverified;
    out.push_back(message_info(r, sender_name, trust, in_channel ? channel->second : ""));
    if (labels != nullptr) {
      labels->push_back(in_channel ? "#" + channel->second : name_or_prefix(r.conversation));
    }
  }
  return out;
}

}  // namespace sotto::core
