// What the node tells its front ends: peer information, counters, and typed events.
// EventQueue is the one thread-safe piece: the loop pushes, a front end pops (its fd() turns
// readable when events wait, so a UI can poll it beside stdin).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/net/peer_liveness.h"

namespace sotto::core {

struct PeerInfo {
  std::string fingerprint;
  // From the peer's Hello; empty until one arrives, and for a peer that does not know us (it
  // sends name_digest instead: its name keyed to our transport key, see net/hello.h).
  std::string name;
  Bytes name_digest;
  std::string endpoint;  // tcp://ADDRESS:PORT it is reached at
  net::PeerState state = net::PeerState::kDiscovered;
  Bytes identity_key;
  Bytes transport_key;
  bool configured = false;  // given with --peer
  int64_t silent_ms = 0;    // since the last frame from it
};

// Flat named counters ("beacons_received", "beacon_dropped_signature", ...).
struct NodeStats {
  std::map<std::string, uint64_t> counters;
  uint64_t get(const std::string& name) const {
    auto it = counters.find(name);
    return it == counters.end() ? 0 : it->second;
  }
};

struct PeerEvent {
  PeerInfo peer;  // its new state
};

// The states and kinds below are enums inside the process. Each has one to_string, whose
// spellings are what JSON, the wire and the CLI print (man/sotto.1), and one parse_... that
// takes those spellings back (nullopt for any other name).

// A contact's key never changes (the fingerprint is its hash): a new key is a new contact.
enum class Trust { kUnverified, kVerified };
std::string_view to_string(Trust trust);
std::optional<Trust> parse_trust(std::string_view name);

struct ContactInfo {
  std::string fingerprint;
  std::string name;
  Bytes identity_key;
  Trust trust = Trust::kUnverified;
  // A namesake: another contact (this fingerprint) had the name first. "bob" finds that one;
  // this one is shown as also calling itself bob, and gets no trust from it.
  std::string namesake_of;
  bool online = false;
};

// text, system (an audit event: joins, removals...), or voice
enum class MessageKind { kText, kSystem, kVoice };
std::string_view to_string(MessageKind kind);
std::optional<MessageKind> parse_message_kind(std::string_view name);

// pending, sent, delivered (outgoing), received (incoming)
// kAtMailbox: the recipient is away and its mailbox holds the message (doc/guide.md, Mailboxes).
enum class MessageState { kPending, kSent, kDelivered, kReceived, kAtMailbox };
std::string_view to_string(MessageState state);
std::optional<MessageState> parse_message_state(std::string_view name);

struct MessageInfo {
  std::string id;            // hex of the 16-byte message id
  std::string conversation;  // peer fingerprint, or '#' + channel id (hex) for a channel
  std::string channel;       // the channel's name, for channel messages
  MessageKind kind = MessageKind::kText;
  std::string sender;  // author fingerprint
  std::string sender_name;
  bool outgoing = false;
  std::string body;
  int64_t sent_at = 0;
  int64_t received_at = 0;
  MessageState state = MessageState::kReceived;
  Trust trust = Trust::kUnverified;  // of the conversation's contact
  // The member who handed this channel message on (fingerprint), when it did not come from its
  // author: shown in --json only.
  std::string relayed_by;
};

struct MessageEvent {
  MessageInfo message;
};

// me, verified (personally), vouched (key from the roster a verified admin signed, not verified
// by us), unverified (anyone else)
enum class MemberTrust { kMe, kVerified, kVouched, kUnverified };
std::string_view to_string(MemberTrust trust);
std::optional<MemberTrust> parse_member_trust(std::string_view name);

struct ChannelMember {
  std::string fingerprint;
  std::string name;
  Bytes identity_key;
  bool admin = false;
  bool online = false;
  bool on_air = false;
  MemberTrust trust = MemberTrust::kUnverified;
  std::string vouched_by;  // the admin's name, when vouched
  // Its messages reached us (relayed) but its sender key has not: only it can hand that over.
  bool waiting_for_key = false;
};

// One voice transmission as this node saw it (doc/guide.md, Push-to-talk voice): the figures behind
// "how did it sound".
struct VoiceStats {
  std::string id;  // transmission id = the archived clip's message id (hex)
  std::string channel;
  std::string talker;  // fingerprint
  std::string talker_name;
  bool outgoing = false;
  int frame_ms = 20;
  uint64_t frames_sent = 0;       // the talker's count (for a listener: as VoiceEnd announced)
  uint64_t frames_received = 0;   // authentic, in time
  uint64_t frames_lost = 0;       // never arrived (or too late to play)
  uint64_t frames_concealed = 0;  // played as Opus concealment
  uint64_t frames_dropped = 0;    // refused: failed authentication, replayed, late or malformed
  double delay_p50_ms = 0;        // last sample captured -> decoded and ready for playout
  double delay_max_ms = 0;
  int64_t started_at_ms = 0;  // talker's wall clock
  int64_t duration_ms = 0;
  bool archived = false;  // the clip is in this node's archive
  std::string wav;        // the file written for it (daemon --audio-out DIR)
};

// member, invited (not joined yet), removed, left, dissolved
enum class ChannelState { kMember, kRemoved, kLeft, kDissolved, kInvited };
std::string_view to_string(ChannelState state);
std::optional<ChannelState> parse_channel_state(std::string_view name);

struct ChannelInfo {
  std::string id;  // hex of the 16-byte channel id
  std::string name;
  std::string admin;  // fingerprint
  std::string admin_name;
  uint64_t epoch = 0;         // membership version: every change is the next epoch
  bool locked = true;         // only the admin changes membership
  bool strict = true;         // only verified contacts may be invited
  std::string security_code;  // 6 groups of 5 digits; the same on every member's screen
  ChannelState state = ChannelState::kMember;
  std::vector<ChannelMember> members;
  bool free_voice = false;        // voice: simultaneous talkers mixed (else one talker at a time)
  int64_t expire_ms = 0;          // disappearing messages: kept this long (0: for ever)
  std::vector<VoiceStats> voice;  // the latest transmissions this node saw, newest last
};

// Our own push-to-talk, for a UI's ON AIR indicator and input level meter.
struct PttState {
  bool on_air = false;
  std::string channel;        // the channel we are talking on
  double level_dbfs = -96.0;  // RMS of the latest captured frame (0 = full scale)
  int64_t elapsed_ms = 0;
  std::vector<std::string> busy;  // channels where someone else holds the floor
};

// How an archived clip leaves sotto as a file: Ogg Opus (the archived packets as they are, no
// re-encoding) or WAV (decoded to 48 kHz mono 16-bit PCM).
enum class VoiceFileFormat { kOgg, kWav };

// `sotto play`: an archived clip written to a file, and whether its signature holds.
struct PlayedClip {
  MessageInfo message;
  bool signature_valid = false;
  int64_t frames = 0;
  int64_t duration_ms = 0;
  std::string wav;  // the file written, when it is a WAV file
  std::string ogg;  // the file written, when it is an Ogg Opus file
};

// An archived clip playing on the output device (Node::play_out), for a UI's progress line.
struct PlaybackState {
  bool playing = false;  // false before the first clip, once it ended, and after a stop
  MessageInfo message;   // the clip's message (its id is the clip's)
  bool signature_valid = false;
  int64_t elapsed_ms = 0;  // played so far
  int64_t total_ms = 0;
  bool stopped = false;  // ended by stop_playback(), not by its end
  std::string error;     // why it could not play (the device would not open), else empty
};

// One step of a voice frame on its way, for measuring the pipeline and explaining its delays
// (NodeOptions::voice_trace; nothing is measured or built when no trace is set).
struct VoiceTrace {
  enum class Kind {
    kEncodeStart,  // the talker, a frame encoded (wall_us: when its encode began)
    kDecoded,      // a listener, a frame decoded and ready for playout
    kConcealed,    // a listener, a slot played as concealment (its frame missing or late)
    kLate,         // a listener, a frame that came after its slot was concealed: dropped
    kLoopRound,    // a node's loop, one round while on air (NodeOptions::voice_trace_costs)
  };
  Kind kind = Kind::kEncodeStart;
  std::string transmission;  // hex id; empty for kLoopRound
  uint32_t seq = 0;
  int64_t wall_us = 0;
  // kEncodeStart with NodeOptions::voice_trace_costs: the encode's CPU time on the talker's
  // thread. A benchmark takes it out of the talker's cost to see what the listeners add.
  int64_t encode_cpu_ns = 0;
  double delay_ms = 0;  // kDecoded: capture of the frame's last sample -> decoded
  // kDecoded: when the frame reached the jitter buffer (wall clock), and the buffer's target
  // depth and jitter estimate then.
  int64_t arrived_us = 0;
  int target_depth = 0;
  int jitter_ms = 0;
  // kLoopRound: microseconds of work before the wait (sends queued, timers: voice's pacing and
  // playout among them), in the handlers of what the wait brought, and after them (the received
  // batch's transaction, tidying); and how long the wait was.
  int64_t timers_us = 0;
  int64_t handlers_us = 0;
  int64_t after_us = 0;
  int64_t waited_us = 0;
  std::string slowest_timer;  // the timer that took longest before the wait, and its time
  int64_t slowest_timer_us = 0;
  bool upkeep = false;  // the round ran the upkeep (liveness, beacons, resends): on air, seldom
};

// started, ended; refused (our PTT: the floor is taken), interrupted (our transmission lost a
// simultaneous start), dropped (a talker that lost the floor, not played), delivered (a clip
// that came later through the outbox: archived, not played)
enum class VoicePhase { kStarted, kEnded, kRefused, kInterrupted, kDropped, kDelivered };
std::string_view to_string(VoicePhase phase);
std::optional<VoicePhase> parse_voice_phase(std::string_view name);

struct VoiceEvent {
  VoicePhase phase = VoicePhase::kStarted;
  VoiceStats voice;
};

// The audit trail's events. A roster's admin states created, invited, removed, left or
// dissolved; changed stands for any other roster change. Our own: joined (we accepted an
// invitation), invitation (one waits for us), declined, left, rotated (our sender key), expiry
// (the disappearing-message time set).
enum class ChannelChange {
  kCreated,
  kInvited,
  kJoined,
  kRemoved,
  kLeft,
  kDissolved,
  kRotated,
  kDeclined,
  kInvitation,
  kExpiry,
  kChanged
};
std::string_view to_string(ChannelChange change);
std::optional<ChannelChange> parse_channel_change(std::string_view name);

struct ChannelEvent {
  ChannelInfo channel;
  ChannelChange change = ChannelChange::kChanged;
  std::string actor;    // fingerprint
  std::string subject;  // fingerprint of the member concerned, if any
};

struct ReceiptEvent {
  std::string conversation;
  std::string id;
  MessageState state = MessageState::kDelivered;
};

// added, verified, replaced (it took over another contact's name)
enum class ContactChange { kAdded, kVerified, kReplaced };
std::string_view to_string(ContactChange change);
std::optional<ContactChange> parse_contact_change(std::string_view name);

struct ContactEvent {
  ContactInfo contact;
  ContactChange change = ContactChange::kAdded;
};

// storage-full, storage-recovered, untrusted-identity (a peer's key refused), channel-invitation
// (from an admin we have not verified)
// The mailbox ones (doc/guide.md, Mailboxes): a recipient's mailbox is full or refused our
// deposits (the messages wait in our outbox), or dropped some unfetched when their time ran out.
enum class AlertKind {
  kStorageFull,
  kStorageRecovered,
  kUntrustedIdentity,
  kChannelInvitation,
  kMailboxFull,
  kMailboxRefused,
  kMailboxExpired
};
std::string_view to_string(AlertKind kind);
std::optional<AlertKind> parse_alert_kind(std::string_view name);

// Something a user must know: storage full, an identity refused.
struct AlertEvent {
  AlertKind kind = AlertKind::kStorageFull;
  std::string message;
};

struct Event {
  int64_t at_ms = 0;  // wall clock, for display
  std::variant<PeerEvent, MessageEvent, ReceiptEvent, ContactEvent, ChannelEvent, AlertEvent,
               VoiceEvent>
      body;
  // Set by the node as it hands the event out: a reader can tell what happened (a message
  // committed) from when it got to see it, on a clock that does not jump.
  std::chrono::steady_clock::time_point published_at{};
};

class EventQueue {
 public:
  static constexpr size_t kCapacity = 4096;

  EventQueue();
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Never blocks: when the reader falls kCapacity behind, the oldest event is dropped.
  void push(Event event);
  std::optional<Event> pop();
  // Waits up to timeout_ms for an event.
  std::optional<Event> wait_pop(int64_t timeout_ms);
  int fd() const { return fd_; }
  uint64_t dropped() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Event> events_;
  uint64_t dropped_ = 0;
  int fd_ = -1;  // eventfd
};

}  // namespace sotto::core
