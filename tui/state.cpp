#include "tui/state.h"

#include <algorithm>
#include <type_traits>

namespace sotto::tui {

std::string display_name(const std::string& name, const std::string& fingerprint) {
  return name.empty() ? short_fingerprint(fingerprint) : name;
}

std::string short_fingerprint(const std::string& fingerprint, size_t digits) {
  return fingerprint.substr(0, digits);
}

UiState::UiState() {
  Conversation home;
  home.key = kHome;
  home.title = "sotto";
  home.loaded = true;
  conversations.emplace(kHome, std::move(home));
}

bool UiState::apply(const core::Event& event) {
  return std::visit(
      [&](const auto& body) -> bool {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, core::PeerEvent>) {
          peers[body.peer.fingerprint] = body.peer;
        } else if constexpr (std::is_same_v<T, core::MessageEvent>) {
          add_message(body.message);
        } else if constexpr (std::is_same_v<T, core::ReceiptEvent>) {
          // A channel message's receipt names the member, not the channel: look everywhere.
          bool found = false;
          for (auto& [key, conv] : conversations) {
            for (ConversationLine& line : conv.lines) {
              if (line.id == body.id) {
                line.state = body.state;
                found = true;
              }
            }
          }
          return found;
        } else if constexpr (std::is_same_v<T, core::ContactEvent>) {
          upsert_contact(body.contact);
          if (body.change == core::ContactChange::kAdded && !body.contact.namesake_of.empty()) {
            contact_conversation(body.contact.fingerprint);
            notice("≈ a new identity also calls itself " + body.contact.name + ": it is not the " +
                       body.contact.name + " you know (" +
                       short_fingerprint(body.contact.namesake_of) +
                       "), and gets none of its trust",
                   true, body.contact.fingerprint);
          }
        } else if constexpr (std::is_same_v<T, core::ChannelEvent>) {
          upsert_channel(body.channel);
        } else if constexpr (std::is_same_v<T, core::AlertEvent>) {
          notice(std::string(core::to_string(body.kind)) + ": " + body.message, true);
        } else if constexpr (std::is_same_v<T, core::VoiceEvent>) {
          const std::string talker = body.voice.outgoing
                                         ? own_name
                                         : display_name(body.voice.talker_name, body.voice.talker);
          if (body.phase == core::VoicePhase::kStarted) {
            on_air[body.voice.channel].insert(talker);
          } else if (body.phase == core::VoicePhase::kRefused) {
            notice("#" + body.voice.channel + " is busy: someone else holds the floor", true);
          } else {
            on_air[body.voice.channel].erase(talker);
            if (body.phase == core::VoicePhase::kInterrupted) {
              notice("your transmission on #" + body.voice.channel +
                         " lost the floor to an earlier talker",
                     true);
            }
          }
        }
        return true;
      },
      event.body);
}

void UiState::add_message(const core::MessageInfo& message) {
  Conversation* conv = nullptr;
  if (!message.conversation.empty() && message.conversation[0] == '#') {
    const std::string id = message.conversation.substr(1);
    if (const core::ChannelInfo* channel = channel_by_id(id)) {
      conv = &channel_conversation(*channel);
    } else {
      core::ChannelInfo stub;
      stub.id = id;
      stub.name = message.channel.empty() ? short_fingerprint(id) : message.channel;
      conv = &channel_conversation(stub);
    }
  } else {
    conv = &contact_conversation(message.conversation);
    if (conv->title.size() == 8 && !message.outgoing && !message.sender_name.empty()) {
      conv->title = message.sender_name;
    }
  }
  for (ConversationLine& line : conv->lines) {
    if (!line.id.empty() && line.id == message.id) {
      line = message;
      return;
    }
  }
  conv->lines.push_back(message);
  if (conv->lines.size() > kMaxLines) conv->lines.erase(conv->lines.begin());
  if (conv->key != current && !message.outgoing) ++conv->unread;
}

void UiState::notice(const std::string& text, bool error, const std::string& key) {
  auto it = conversations.find(key == "#current" ? current : key);
  if (it == conversations.end()) it = conversations.find(kHome);
  ConversationLine line;
  line.origin = error ? LineOrigin::kError : LineOrigin::kNotice;
  line.body = text;
  line.sent_at = 0;
  it->second.lines.push_back(std::move(line));
  it->second.scroll = 0;
}

void UiState::set_contacts(std::vector<core::ContactInfo> list) {
  contacts.clear();
  for (const auto& c : list) upsert_contact(c);
}

void UiState::set_channels(std::vector<core::ChannelInfo> list) {
  channels.clear();
  for (const auto& c : list) upsert_channel(c);
}

void UiState::upsert_contact(const core::ContactInfo& contact) {
  auto it = std::find_if(contacts.begin(), contacts.end(), [&](const core::ContactInfo& c) {
    return c.fingerprint == contact.fingerprint;
  });
  if (it == contacts.end()) {
    contacts.push_back(contact);
  } else {
    *it = contact;
  }
  std::sort(contacts.begin(), contacts.end(),
            [](const core::ContactInfo& a, const core::ContactInfo& b) { return a.name < b.name; });
  auto conv = conversations.find(contact.fingerprint);
  if (conv != conversations.end())
    conv->second.title = display_name(contact.name, contact.fingerprint);
}

