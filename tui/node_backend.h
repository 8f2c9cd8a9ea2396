// NodeBackend: the App's Backend over a running core::Node, for real use (tui/run.cpp).
// Each call is the node's own; thread-safe as the node's calls are.
#pragma once

#include "sotto/core/node.h"
#include "tui/backend.h"

namespace sotto::tui {

class NodeBackend final : public Backend {
 public:
  // REQUIRES: `node` outlives the backend.
  explicit NodeBackend(core::Node& node) : node_(node) {}

  const std::string& endpoint() const override;
  std::vector<core::PeerInfo> peers() override;

  Result<core::MessageInfo> send_text(const std::string& to, const std::string& text) override;
  Result<core::ContactInfo> add_contact(const std::string& peer, const std::string& name) override;
  Result<std::string> safety_number(const std::string& to) override;
  Result<core::ContactInfo> confirm_contact(const std::string& to) override;
  Result<std::vector<core::ContactInfo>> contacts() override;
  Result<std::vector<core::MessageInfo>> history(const std::string& to, int64_t limit) override;

  Result<core::ChannelInfo> create_channel(const std::string& name, bool strict,
                                           bool free_voice) override;
  Result<core::ChannelInfo> invite_to_channel(const std::string& channel,
                                              const std::vector<std::string>& peers) override;
  Result<core::ChannelInfo> remove_from_channel(const std::string& channel,
                                                const std::string& peer) override;
  Result<core::ChannelInfo> leave_channel(const std::string& channel) override;
  Result<core::ChannelInfo> accept_channel(const std::string& channel) override;
  Result<core::ChannelInfo> decline_channel(const std::string& channel) override;
  Result<std::vector<core::ChannelInfo>> channels() override;
  Result<core::ChannelInfo> channel(const std::string& channel) override;

  Status push_to_talk(const std::string& channel, bool on) override;
  core::PttState ptt_state() override;
  Result<core::PlayedClip> play(const std::string& id, const std::string& out) override;
  Result<core::PlaybackState> play_out(const std::string& id) override;
  void stop_playback() override;
  core::PlaybackState playback_state() override;
  Result<std::vector<core::SearchHit>> search(const std::string& query, const std::string& in,
                                              int64_t limit) override;

 private:
  core::Node& node_;
};

}  // namespace sotto::tui
