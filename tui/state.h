// UiState: what the screen shows, kept up to date from the node's events. The windows draw it;
// the App changes it. No I/O here, so tests can feed events and read the result.
// Thread-safety: one owner (the UI thread).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sotto/core/events.h"
#include "sotto/core/peer_state.h"

namespace sotto::tui {

// Where a conversation line comes from: the archive, or the TUI itself (a notice or an error of
// its own, never archived, with no id).
enum class LineOrigin { kArchive, kNotice, kError };

// A line of a conversation: a message as the node describes it, and where it comes from.
struct ConversationLine : core::MessageInfo {
  ConversationLine() = default;
  // Implicit: an archived message is shown as it is.
  ConversationLine(core::MessageInfo message) : core::MessageInfo(std::move(message)) {}
  LineOrigin origin = LineOrigin::kArchive;
};

// One conversation: a contact's (key = its fingerprint) or a channel's (key = '#' + channel id).
struct Conversation {
  std::string key;
  std::string target;  // what Node calls take: the contact's fingerprint, or "#NAME"
  std::string title;   // "alice", "#ops"
  bool channel = false;
  bool loaded = false;  // history fetched from the archive
  std::vector<ConversationLine> lines;
  int unread = 0;
  int scroll = 0;  // screen lines scrolled back from the newest
};

class UiState {
 public:
  static constexpr const char* kHome = "";   // the conversation key of the home view
  static constexpr size_t kMaxLines = 2000;  // per conversation, the oldest go first

  std::string own_name;
  std::string own_fingerprint;
  std::string endpoint;
  std::string audio_out;  // NodeOptions::audio_out, for /play's message

  std::vector<core::ContactInfo> contacts;
  std::map<std::string, core::PeerInfo> peers;  // by fingerprint
  std::vector<core::ChannelInfo> channels;
  std::map<std::string, Conversation> conversations;  // by key; kHome always exists
  std::string current = kHome;
  core::PttState ptt;
  core::PlaybackState playback;  // the clip /play plays on the output device
  std::string working;  // what a slow command is doing ("adding alice…"), shown in the status bar
  // Who is on air on each channel (by channel name), from voice events: talker names.
  std::map<std::string, std::set<std::string>> on_air;

  UiState();

  // Applies one node event; returns true when the screen changed.
  bool apply(const core::Event& event);

  // Adds (or updates, by id) an archived message in its conversation; counts it unread when it
  // is incoming and not in the open conversation.
  void add_message(const core::MessageInfo& message);
  // A local line in conversation `key` (the open one when empty): a notice, or an error.
  void notice(const std::string& text, bool error = false, const std::string& key = "#current");

  void set_contacts(std::vector<core::ContactInfo> list);
  void set_channels(std::vector<core::ChannelInfo> list);
  void upsert_contact(const core::ContactInfo& contact);
  void upsert_channel(const core::ChannelInfo& channel);

  // The conversation for a contact / channel, created when missing.
  Conversation& contact_conversation(const std::string& fingerprint);
  Conversation& channel_conversation(const core::ChannelInfo& channel);
  Conversation& current_conversation();
  const Conversation& current_conversation() const;

  const core::ContactInfo* find_contact(const std::string& name_or_prefix) const;
  const core::ChannelInfo* find_channel(const std::string& name) const;  // with or without '#'
  const core::ChannelInfo* channel_by_id(const std::string& id) const;
  bool online(const std::string& fingerprint) const;
  int peers_online() const;
  // Peers that are not contacts (nearby strangers), online first.
  std::vector<const core::PeerInfo*> nearby() const;
  // Channel members neither verified by us nor us (vouched, unverified, changed).
  static int unverified_members(const core::ChannelInfo& channel);
  // The sidebar's order: channels, then contacts (home first). Used by next/previous.
  std::vector<std::string> conversation_order() const;
  // Contact names, #channels and nearby peer names, for Tab completion.
  std::vector<std::string> completion_names() const;
  // Someone (us included) is on air on this channel.
  bool channel_on_air(const std::string& name) const;
};

// "Alice", or the first 8 hex digits of the fingerprint when the name is unknown.
std::string display_name(const std::string& name, const std::string& fingerprint);
std::string short_fingerprint(const std::string& fingerprint, size_t digits = 8);

}  // namespace sotto::tui
