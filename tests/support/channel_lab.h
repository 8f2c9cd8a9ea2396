// ChannelLab: a few in-process nodes on 127.0.0.1 that all reach each other, for channel tests
// (doc/guide.md, Channels), and small views of channel state — rosters, codes, audit events — that
// the tests compare across members.
//
// Thread-safety: one test thread drives it. Errors in the helpers throw std::runtime_error with
// the node's message (Catch2 reports it), so use them from the test's main thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sotto/core/events.h"
#include "tests/support/profile_node.h"

namespace sotto::test {

class ChannelLab {
 public:
  // One profile per name (the name is also the node's own name), each started on a loopback
  // port and given the endpoints of the nodes before it, so every pair finds the other.
  // `configure`, when given, adjusts each node's options before it starts (e.g. its audio output).
  using Configure = std::function<void(const std::string& name, core::NodeOptions& options)>;
  explicit ChannelLab(const std::vector<std::string>& names, Configure configure = {});
  ChannelLab(const ChannelLab&) = delete;
  ChannelLab& operator=(const ChannelLab&) = delete;

  ProfileNode& operator[](const std::string& name);
  const std::vector<std::string>& names() const { return names_; }

  // True when every running node sees every other running node online.
  bool all_online();
  // Starts a stopped node again on its profile, pointed at every running node.
  void start(const std::string& name);

  // `who` adds each of `contacts` (by the name in its Hello) and confirms it: verified.
  void add_verified(const std::string& who, const std::vector<std::string>& contacts);
  // `member` waits for `admin`'s invitation to `channel`, marks the admin verified (the two
  // compared safety numbers) and accepts it. Throws when the invitation does not come.
  void accept_invitation(const std::string& member, const std::string& admin,
                         const std::string& channel);

 private:
  std::vector<std::string> names_;
  Configure configure_;
  std::map<std::string, std::unique_ptr<ProfileNode>> nodes_;
};

// Once every node is online, `admin` creates #`channel` (voice `free_voice` or half-duplex) and
// invites each of `members` (first made its verified contacts), and a text from every one of
// them reaches all: sessions and sender keys are in place. Throws when a step fails or stalls.
void open_channel(ChannelLab& lab, const std::string& admin, const std::string& channel,
                  const std::vector<std::string>& members, bool free_voice);

// `talker` transmits the WAV at `recording` on #`channel` (talk() returns once every frame has
// gone out) and `listener` receives every frame it sent: that count. Throws when the talk is
// refused or the frames do not all arrive.
uint64_t talk_until_heard(ChannelLab& lab, const std::string& talker, const std::string& listener,
                          const std::string& channel, const std::string& recording);

// The channel as `node` sees it, or nullopt when the node does not know it.
std::optional<core::ChannelInfo> channel_of(ProfileNode& node, const std::string& channel);
// The member named `name` (its name as the viewer knows it), or nullptr.
const core::ChannelMember* member_named(const core::ChannelInfo& channel, const std::string& name);
std::set<std::string> member_fingerprints(const core::ChannelInfo& channel);
// A one-line summary of a channel for failure messages: state, epoch, code, members and trust.
std::string describe(const std::optional<core::ChannelInfo>& channel);

// "ddddd ddddd ddddd ddddd ddddd ddddd".
bool is_security_code(const std::string& code);

// How many text messages (kind "text") in `history` have this body.
size_t count_text(const std::vector<core::MessageInfo>& history, const std::string& body);
// The audit events (kind "system") in `history`, oldest first.
std::vector<core::MessageInfo> system_events(const std::vector<core::MessageInfo>& history);
// How many audit events contain `needle` in their body.
size_t count_system(const std::vector<core::MessageInfo>& history, const std::string& needle);
// True when `history` holds exactly `n` outgoing text messages and all are delivered.
bool outgoing_delivered(const std::vector<core::MessageInfo>& history, size_t n);
// The bodies of the text messages in `history`, in its order.
std::vector<std::string> text_bodies(const std::vector<core::MessageInfo>& history);

}  // namespace sotto::test
