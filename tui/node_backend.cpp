#include "tui/node_backend.h"

namespace sotto::tui {

const std::string& NodeBackend::endpoint() const {
  return node_.endpoint();
}

std::vector<core::PeerInfo> NodeBackend::peers() {
  return node_.peers();
}

Result<core::MessageInfo> NodeBackend::send_text(const std::string& to, const std::string& text) {
  return node_.send_text(to, text);
}

Result<core::ContactInfo> NodeBackend::add_contact(const std::string& peer,
                                                   const std::string& name) {
  return node_.add_contact(peer, name);
}

Result<std::string> NodeBackend::safety_number(const std::string& to) {
  return node_.safety_number(to);
}

Result<core::ContactInfo> NodeBackend::confirm_contact(const std::string& to) {
  return node_.confirm_contact(to);
}

Result<std::vector<core::ContactInfo>> NodeBackend::contacts() {
  return node_.contacts();
}

Result<std::vector<core::MessageInfo>> NodeBackend::history(const std::string& to, int64_t limit) {
  return node_.history(to, limit);
}

Result<core::ChannelInfo> NodeBackend::create_channel(const std::string& name, bool strict,
                                                      bool free_voice) {
  return node_.create_channel(name, strict, free_voice);
}

Result<core::ChannelInfo> NodeBackend::invite_to_channel(const std::string& channel,
                                                         const std::vector<std::string>& peers) {
  return node_.invite_to_channel(channel, peers);
}

Result<core::ChannelInfo> NodeBackend::remove_from_channel(const std::string& channel,
                                                           const std::string& peer) {
  return node_.remove_from_channel(channel, peer);
}

Result<core::ChannelInfo> NodeBackend::leave_channel(const std::string& channel) {
  return node_.leave_channel(channel);
}

Result<core::ChannelInfo> NodeBackend::accept_channel(const std::string& channel) {
  return node_.accept_channel(channel);
}

Result<core::ChannelInfo> NodeBackend::decline_channel(const std::string& channel) {
  return node_.decline_channel(channel);
}

Result<std::vector<core::ChannelInfo>> NodeBackend::channels() {
  return node_.channels();
}

Result<core::ChannelInfo> NodeBackend::channel(const std::string& channel) {
  return node_.channel(channel);
}

Status NodeBackend::push_to_talk(const std::string& channel, bool on) {
  return node_.push_to_talk(channel, on);
}

core::PttState NodeBackend::ptt_state() {
  return node_.ptt_state();
}

Result<core::PlayedClip> NodeBackend::play(const std::string& id, const std::string& out) {
  return node_.play(id, out, core::VoiceFileFormat::kWav);
}

Result<core::PlaybackState> NodeBackend::play_out(const std::string& id) {
  return node_.play_out(id);
}

void NodeBackend::stop_playback() {
  node_.stop_playback();
}

core::PlaybackState NodeBackend::playback_state() {
  return node_.playback_state();
}

Result<std::vector<core::SearchHit>> NodeBackend::search(const std::string& query,
                                                         const std::string& in, int64_t limit) {
  return node_.search(query, in, limit);
}

}  // namespace sotto::tui
