// Backend: what the TUI's App asks of the node. NodeBackend (tui/node_backend.h) forwards each
// call to a running core::Node; tests give App a fake and read the Canvas, with no sockets.
//
// The calls are core::Node's synchronous ones, with the same signatures, so the adapter is one
// line each. Defaults live here only (App calls through a Backend&); overrides repeat none.
// Thread-safety: as the implementation's; App calls from the UI thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/archive.h"
#include "sotto/core/events.h"
#include "sotto/core/node.h"

namespace sotto::tui {

class Backend {
 public:
  virtual ~Backend() = default;

  virtual const std::string& endpoint() const = 0;
  virtual std::vector<core::PeerInfo> peers() = 0;

  virtual Result<core::MessageInfo> send_text(const std::string& to, const std::string& text) = 0;
  virtual Result<core::ContactInfo> add_contact(const std::string& peer,
                                                const std::string& name = "") = 0;
  virtual Result<std::string> safety_number(const std::string& to) = 0;
  virtual Result<core::ContactInfo> confirm_contact(const std::string& to) = 0;
  virtual Result<std::vector<core::ContactInfo>> contacts() = 0;
  virtual Result<std::vector<core::MessageInfo>> history(const std::string& to, int64_t limit) = 0;

  virtual Result<core::ChannelInfo> create_channel(const std::string& name, bool strict = true,
                                                   bool free_voice = false) = 0;
  // All of `peers` in one roster change, or none of them.
  virtual Result<core::ChannelInfo> invite_to_channel(const std::string& channel,
                                                      const std::vector<std::string>& peers) = 0;
  virtual Result<core::ChannelInfo> remove_from_channel(const std::string& channel,
                                                        const std::string& peer) = 0;
  virtual Result<core::ChannelInfo> leave_channel(const std::string& channel) = 0;
  virtual Result<core::ChannelInfo> accept_channel(const std::string& channel) = 0;
  virtual Result<core::ChannelInfo> decline_channel(const std::string& channel) = 0;
  virtual Result<std::vector<core::ChannelInfo>> channels() = 0;
  virtual Result<core::ChannelInfo> channel(const std::string& channel) = 0;

  virtual Status push_to_talk(const std::string& channel, bool on) = 0;
  virtual core::PttState ptt_state() = 0;
  virtual Result<core::PlayedClip> play(const std::string& id, const std::string& out) = 0;
  virtual Result<core::PlaybackState> play_out(const std::string& id) = 0;
  virtual void stop_playback() = 0;
  virtual core::PlaybackState playback_state() = 0;
  virtual Result<std::vector<core::SearchHit>> search(
      const std::string& query, const std::string& in = "",
      int64_t limit = core::kDefaultSearchLimit) = 0;
};

}  // namespace sotto::tui