void UiState::upsert_channel(const core::ChannelInfo& channel) {
  auto it = std::find_if(channels.begin(), channels.end(),
                         [&](const core::ChannelInfo& c) { return c.id == channel.id; });
  if (it == channels.end()) {
    channels.push_back(channel);
  } else {
    *it = channel;
  }
  std::sort(channels.begin(), channels.end(),
            [](const core::ChannelInfo& a, const core::ChannelInfo& b) { return a.name < b.name; });
  auto conv = conversations.find("#" + channel.id);
  if (conv != conversations.end()) {
    conv->second.title = "#" + channel.name;
    conv->second.target = "#" + channel.name;
  }
}

Conversation& UiState::contact_conversation(const std::string& fingerprint) {
  auto it = conversations.find(fingerprint);
  if (it != conversations.end()) return it->second;
  Conversation conv;
  conv.key = fingerprint;
  conv.target = fingerprint;
  std::string name;
  for (const auto& c : contacts) {
    if (c.fingerprint == fingerprint) name = c.name;
  }
  auto peer = peers.find(fingerprint);
  if (name.empty() && peer != peers.end()) name = peer->second.name;
  conv.title = display_name(name, fingerprint);
  return conversations.emplace(fingerprint, std::move(conv)).first->second;
}

Conversation& UiState::channel_conversation(const core::ChannelInfo& channel) {
  const std::string key = "#" + channel.id;
  auto it = conversations.find(key);
  if (it != conversations.end()) return it->second;
  Conversation conv;
  conv.key = key;
  conv.target = "#" + channel.name;
  conv.title = "#" + channel.name;
  conv.channel = true;
  return conversations.emplace(key, std::move(conv)).first->second;
}

Conversation& UiState::current_conversation() {
  auto it = conversations.find(current);
  if (it == conversations.end()) {
    current = kHome;
    it = conversations.find(kHome);
  }
  return it->second;
}

const Conversation& UiState::current_conversation() const {
  auto it = conversations.find(current);
  if (it == conversations.end()) it = conversations.find(kHome);
  return it->second;
}

const core::ContactInfo* UiState::find_contact(const std::string& name_or_prefix) const {
  // As the node resolves names: a namesake is reached by its fingerprint only.
  for (const auto& c : contacts) {
    if (c.name == name_or_prefix && c.namesake_of.empty()) return &c;
  }
  const core::ContactInfo* match = nullptr;
  for (const auto& c : contacts) {
    if (name_or_prefix.size() >= 4 && c.fingerprint.rfind(name_or_prefix, 0) == 0) {
      if (match != nullptr) return nullptr;  // ambiguous
      match = &c;
    }
  }
  return match;
}

const core::ChannelInfo* UiState::find_channel(const std::string& name) const {
  const std::string bare = !name.empty() && name[0] == '#' ? name.substr(1) : name;
  for (const auto& c : channels) {
    if (c.name == bare) return &c;
  }
  return nullptr;
}

const core::ChannelInfo* UiState::channel_by_id(const std::string& id) const {
  for (const auto& c : channels) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

bool UiState::online(const std::string& fingerprint) const {
  auto it = peers.find(fingerprint);
  if (it != peers.end()) return it->second.state == core::PeerState::kOnline;
  for (const auto& c : contacts) {
    if (c.fingerprint == fingerprint) return c.online;
  }
  return false;
}

int UiState::peers_online() const {
  return static_cast<int>(std::count_if(peers.begin(), peers.end(), [](const auto& p) {
    return p.second.state == core::PeerState::kOnline;
  }));
}

std::vector<const core::PeerInfo*> UiState::nearby() const {
  std::vector<const core::PeerInfo*> out;
  for (const auto& [fingerprint, peer] : peers) {
    const bool known = std::any_of(contacts.begin(), contacts.end(),
                                   [&](const auto& c) { return c.fingerprint == fingerprint; });
    if (!known && peer.state != core::PeerState::kOffline) out.push_back(&peer);
  }
  std::stable_sort(out.begin(), out.end(), [](const core::PeerInfo* a, const core::PeerInfo* b) {
    return (a->state == core::PeerState::kOnline) > (b->state == core::PeerState::kOnline);
  });
  return out;
}

int UiState::unverified_members(const core::ChannelInfo& channel) {
  return static_cast<int>(std::count_if(
      channel.members.begin(), channel.members.end(), [](const core::ChannelMember& m) {
        return m.trust != core::MemberTrust::kMe && m.trust != core::MemberTrust::kVerified;
      }));
}

std::vector<std::string> UiState::conversation_order() const {
  std::vector<std::string> order{kHome};
  for (const auto& c : channels) order.push_back("#" + c.id);
  for (const auto& c : contacts) order.push_back(c.fingerprint);
  // Conversations with people who are not contacts (accepted first messages) come last.
  for (const auto& [key, conv] : conversations) {
    if (std::find(order.begin(), order.end(), key) == order.end()) order.push_back(key);
  }
  return order;
}

std::vector<std::string> UiState::completion_names() const {
  std::vector<std::string> names;
  for (const auto& c : contacts) {
    names.push_back(c.namesake_of.empty() ? c.name : short_fingerprint(c.fingerprint));
  }
  for (const auto& c : channels) names.push_back("#" + c.name);
  for (const core::PeerInfo* p : nearby()) {
    names.push_back(p->name.empty() ? short_fingerprint(p->fingerprint) : p->name);
  }
  return names;
}

bool UiState::channel_on_air(const std::string& name) const {
  if (ptt.on_air && ptt.channel == name) return true;
  auto it = on_air.find(name);
  return it != on_air.end() && !it->second.empty();
}

}  // namespace sotto::tui
