// Node: a running sotto peer — discovery, authenticated transport, the peer table, and the
// control socket front ends talk to.
//
// Threading contract. One thread owns the node: its loop (one epoll_wait(2), net::Poller, over the
// ROUTER inbox, the ZAP handler, link monitors, the beacon sockets, the control socket and a
// wake-up fd; the wait's timeout comes from the next timer). Every socket and all protocol state
// belong to it. The node starts that thread itself: it is running when create() returns. Every
// other method is safe from any thread: a call from another thread is posted to the loop and
// waits for its answer there, never runs on the caller's thread; once the loop has ended, calls
// are refused (Unavailable, or an empty value), and a call the loop accepted but could not finish
// is answered Unavailable as it stops. Called on the loop's own thread (from
// NodeOptions::on_lock), a call runs at once; one that needs another round (send_text,
// add_contact, confirm_contact, talk) answers Busy at once instead of stalling the loop: use
// send_text_async there.
//
// Timeout policy: a synchronous call waits at most kCallTimeout for the loop's answer, then
// returns Unavailable ("the node did not finish in time"; peers(), stats() and ptt_state()
// answer empty); the work itself may still complete on the loop. Work with a length of its own
// waits that much longer: talk() the longest clip the voice engine transmits (its time-out
// timer, 60 s), export_archive() for as long as the export keeps making progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/clock.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/archive.h"
#include "sotto/core/events.h"
#include "sotto/core/mailbox.h"
#include "sotto/net/peer_liveness.h"

namespace sotto::core {

// A peer given by hand: tcp://HOST:PORT, optionally #KEY (the Z85 transport key to pin).
struct PeerSpec {
  std::string host;  // a dotted IPv4 address: sotto never resolves names
  uint16_t port = 0;
  std::optional<Bytes> pinned_key;

