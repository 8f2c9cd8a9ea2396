// Node::Impl: the node's owners wired together — PeerTable, Discovery, the transport, the
// Messenger, the VoiceEngine, the archive service and the control socket — and the loop that
// turns them (NodeLoop). node.cpp is the loop's side; node_calls.cpp is what other threads call.
// Thread-safety: every member belongs to the loop thread, except `loop` (thread-safe) and the
// templates ask() and begin(), which post to it.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sotto/core/node.h"
#include "sotto/net/poller.h"
#include "sotto/net/transport.h"
#include "sotto/net/zmq_socket.h"
#include "src/core/archive_service.h"
#include "src/core/clip_playback.h"
#include "src/core/control_dispatch.h"
#include "src/core/control_server.h"
#include "src/core/counters.h"
#include "src/core/discovery.h"
#include "src/core/messenger.h"
#include "src/core/node_loop.h"
#include "src/core/peer_table.h"
#include "src/core/rate_limit.h"
#include "src/core/voice_engine.h"

namespace sotto::core {

template <typename T>
using Done = std::function<void(Result<T>)>;

// The promise behind a call's Done. Work that ends without answering (the node stopped, the
// owner that queued it went away) still answers, so a caller never waits in vain and get()
// never throws.
template <typename T>
class Answer {
 public:
  Answer() = default;
  Answer(const Answer&) = delete;
  Answer& operator=(const Answer&) = delete;
  ~Answer() {
    if (!answered_) promise_.set_value(Status::unavailable("the node stopped before it finished"));
  }
  std::future<Result<T>> future() { return promise_.get_future(); }
  void set(Result<T> result) {
    if (std::exchange(answered_, true)) return;
    promise_.set_value(std::move(result));
  }

 private:
  std::promise<Result<T>> promise_;
  bool answered_ = false;  // set on the loop thread; read by the last owner, after it
};

// A call the loop did not answer within its time.
Status unanswered();

struct Node::Impl final : LinkControl, ControlTarget {
  // REQUIRES: `account` and `clock` outlive the node.
  Impl(Account& account, NodeOptions options, const Clock& clock);
  // Ends the loop's thread, then closes the owners in order.
  ~Impl();

  Account& account;
  NodeOptions options;
  const Clock& clock;
  net::ZmqContext context;
  net::Poller poller;
  Counters counters;
  PeerTable peers;
  RateLimit frame_budget;  // every peer's frames together
  std::unique_ptr<Discovery> discovery;
  std::unique_ptr<net::Transport> transport;
  std::unique_ptr<Messenger> messenger;
  std::unique_ptr<VoiceEngine> voice;
  std::unique_ptr<ClipPlayback> playback;           // made on first use
  std::unique_ptr<ArchiveService> archive_service;  // search and export; made on first use
  std::unique_ptr<ControlDispatcher> dispatcher;
  std::unique_ptr<ControlServer> control;
  std::string control_path;
  std::vector<std::weak_ptr<EventQueue>> subscribers;
  int64_t drain_at_ms = 0;
  int64_t upkeep_at_ms = 0;        // on air, the upkeep's next turn (upkeep_due)
  std::unique_ptr<NodeLoop> loop;  // declared last: its thread ends first

  void count(Counter counter, uint64_t n = 1) { counters.add(counter, n); }
  int64_t now() const { return clock.now_ms(); }

  // --- set-up

  Status start();
  Result<std::string> listen_host() const;
  Status bind_sockets();

  // --- the links (LinkControl)

  void admit(const Bytes& key, const std::string& fp) override { transport->admit(key, fp); }
  void revoke(const Bytes& key, const std::string& fp) override { transport->revoke(key, fp); }
  Status connect(const std::string& fp, const std::string& endpoint, const Bytes& key) override;
  void disconnect(const std::string& fp) override { transport->disconnect(fp); }
  bool has_link(const std::string& fp) const override { return transport->has_link(fp); }
  size_t link_count() const override { return transport->links_open(); }
  bool send_hello(PeerTable::Peer& peer) override;
  bool send_heartbeat(const std::string& fp) override;
  bool wants_link(const std::string& fp) override;
  bool knows(const std::string& fp) override;
  // A frame to the peer over its link, opened on demand.
  bool send_to(const std::string& fp, ByteView frame);
  // A live voice frame: a datagram when the peer takes them, its link otherwise.
  bool send_live_to(const std::string& fp, ByteView frame);
  // The proved peer `fp`, if its traffic may be taken now (per-peer and global budgets).
  PeerTable::Peer* inbound_peer(const std::string& fp);

  // --- frames

  // A frame from a client authenticated with `key`. Credited to the identity that proved it
  // holds the key; from a key nobody proved yet, only a Hello (the proof) is read.
  void on_frame(const Bytes& key, const Bytes& frame);
  void on_unproved_frame(const Bytes& key, const Bytes& frame);
  void on_datagram(const Bytes& key, const Bytes& frame);
  // The frame's Envelope, or nullopt with the reason counted.
  std::optional<wire::Envelope> decode_counted(const Bytes& frame);
  void learn_datagram_route(const PeerTable::Peer& peer, const Bytes& key,
                            const wire::Hello& hello);

  // --- the loop

  Status round();
  // `timed` (instrumentation, may be null) gets the slowest timer's name and time.
  void on_timers(VoiceTrace* timed);
  // Whether this round runs the upkeep timers (peers, discovery, links, messenger).
  bool upkeep_due() const;
  bool on_air() const { return voice && voice->on_air(); }
  int64_t poll_timeout_ms() const;

  // --- events

  void publish(Event event);
  void on_peer_changed(PeerTable::Peer& peer);
  NodeStats collect_stats() const;

  // --- the owners' hooks

  VoiceEngineHooks make_voice_hooks();
  MessengerHooks make_messenger_hooks();
  ControlServer::Handlers make_control_handlers();

  // --- what commands act on (ControlTarget)

  Messenger& messaging() override { return *messenger; }
  ArchiveService& archive() override;
  void talk(const std::string& channel, const std::string& wav_path,
            VoiceEngine::TalkDone done) override;
  Status push_to_talk(const std::string& channel, bool on) override;
  Result<PlaybackState> play_out(const std::string& id);
  Result<PlayedClip> play(const std::string& id, const std::string& out,
                          VoiceFileFormat format) override;
  std::optional<bool> lock() override;

  // --- calls from other threads (the timeout policy in node.h)

  // `fn` on the loop, its answer waited for up to kCallTimeout.
  template <typename T>
  Result<T> ask(std::function<Result<T>()> fn) {
    auto answer = loop->call<Result<T>>(std::move(fn), kCallTimeout);
    if (!answer)
      return loop->stopping() ? Status::unavailable("the node has stopped") : unanswered();
    return std::move(*answer);
  }

  // Starts `work` on the loop; it hands its result to the callback it is given, now or later.
  template <typename T>
  std::future<Result<T>> begin(std::function<void(Done<T>)> work) {
    auto answer = std::make_shared<Answer<T>>();
    std::future<Result<T>> result = answer->future();
    auto task = [answer, work = std::move(work)] {
      work([answer](Result<T> r) { answer->set(std::move(r)); });
    };
    if (loop->on_loop_thread()) {
      task();
    } else if (!loop->post(task)) {
      answer->set(Status::unavailable("the node has stopped"));
    }
    return result;
  }
};

}  // namespace sotto::core
