// Node's methods: what other threads call (the threading contract and the timeout policy in
// node.h). Each is posted to the loop and waited for; none touches the node's state itself.
#include <chrono>
#include <future>

#include "sotto/core/node.h"
#include "src/core/node_impl.h"

namespace sotto::core {
namespace {

// The result the work handed its Done, waited for up to `timeout`. On the loop's own thread
// (an event handler calling back into the node) the work cannot finish while we wait: the
// answer is then what it already is, or a refusal at once, never a stalled loop.
template <typename T>
Result<T> await(const NodeLoop& loop, std::future<Result<T>>& result,
                std::chrono::milliseconds timeout) {
  if (loop.on_loop_thread()) timeout = std::chrono::milliseconds(0);
  if (result.wait_for(timeout) != std::future_status::ready) {
    if (loop.on_loop_thread()) {
      return Status::busy("this call cannot finish on the node's own thread; use the async form");
    }
    return unanswered();
  }
  return result.get();  // Answer: a value even when the node stopped first
}

}  // namespace

Status unanswered() {
  return Status::unavailable("the node did not finish in time");
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;

Result<std::unique_ptr<Node>> Node::create(Account& account, NodeOptions options,
                                           const Clock& clock) {
  auto impl = std::make_unique<Impl>(account, std::move(options), clock);
  SOTTO_RETURN_IF_ERROR(impl->start());
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Status Node::run() {
  return impl_->loop->join();
}

void Node::stop() {
  impl_->loop->stop();
}

const std::string& Node::endpoint() const {
  return impl_->transport->endpoint();
}
uint16_t Node::voice_port() const {
  return impl_->transport->datagram_port();
}
const std::string& Node::control_path() const {
  return impl_->control_path;
}

std::vector<PeerInfo> Node::peers() {
  return impl_->loop
      ->call<std::vector<PeerInfo>>([impl = impl_.get()] { return impl->peers.list(); },
                                    kCallTimeout)
      .value_or(std::vector<PeerInfo>{});
}

NodeStats Node::stats() {
  return impl_->loop
      ->call<NodeStats>([impl = impl_.get()] { return impl->collect_stats(); }, kCallTimeout)
      .value_or(NodeStats{});
}

std::shared_ptr<EventQueue> Node::subscribe() {
  auto queue = std::make_shared<EventQueue>();
  (void)impl_->ask<bool>([impl = impl_.get(), queue]() -> Result<bool> {
    impl->subscribers.push_back(queue);
    return true;
  });
  return queue;
}

std::future<Result<MessageInfo>> Node::send_text_async(const std::string& to,
                                                       const std::string& text) {
  return impl_->begin<MessageInfo>([impl = impl_.get(), to, text](Done<MessageInfo> done) {
    impl->messenger->send_text(to, text, std::move(done));
  });
}

Result<MessageInfo> Node::send_text(const std::string& to, const std::string& text) {
  auto sent = send_text_async(to, text);
  return await(*impl_->loop, sent, kCallTimeout);
}

Result<ContactInfo> Node::add_contact(const std::string& peer, const std::string& name) {
  auto added = impl_->begin<ContactInfo>([impl = impl_.get(), peer, name](Done<ContactInfo> done) {
    impl->messenger->add_contact(peer, name, std::move(done));
  });
  return await(*impl_->loop, added, kCallTimeout);
}

Result<ContactInfo> Node::confirm_contact(const std::string& to) {
  auto confirmed = impl_->begin<ContactInfo>([impl = impl_.get(), to](Done<ContactInfo> done) {
    impl->messenger->confirm_contact(to, std::move(done));
  });
  return await(*impl_->loop, confirmed, kCallTimeout);
}

Result<MessageInfo> Node::talk(const std::string& channel, const std::string& wav_path) {
  auto spoken =
      impl_->begin<MessageInfo>([impl = impl_.get(), channel, wav_path](Done<MessageInfo> done) {
        impl->talk(channel, wav_path, std::move(done));
      });
  const auto longest_clip = std::chrono::milliseconds(VoiceOptions{}.max_transmission_ms);
  return await(*impl_->loop, spoken, longest_clip + kCallTimeout);
}

Result<ExportSummary> Node::export_archive(const ExportOptions& options) {
  Impl* impl = impl_.get();
  auto written = impl->begin<ExportSummary>([impl, options](Done<ExportSummary> done) {
    impl->archive().start_export(options, std::move(done));
  });
  // Waited for while it moves: a stalled export is given up on like any other call.
  std::optional<int64_t> last_messages;
  double last_fraction = -1;
  while (written.wait_for(kCallTimeout) != std::future_status::ready) {
    auto progress = impl->ask<ExportProgress>([impl]() -> Result<ExportProgress> {
      return impl->archive().export_progress().value_or(ExportProgress{});
    });
    if (!progress.is_ok() || (progress.value().messages == last_messages &&
                              progress.value().fraction == last_fraction)) {
      return unanswered();
    }
    last_messages = progress.value().messages;
    last_fraction = progress.value().fraction;
  }
  return await(*impl->loop, written, std::chrono::milliseconds(0));
}

// The calls answered by the loop at once.

Result<std::string> Node::safety_number(const std::string& to) {
  return impl_->ask<std::string>(
      [impl = impl_.get(), to] { return impl->messenger->safety_number(to); });
}

Result<ContactInfo> Node::replace_contact(const std::string& old_contact,
                                          const std::string& new_contact) {
  return impl_->ask<ContactInfo>([impl = impl_.get(), old_contact, new_contact] {
    return impl->messenger->replace_contact(old_contact, new_contact);
  });
}

Result<std::vector<ContactInfo>> Node::contacts() {
  return impl_->ask<std::vector<ContactInfo>>(
      [impl = impl_.get()] { return impl->messenger->contacts(); });
}

Result<std::vector<MessageInfo>> Node::history(const std::string& to, int64_t limit) {
  return impl_->ask<std::vector<MessageInfo>>(
      [impl = impl_.get(), to, limit] { return impl->messenger->history(to, limit); });
}

Result<ChannelInfo> Node::create_channel(const std::string& name, bool strict, bool free_voice,
                                         const std::vector<std::string>& members) {
  return impl_->ask<ChannelInfo>([impl = impl_.get(), name, strict, free_voice, members] {
    return impl->messenger->create_channel(name, strict, free_voice, members);
  });
}

Result<ChannelInfo> Node::invite_to_channel(const std::string& channel, const std::string& peer) {
  return invite_to_channel(channel, std::vector<std::string>{peer});
}

Result<ChannelInfo> Node::invite_to_channel(const std::string& channel,
                                            const std::vector<std::string>& peers) {
  return impl_->ask<ChannelInfo>([impl = impl_.get(), channel, peers] {
    return impl->messenger->invite_to_channel(channel, peers);
  });
}

Result<ChannelInfo> Node::remove_from_channel(const std::string& channel, const std::string& peer) {
  return impl_->ask<ChannelInfo>([impl = impl_.get(), channel, peer] {
    return impl->messenger->remove_from_channel(channel, peer);
  });
}

Result<ChannelInfo> Node::leave_channel(const std::string& channel) {
  return impl_->ask<ChannelInfo>(
      [impl = impl_.get(), channel] { return impl->messenger->leave_channel(channel); });
}

Result<ChannelInfo> Node::accept_channel(const std::string& channel) {
  return impl_->ask<ChannelInfo>(
      [impl = impl_.get(), channel] { return impl->messenger->accept_channel(channel); });
}

Result<ChannelInfo> Node::decline_channel(const std::string& channel) {
  return impl_->ask<ChannelInfo>(
      [impl = impl_.get(), channel] { return impl->messenger->decline_channel(channel); });
}

Result<std::vector<ChannelInfo>> Node::channels() {
  return impl_->ask<std::vector<ChannelInfo>>(
      [impl = impl_.get()] { return impl->messenger->channels(); });
}

Result<ChannelInfo> Node::channel(const std::string& channel) {
  return impl_->ask<ChannelInfo>(
      [impl = impl_.get(), channel] { return impl->messenger->channel(channel); });
}

Result<MessageInfo> Node::set_expiry(const std::string& to, int64_t expire_ms) {
  return impl_->ask<MessageInfo>(
      [impl = impl_.get(), to, expire_ms] { return impl->messenger->set_expiry(to, expire_ms); });
}

Result<MailboxInfo> Node::use_mailbox(const std::string& node) {
  auto used = impl_->begin<MailboxInfo>([impl = impl_.get(), node](Done<MailboxInfo> done) {
    impl->messenger->use_mailbox(node, std::move(done));
  });
  return await(*impl_->loop, used, kCallTimeout);
}

Result<MailboxInfo> Node::mailbox() {
  return impl_->ask<MailboxInfo>([impl = impl_.get()] { return impl->messenger->mailbox(); });
}

PttState Node::ptt_state() {
  return impl_->loop
      ->call<PttState>([impl = impl_.get()] { return impl->voice->ptt_state(); }, kCallTimeout)
      .value_or(PttState{});
}

Status Node::push_to_talk(const std::string& channel, bool on) {
  return impl_
      ->ask<bool>([impl = impl_.get(), channel, on]() -> Result<bool> {
        SOTTO_RETURN_IF_ERROR(impl->push_to_talk(channel, on));
        return true;
      })
      .status();
}

Result<PlayedClip> Node::play(const std::string& id, const std::string& out,
                              VoiceFileFormat format) {
  return impl_->ask<PlayedClip>(
      [impl = impl_.get(), id, out, format] { return impl->play(id, out, format); });
}

Result<PlaybackState> Node::play_out(const std::string& id) {
  return impl_->ask<PlaybackState>([impl = impl_.get(), id] { return impl->play_out(id); });
}

void Node::stop_playback() {
  (void)impl_->loop->call<bool>(
      [impl = impl_.get()] {
        if (impl->playback) impl->playback->stop();
        return true;
      },
      kCallTimeout);
}

PlaybackState Node::playback_state() {
  return impl_->loop
      ->call<PlaybackState>(
          [impl = impl_.get()] {
            return impl->playback ? impl->playback->state() : PlaybackState{};
          },
          kCallTimeout)
      .value_or(PlaybackState{});
}

Result<std::vector<SearchHit>> Node::search(const std::string& query, const std::string& in,
                                            int64_t limit) {
  return impl_->ask<std::vector<SearchHit>>(
      [impl = impl_.get(), query, in, limit] { return impl->archive().search(query, in, limit); });
}

}  // namespace sotto::core