  static Result<PeerSpec> parse(const std::string& text);
  std::string endpoint() const { return "tcp://" + host + ":" + std::to_string(port); }
};

struct NodeOptions {
  // Where the ROUTER listens: "tcp://ADDRESS:PORT" (port 0 or * for any). Empty: the
  // --interface's address, else the address discovery broadcasts from, port chosen by the
  // system; never every interface unless asked for (tcp://0.0.0.0:PORT).
  std::string listen;
  std::string interface;  // network interface for discovery (and the default listen address)
  std::vector<PeerSpec> peers;
  bool discovery = true;
  uint16_t beacon_port = 47474;
  // The UDP port live voice arrives on (doc/protocol.md, Voice datagrams), on the listen
  // address; 0: one the system picks. A host firewall needs it fixed to let voice in.
  uint16_t voice_port = 0;
  std::optional<SecretBytes> network_key;  // contents of --network-key-file
  bool control_socket = true;              // serve DIR/control.sock
  // Our broadcast interval: this at start and after a change on the LAN, doubling per quiet
  // interval up to beacon_interval_max_ms.
  int beacon_interval_ms = 1000;
  int beacon_interval_max_ms = 30'000;
  int heartbeat_ms = 1000;
  net::LivenessTimeouts liveness;
  size_t max_peers = 8192;
  // A link to a peer we have no standing business with (not a contact, co-member or --peer
  // host) is closed once it carried nothing of ours for this long.
  int64_t link_idle_ms = 30'000;
  // Inbound rate limits (token buckets), keyed by the identity that proved its transport key:
  // a contact or channel co-member, and anyone else (a stranger has little to say: a first
  // message, a bundle request, receipts); all peers together share frames_per_s_total.
  double peer_frames_per_s = 20000;
  double peer_burst = 40000;
  double stranger_frames_per_s = 1000;
  double stranger_burst = 2000;
  double frames_per_s_total = 100000;
  bool accept_unknown = true;  // config: accept_unknown; false refuses unknown identities
  // Mailboxes (doc/guide.md, Mailboxes): serve as one for others (`daemon --mailbox`), within
  // these limits; and `mailbox`, the node to use as ours once it is online (the `mailbox`
  // setting; `sotto mailbox use` changes it at any time).
  bool serve_mailbox = false;
  MailboxLimits mailbox_limits;
  std::string mailbox;
  // Voice (doc/guide.md, Push-to-talk voice). audio_out: empty = received audio is archived only;
  // an existing directory = one WAV file per received transmission; FILE.wav = everything heard,
  // mixed; else an output device (name or index, see `sotto audio devices`).
  std::string audio_out;
  std::string audio_in;  // capture device for PTT (or FILE.wav)
  // Where play_out plays archived clips: an output device (name or index), or FILE.wav (written
  // anew for each clip). Empty: the device audio_out names, else the default output device.
  std::string playback_out;
  int voice_frame_ms = 20;
  int voice_bitrate_bps = 24'000;
  std::function<void(const VoiceTrace&)> voice_trace;  // instrumentation (benchmarks)
  // With voice_trace: also what the steps cost, a kLoopRound for each round of the loop while on
  // air and the encoder's CPU time in each kEncodeStart. Off unless asked: their clock reads and
  // traces cost each frame a few microseconds of the CPU a benchmark measures.
  bool voice_trace_costs = false;
  // A "lock" request on the control socket, on the loop thread. The front end stops the node and
  // locks (include/sotto/core/locked.h); empty: lock is refused. It returns whether the locked
  // process will answer on the control socket (a daemon does; the TUI's unlock screen does not).
  std::function<bool()> on_lock;
};

class Node {
 public:
  // How long a synchronous call waits for the loop (see the timeout policy above).
  static constexpr std::chrono::milliseconds kCallTimeout{15'000};

  // Binds the sockets (so endpoint() is known at once) and starts the loop's thread.
  // REQUIRES: `account` and `clock` outlive the node.
  static Result<std::unique_ptr<Node>> create(Account& account, NodeOptions options,
                                              const Clock& clock);
  // Stops the loop and waits for its thread.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Blocks until the loop has ended (stop(), or a failure); the loop's status.
  // REQUIRES: not called on the loop's own thread.
  Status run();
  // Ends the loop. Safe from any thread and from a signal handler.
  void stop();

  // "tcp://ADDRESS:PORT" of the ROUTER. Immutable after create.
  const std::string& endpoint() const;
  // The UDP port live voice frames come in on, at the endpoint's address (0: none; voice then
  // comes over the links). Immutable after create.
  uint16_t voice_port() const;
  // Path of the control socket, or empty when not served.
  const std::string& control_path() const;

  // Answered by the loop (see the threading contract above).
  std::vector<PeerInfo> peers();
  NodeStats stats();
  // A queue of events from now on; the front end drains it (its fd() turns readable).
  std::shared_ptr<EventQueue> subscribe();

  // 1:1 messaging (doc/guide.md, Text), answered by the loop like the calls above. `to` is a
  // contact name or a fingerprint prefix; errors are InvalidArgument for bad input, Untrusted for a
  // changed identity, Unavailable when a peer must be online and is not.
  Result<MessageInfo> send_text(const std::string& to, const std::string& text);
  // The same without waiting: sends queued together share one transaction (group commit).
  std::future<Result<MessageInfo>> send_text_async(const std::string& to, const std::string& text);
  // Fetches the peer's bundle and builds the session; waits up to a few seconds for the peer.
  Result<ContactInfo> add_contact(const std::string& peer, const std::string& name = "");
  Result<std::string> safety_number(const std::string& to);
  Result<ContactInfo> confirm_contact(const std::string& to);
  // The verified contact `new_contact` takes `old_contact`'s name (a contact's new identity key).
  Result<ContactInfo> replace_contact(const std::string& old_contact,
                                      const std::string& new_contact);
  Result<std::vector<ContactInfo>> contacts();
  Result<std::vector<MessageInfo>> history(const std::string& to, int64_t limit);

  // Channels (doc/guide.md, Channels). CHANNEL is a channel's name, with or without the leading
  // '#'. Text to a channel: send_text("#NAME", text); its history: history("#NAME", n).
  // `free_voice`: simultaneous talkers are mixed instead of one holding the floor. `members`
  // (contact names or fingerprint prefixes, each a verified contact in a strict channel) are in
  // the channel's first roster. An invite of several is one roster change (one epoch, one
  // signature, one security code); if any one is refused, nobody is added.
  Result<ChannelInfo> create_channel(const std::string& name, bool strict = true,
                                     bool free_voice = false,
                                     const std::vector<std::string>& members = {});
  Result<ChannelInfo> invite_to_channel(const std::string& channel, const std::string& peer);
  Result<ChannelInfo> invite_to_channel(const std::string& channel,
                                        const std::vector<std::string>& peers);
  Result<ChannelInfo> remove_from_channel(const std::string& channel, const std::string& peer);
  Result<ChannelInfo> leave_channel(const std::string& channel);
  // A channel from an admin we have not verified waits as an invitation (state "invited"):
  // nothing is sent to or read from it until the user accepts; declining tells the admin.
  Result<ChannelInfo> accept_channel(const std::string& channel);
  Result<ChannelInfo> decline_channel(const std::string& channel);
  Result<std::vector<ChannelInfo>> channels();
  Result<ChannelInfo> channel(const std::string& channel);

  // Voice (doc/guide.md, Push-to-talk voice). Transmits the WAV recording at `wav_path` to CHANNEL
  // in real time as one push-to-talk transmission and waits for its end; the archived clip's
  // message. Busy when someone else is talking on a half-duplex channel.
  Result<MessageInfo> talk(const std::string& channel, const std::string& wav_path);
  // Push-to-talk from the capture device (NodeOptions::audio_in; the default device when empty):
  // on, the transmission starts (Busy when the floor is taken); off, it ends and is archived.
  Status push_to_talk(const std::string& channel, bool on);
  PttState ptt_state();
  // Disappearing messages for a contact or #channel (0: off); the audit line it wrote.
  Result<MessageInfo> set_expiry(const std::string& to, int64_t expire_ms);
  // Mailboxes (doc/guide.md, Mailboxes). `node` (a contact, a peer's name or a fingerprint
  // prefix, online) becomes our mailbox once it accepts us; empty: we use none. Waits for its
  // answer (MailboxClient::kUseTimeoutMs).
  Result<MailboxInfo> use_mailbox(const std::string& node);
  // Our mailbox and, serving as one, our users.
  Result<MailboxInfo> mailbox();
  // Writes the archived clip whose message id starts with `id` to the file `out`, decoded to WAV
  // or as Ogg Opus.
  Result<PlayedClip> play(const std::string& id, const std::string& out,
                          VoiceFileFormat format = VoiceFileFormat::kWav);
  // Plays that clip on the output device (NodeOptions::playback_out) and returns once it has
  // begun; the decoding and the device are another thread's, the loop never waits on them. A clip
  // already playing stops first. Whether the device opened shows in playback_state().
  Result<PlaybackState> play_out(const std::string& id);
  void stop_playback();
  PlaybackState playback_state();

  // The archive (archive.h). The newest `limit` text messages matching `query`, newest first,
  // of conversation `in` (all when empty); InvalidArgument for a malformed query.
  Result<std::vector<SearchHit>> search(const std::string& query, const std::string& in = "",
                                        int64_t limit = kDefaultSearchLimit);
  // Writes the export and waits for it; the loop keeps serving between its slices. Busy while
  // another export runs; Unavailable when the node stops first.
  // REQUIRES: not called on the loop's own thread (it would wait for itself).
  Result<ExportSummary> export_archive(const ExportOptions& options);

  struct Impl;  // opaque

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sotto::core
