#include "tests/support/fuzz_targets.h"

#include <google/protobuf/stubs/logging.h>
#include <sodium.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "sotto/base/clock.h"
#include "sotto/crypto/frame_cipher.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/net/beacon.h"
#include "sotto/net/poller.h"
#include "sotto/net/zmq_socket.h"
#include "sotto/voice/clip.h"
#include "sotto/voice/opus_codec.h"
#include "src/core/channel_roster.h"
#include "src/core/control_server.h"
#include "src/core/voice_engine.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::test {
namespace {

// The network key the sealed beacon seeds were made with.
constexpr std::string_view kFuzzNetworkKey = "sotto fuzz network key\n";

FuzzResult broken(std::string what) {
  return {false, std::move(what)};
}

// What peer input made protobuf log: the node must silence it (a peer must not be able to write
// to our terminal or fill our log), so any line counts against the parser.
int protobuf_lines = 0;

void count_protobuf_line(google::protobuf::LogLevel, const char*, int, const std::string&) {
  ++protobuf_lines;
}

class ProtobufLogWatch {
 public:
  ProtobufLogWatch() {
    static const bool installed = [] {
      google::protobuf::SetLogHandler(&count_protobuf_line);
      return true;
    }();
    (void)installed;
    before_ = protobuf_lines;
  }
  bool logged() const { return protobuf_lines != before_; }

 private:
  int before_ = 0;
};

bool same_bytes(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// --- beacon, envelope, content ------------------------------------------------------------------

// One beacon, one encoding: what decodes must encode to the same bytes.
FuzzResult check_plain_beacon(ByteView data) {
  auto beacon = net::decode_beacon(data);
  if (!beacon.is_ok()) return {};
  if (!same_bytes(net::encode_beacon(beacon.value()), data)) {
    return broken("a decoded beacon does not encode to the same bytes");
  }
  return {true, {}};
}

// --- control ------------------------------------------------------------------------------------

// A ControlServer on an ipc socket in a private directory, with a DEALER that plays the CLI.
// Its handlers answer like a node without one: fixed identity, no peers, one counter, and
// "later" answered after handle() returned (as "send" is, once the peer answered).
struct ControlRig {
  std::string dir;
  net::ZmqContext context;
  net::Poller poller;
  std::unique_ptr<core::ControlServer> server;
  net::ZmqSocket client;
  std::optional<core::ControlServer::Reply> pending;
  bool reply_waiting = false;

  ~ControlRig() {
    client.close();
    server.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

ControlRig* start_control_rig() {
  auto rig = std::make_unique<ControlRig>();
  std::string pattern = (std::filesystem::temp_directory_path() / "sotto-fuzz-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return nullptr;
  rig->dir = pattern;
  core::ControlServer::Handlers handlers;
  handlers.identity = [] {
    return core::IdentityInfo{"fuzz", "f00d", Bytes(33, 5), Bytes(32, 7), "tcp://127.0.0.1:1"};
  };
  handlers.peers = [] { return std::vector<core::PeerInfo>{}; };
  handlers.stats = [] {
    core::NodeStats stats;
    stats.counters["fuzz"] = 1;
    return stats;
  };
  ControlRig* raw = rig.get();
  handlers.command = [raw](const std::string& cmd, const std::string&,
                           core::ControlServer::Reply reply) {
    if (cmd == "now") {
      reply(core::ok_json());
      return true;
    }
    if (cmd == "later") {
      raw->pending = std::move(reply);
      return true;
    }
    return false;
  };
  auto server =
      core::ControlServer::start(rig->context, rig->poller, rig->dir + "/control.sock", handlers);
  if (!server.is_ok()) return nullptr;
  rig->server = std::move(server).value();
  auto client = net::ZmqSocket::create(rig->context, ZMQ_DEALER);
  if (!client.is_ok() || !client.value().set(ZMQ_LINGER, 0).is_ok() ||
      !client.value().connect("ipc://" + rig->dir + "/control.sock").is_ok()) {
    return nullptr;
  }
  rig->client = std::move(client).value();
  // The client in the same poll as the server, so a reply ends the wait at once.
  rig->poller.add_socket(rig->client.get(), [raw] { raw->reply_waiting = true; });
  return rig.release();  // lives until exit: a fuzzer process runs it millions of times
}

ControlRig& control_rig() {
  static ControlRig* rig = start_control_rig();
  if (rig == nullptr) {
    std::fprintf(stderr, "fuzz control: cannot start a control server\n");
    std::abort();
  }
  return *rig;
}

// The reply to the request just sent, or nullopt when none came within ten seconds (a loaded
// machine is slow, not wrong).
std::optional<std::string> await_reply(ControlRig& rig) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    rig.reply_waiting = false;
    (void)rig.poller.poll(100);
    if (rig.pending) {
      auto reply = std::move(*rig.pending);
      rig.pending.reset();
      reply(core::ok_json());
    }
    if (!rig.reply_waiting) continue;
    auto message = rig.client.receive_message();
    if (message.is_ok() && message.value() && !message.value()->empty()) {
      const Bytes& body = message.value()->back().data;
      return std::string(body.begin(), body.end());
    }
  }
  return std::nullopt;
}

// --- voice frames -------------------------------------------------------------------------------

// The transmission every voice_frame input is about: a 32-byte key the talker sent in VoiceStart.
constexpr uint8_t kVoiceKeyByte = 0x4b;
const Bytes kVoiceChannelId(16, 0xc1);
const Bytes kVoiceTransmissionId(16, 0x71);
const Bytes kOtherId(16, 0x99);
constexpr char kTalker[] = "talker";

// What the talker sealed in one script.
struct Sealed {
  std::map<uint32_t, std::set<Bytes>> packets;  // seq -> every packet sealed for it
  uint32_t highest = 0;
  uint64_t frames = 0;
};

// Reads `n` big-endian bytes; 0 past the end.
uint32_t read_be(ByteView in, size_t& at, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | (at < in.size() ? in[at++] : 0);
  return v;
}

ByteView read_packet(ByteView in, size_t& at) {
  const size_t want = read_be(in, at, 2);
  const size_t take = std::min(want, in.size() - std::min(at, in.size()));
  ByteView out = at < in.size() ? in.subspan(at, take) : ByteView();
  at += take;
  return out;
}

wire::VoiceFrame voice_frame_of(ByteView channel, ByteView transmission, uint32_t seq,
                                ByteView body) {
  wire::VoiceFrame frame;
  frame.set_channel_id(std::string(as_chars(channel)));
  frame.set_transmission_id(std::string(as_chars(transmission)));
  frame.set_seq(seq);
  frame.set_body(std::string(as_chars(body)));
  return frame;
}

FuzzResult check_packet_codec(ByteView input) {
  auto packets = voice::decode_packets(input);
  if (!packets.is_ok()) return {};
  if (!same_bytes(voice::encode_packets(packets.value()), input)) {
    return broken("decoded voice packets do not encode to the same bytes");
  }
  return {true, {}};
}

// --- channel updates ----------------------------------------------------------------------------

// The fuzz admin's identity: a fixed Curve25519 private key (clamped as libsignal makes them), so
// seeds signed by it stay valid across runs and a mutated roster can be signed again.
struct FuzzAdmin {
  Bytes public_key;
  std::unique_ptr<crypto::SignalEngine> engine;
};

const FuzzAdmin& fuzz_admin() {
  static const FuzzAdmin admin = [] {
    FuzzAdmin a;
    if (sodium_init() < 0) std::abort();
    Bytes secret(32);
    for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(0xa0 + i);
    secret[0] &= 248;
    secret[31] = static_cast<uint8_t>((secret[31] & 127) | 64);
    Bytes point(32);
    crypto_scalarmult_curve25519_base(point.data(), secret.data());
    a.public_key = {0x05};  // libsignal's type byte for a Curve25519 key
    a.public_key.insert(a.public_key.end(), point.begin(), point.end());
    crypto::OwnIdentity identity{a.public_key, SecretBytes::copy_of(secret), 1};
    auto engine =
        crypto::SignalEngine::create(std::move(identity), crypto::make_memory_signal_state());
    if (!engine.is_ok()) std::abort();
    a.engine = std::move(engine).value();
    return a;
  }();
  return admin;
}

// What every roster open_channel_update accepts must satisfy.
std::string roster_fault(const wire::ChannelUpdate& update, const wire::Roster& roster) {
  if (roster.channel_id().size() != net::kChannelIdSize) return "accepted a bad channel id";
  if (roster.admin_key().size() != 33) return "accepted a bad admin key";
  std::set<std::string> keys;
  bool admin_listed = false;
  for (const auto& m : roster.members()) {
    if (!keys.insert(m.identity_key()).second) return "accepted a member listed twice";
    admin_listed = admin_listed || m.identity_key() == roster.admin_key();
  }
  if (!admin_listed && !roster.dissolved()) return "accepted a roster without its admin";
  if (!crypto::SignalEngine::verify(as_bytes(roster.admin_key()),
                                    core::roster_signing_input(as_bytes(update.roster())),
                                    as_bytes(update.signature()))) {
    return "accepted a roster its admin did not sign";
  }
  if (core::channel_id_for(as_bytes(roster.admin_key()), as_bytes(roster.id_nonce())) !=
      Bytes(roster.channel_id().begin(), roster.channel_id().end())) {
    return "accepted a channel id that is not its admin's";
  }
  if (static_cast<size_t>(roster.members_size()) > core::kMaxChannelMembers) {
    return "accepted a roster beyond the member cap";
  }
  std::vector<Bytes> member_keys;
  for (const auto& m : roster.members())
    member_keys.emplace_back(m.identity_key().begin(), m.identity_key().end());
  const std::string code = core::channel_security_code(
      as_bytes(roster.channel_id()), as_bytes(roster.admin_key()),
      core::ChannelFlags{roster.locked(), roster.strict(), roster.free_voice()}, roster.epoch(),
      member_keys);
  if (code.size() != 35) return "a security code that is not six groups of five digits";
  return {};
}

wire::ChannelUpdate signed_by_fuzz_admin(const std::string& roster_bytes) {
  wire::ChannelUpdate update;
  update.set_roster(roster_bytes);
  auto signature = fuzz_admin().engine->sign(core::roster_signing_input(as_bytes(roster_bytes)));
  if (signature.is_ok()) update.set_signature(std::string(as_chars(signature.value())));
  return update;
}

}  // namespace

FuzzResult check_beacon(ByteView input) {
  static const net::BeaconSealer sealer = net::BeaconSealer::from_secret(as_bytes(kFuzzNetworkKey));
  FuzzResult plain = check_plain_beacon(input);
  if (!plain.broken.empty()) return plain;
  auto opened = sealer.open(input);
  if (!opened.is_ok()) return plain;
  FuzzResult sealed = check_plain_beacon(opened.value());
  sealed.accepted = sealed.accepted || plain.accepted;
  return sealed;
}

// The node re-frames what it relays, so what it accepts it must be able to send.
FuzzResult check_envelope(ByteView input) {
  const ProtobufLogWatch log;
  auto envelope = net::decode_frame(input);
  if (log.logged()) return broken("peer input made protobuf log");
  if (!envelope.is_ok()) return {};
  auto frame = net::encode_frame(envelope.value());
  if (!frame.is_ok()) return broken("an accepted envelope does not encode");
  auto again = net::decode_frame(frame.value());
  if (!again.is_ok()) return broken("a re-encoded envelope does not decode");
  if (again->SerializeAsString() != envelope->SerializeAsString()) {
    return broken("a re-encoded envelope decodes to something else");
  }
  return {true, {}};
}

// Accepted Content encodes again (padded to a bucket) unless it is too large for the biggest
// bucket once padded, and decodes back to itself; a voice clip's packets go through the clip
// codec as the Messenger's do.
FuzzResult check_content(ByteView input) {
  const ProtobufLogWatch log;
  auto content = net::decode_content(input);
  if (log.logged()) return broken("peer input made protobuf log");
  if (!content.is_ok()) return {};
  wire::Content bare = content.value();
  bare.clear_padding();
  auto encoded = net::encode_content(bare);
  if (!encoded.is_ok()) {
    // A peer may send unpadded content that fills the largest bucket; we could not send it.
    // Anything with room for a padding field (tag, 3-byte length, a byte) must encode.
    if (bare.ByteSizeLong() + 5 <= net::kContentBuckets.back()) {
      return broken("accepted content does not encode: " + encoded.status().message());
    }
    return {true, {}};
  }
  if (std::find(net::kContentBuckets.begin(), net::kContentBuckets.end(), encoded.value().size()) ==
      net::kContentBuckets.end()) {
    return broken("encoded content is not one bucket long");
  }
  auto again = net::decode_content(encoded.value());
  if (!again.is_ok()) return broken("re-encoded content does not decode");
  again.value().clear_padding();
  if (again.value().SerializeAsString() != bare.SerializeAsString()) {
    return broken("re-encoded content decodes to something else");
  }
  if (bare.has_voice_clip()) {
    FuzzResult packets = check_packet_codec(as_bytes(bare.voice_clip().packets()));
    if (!packets.broken.empty()) return packets;
  }
  return {true, {}};
}

// One request through the socket; every request gets exactly one reply, a JSON object with a
// boolean "ok", and anything but an object with a string "cmd" is refused and counted.
FuzzResult check_control(ByteView input) {
  ControlRig& rig = control_rig();
  const uint64_t malformed_before = rig.server->malformed();
  if (!rig.client.send({input}).is_ok()) return broken("the request could not be sent");
  const auto reply = await_reply(rig);
  if (!reply) {
    // Only a request over the socket's size limit goes unanswered (the socket drops it).
    if (input.size() <= core::ControlServer::kMaxRequestBytes) return broken("no reply");
    return {};
  }
  const auto parsed = nlohmann::json::parse(*reply, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("ok") || !parsed["ok"].is_boolean()) {
    return broken("a reply without a boolean \"ok\": " + *reply);
  }
  const bool ok = parsed["ok"].get<bool>();
  if (!ok && (!parsed.contains("error") || !parsed["error"].is_string())) {
    return broken("a refusal without an error text");
  }
  const auto request = nlohmann::json::parse(as_chars(input), nullptr, false);
  const bool well_formed =
      request.is_object() && request.contains("cmd") && request["cmd"].is_string();
  if (!well_formed && ok) return broken("a malformed request was answered ok");
  if (!well_formed && rig.server->malformed() != malformed_before + 1) {
    return broken("a malformed request was not counted");
  }
  return {ok, {}};
}

// The fuzz listener's messaging: the talker is the one member, and it never talks itself.
class FuzzVoiceMessaging : public core::VoiceMessaging {
 public:
  explicit FuzzVoiceMessaging(core::VoiceChannel channel) : channel_(std::move(channel)) {}
  Result<core::VoiceChannel> voice_channel(const std::string&) override { return channel_; }
  bool is_voice_member(ByteView channel_id, const std::string& fingerprint) override {
    return same_bytes(channel_id, kVoiceChannelId) && fingerprint == kTalker;
  }
  std::string name_of(const std::string& fingerprint) override { return fingerprint; }
  Result<core::TransmissionStart> open_transmission(const std::string&, uint32_t, uint32_t,
                                                    int64_t) override {
    return Status::invalid_argument("the fuzz listener does not talk");
  }
  Result<core::MessageInfo> close_transmission(const core::TransmissionEnd&) override {
    return Status::invalid_argument("the fuzz listener does not talk");
  }
  Result<std::optional<core::ArchivedClip>> archive_heard_clip(const std::string&, ByteView,
                                                               const core::HeardClip&,
                                                               ByteView) override {
    return std::optional<core::ArchivedClip>();
  }
  bool send_live(const std::string&, ByteView) override { return true; }

 private:
  core::VoiceChannel channel_;
};

// The input scripts what one talker's transmission looks like to a listener:
//   byte 0      bit 0: 10 ms frames (else 20); bit 1: a free channel
//   then ops    0 seq(2) len(2) packet   the talker seals `packet` and sends it (a member may
//                                        send any bytes as Opus)
//               1 seq(2) len(2) body     `body` arrives as the sealed frame (forged, tampered)
//               2 ms(1)                  time passes, the engine ticks
//               3 sel(1) seq(2) len(2) packet   sealed, but for another transmission (sel bit
//                                        0), another channel (bit 1) or from someone else (bit 2)
// then VoiceEnd for every seq up to the highest the talker sealed, and time until it is over.
// What must hold: a sealed packet opens to itself; a clip heard whole has, at each seq, a packet
// the talker sealed for it, and survives the clip codec; nothing else counts as received.
FuzzResult check_voice_frame(ByteView input) {
  FuzzResult codec = check_packet_codec(input);
  if (!codec.broken.empty()) return codec;
  if (input.empty()) return codec;

  FakeClock clock;
  Sealed sealed;
  uint64_t received = 0;
  const bool ten_ms = (input[0] & 1) != 0;
  const core::VoiceChannel channel{kVoiceChannelId, "fuzz", (input[0] & 2) != 0};
  FuzzVoiceMessaging messaging(channel);
  core::VoiceEngineHooks hooks;
  hooks.messaging = &messaging;
  hooks.publish = [](core::Event) {};
  hooks.count = [&](core::Counter counter, uint64_t n) {
    if (counter == core::Counter::voice_frames_received) received += n;
  };
  core::VoiceOptions options;
  options.frame_ms = ten_ms ? 10 : 20;
  core::VoiceEngine engine("listener", clock, options, hooks);
  if (!engine.start().is_ok()) return broken("the voice engine does not start");

  const SecretBytes key = SecretBytes::copy_of(Bytes(crypto::kFrameKeySize, kVoiceKeyByte));
  wire::VoiceStart start;
  start.set_transmission_id(std::string(as_chars(kVoiceTransmissionId)));
  start.set_channel_id(std::string(as_chars(kVoiceChannelId)));
  start.set_sample_rate(net::kVoiceSampleRate);
  start.set_frame_ms(ten_ms ? 10 : 20);
  start.set_bitrate(24'000);
  start.set_key(std::string(key.chars()));
  start.set_started_at_us(1'700'000'000'000'000);
  engine.on_voice_start(kTalker, channel, start);
  auto cipher = crypto::FrameCipher::create(key, kVoiceChannelId, kVoiceTransmissionId);
  if (!cipher.is_ok()) return broken("no frame cipher");

  size_t at = 1;
  while (at < input.size()) {
    const uint8_t op = input[at++] % 4;
    if (op == 2) {
      clock.advance_ms(read_be(input, at, 1));
      engine.tick();
      continue;
    }
    const uint8_t selector = op == 3 ? static_cast<uint8_t>(read_be(input, at, 1)) : 0;
    const uint32_t seq = read_be(input, at, 2);
    const ByteView payload = read_packet(input, at);
    Bytes body(payload.begin(), payload.end());
    if (op != 1) {
      body = cipher.value().seal(seq, payload);
      auto opened = cipher.value().open(seq, body);
      if (!opened.is_ok() || !same_bytes(opened.value(), payload)) {
        return broken("a sealed voice packet does not open to itself");
      }
    }
    // An op 3 that strays nowhere is a member frame like op 0.
    if (op == 0 || (op == 3 && (selector & 7) == 0)) {
      sealed.packets[seq].insert(Bytes(payload.begin(), payload.end()));
      sealed.highest = std::max(sealed.highest, seq);
      ++sealed.frames;
    }
    const bool other_transmission = op == 3 && (selector & 1) != 0;
    const bool other_channel = op == 3 && (selector & 2) != 0;
    const bool other_talker = op == 3 && (selector & 4) != 0;
    engine.on_frame(
        other_talker ? "stranger" : kTalker,
        voice_frame_of(other_channel ? kOtherId : kVoiceChannelId,
                       other_transmission ? kOtherId : kVoiceTransmissionId, seq, body));
  }

  wire::VoiceEnd end;
  end.set_transmission_id(std::string(as_chars(kVoiceTransmissionId)));
  end.set_channel_id(std::string(as_chars(kVoiceChannelId)));
  // As decode_content lets a VoiceEnd through: at most kVoiceMaxFrames.
  end.set_frames(std::min(sealed.frames > 0 ? sealed.highest + 1 : 1, net::kVoiceMaxFrames));
  const auto heard = engine.on_voice_end(kTalker, end);
  // Until the reception is over: played out, or timed out (a few seconds of ticks at most).
  for (int i = 0; i < 400; ++i) {
    const auto deadline = engine.next_deadline_ms();
    if (!deadline) break;
    clock.advance_ms(std::max<int64_t>(1, *deadline - clock.now_ms()));
    engine.tick();
  }
  if (received > sealed.frames) {
    return broken("frames the talker never sealed counted as received");
  }
  if (!heard) return {codec.accepted || received > 0, {}};
  if (heard->packets.size() != end.frames()) return broken("a heard clip of the wrong length");
  for (uint32_t seq = 0; seq < heard->packets.size(); ++seq) {
    auto it = sealed.packets.find(seq);
    if (it == sealed.packets.end() || !it->second.contains(heard->packets[seq])) {
      return broken("a heard clip with a packet the talker did not seal there");
    }
  }
  auto decoded = voice::decode_packets(voice::encode_packets(heard->packets));
  if (!decoded.is_ok() || decoded.value() != heard->packets) {
    return broken("a heard clip does not survive the clip codec");
  }
  if (heard->timing.size() != 4 * heard->packets.size()) return broken("clip timing length");
  return {true, {}};
}

// A ChannelUpdate as a member receives it (already out of its Content), then the same roster
// signed by the fuzz admin, as a hostile admin would send it, so the roster checks are reached
// with any signature the fuzzer cannot forge.
FuzzResult check_channel(ByteView input) {
  wire::ChannelUpdate update;
  if (!update.ParseFromArray(input.data(), static_cast<int>(input.size()))) return {};
  FuzzResult result;
  const ProtobufLogWatch log;
  auto roster = core::open_channel_update(update);
  if (log.logged()) return broken("peer input made protobuf log");
  if (roster.is_ok()) {
    if (std::string fault = roster_fault(update, roster.value()); !fault.empty()) {
      return broken(fault);
    }
    result.accepted = true;
  }
  const wire::ChannelUpdate resigned = signed_by_fuzz_admin(update.roster());
  auto hostile = core::open_channel_update(resigned);
  if (hostile.is_ok()) {
    if (std::string fault = roster_fault(resigned, hostile.value()); !fault.empty()) {
      return broken(fault);
    }
    if (hostile.value().admin_key() != as_chars(fuzz_admin().public_key)) {
      return broken("a roster signed by one key accepted for another admin");
    }
    // Accepted rosters are stored and re-read: they must parse back to themselves.
    wire::Roster again;
    if (!again.ParseFromString(hostile.value().SerializeAsString()) ||
        again.SerializeAsString() != hostile.value().SerializeAsString()) {
      return broken("an accepted roster does not round-trip");
    }
    result.accepted = true;
  }
  return result;
}

const std::vector<FuzzTarget>& fuzz_targets() {
  static const std::vector<FuzzTarget> targets = {
      {"beacon", check_beacon},   {"envelope", check_envelope},       {"content", check_content},
      {"control", check_control}, {"voice_frame", check_voice_frame}, {"channel", check_channel},
  };
  return targets;
}

int run_fuzz_input(std::string_view target, FuzzCheck check, const uint8_t* data, size_t size) {
  const FuzzResult result = check(ByteView(data, size));
  if (!result.broken.empty()) {
    std::fprintf(stderr, "fuzz %.*s: %s\n", static_cast<int>(target.size()), target.data(),
                 result.broken.c_str());
    std::abort();
  }
  return 0;
}

// --- seeds --------------------------------------------------------------------------------------

namespace {

Bytes bytes_of_message(const google::protobuf::MessageLite& message) {
  const std::string s = message.SerializeAsString();
  return Bytes(s.begin(), s.end());
}

Bytes padded(wire::Content content) {
  auto encoded = net::encode_content(std::move(content));
  if (!encoded.is_ok()) std::abort();
  return encoded.value();
}

// Twenty Opus packets of a 440 Hz tone, as a talker's encoder makes them.
std::vector<Bytes> tone_packets(int frame_ms) {
  auto encoder = voice::OpusEncoder::create({frame_ms});
  if (!encoder.is_ok()) std::abort();
  const int samples = 48 * frame_ms;
  std::vector<Bytes> packets;
  for (int frame = 0; frame < 20; ++frame) {
    std::vector<int16_t> pcm(static_cast<size_t>(samples));
    for (int i = 0; i < samples; ++i) {
      const double t = static_cast<double>(frame * samples + i) / 48'000.0;
      pcm[static_cast<size_t>(i)] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * t));
    }
    auto packet = encoder.value().encode(pcm);
    if (!packet.is_ok()) std::abort();
    packets.push_back(std::move(packet).value());
  }
  return packets;
}

void append_be(Bytes& out, uint32_t value, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// One op of check_voice_frame's script.
void append_frame(Bytes& script, uint8_t op, uint32_t seq, const Bytes& packet) {
  script.push_back(op);
  append_be(script, seq, 2);
  append_be(script, static_cast<uint32_t>(packet.size()), 2);
  script.insert(script.end(), packet.begin(), packet.end());
}

void append_wait(Bytes& script, uint8_t ms) {
  script.push_back(2);
  script.push_back(ms);
}

Bytes roster_update(const std::string& change, int extra_members, bool dissolved) {
  wire::Roster roster;
  const Bytes nonce(core::kChannelNonceSize, 0x3c);
  const Bytes id = core::channel_id_for(fuzz_admin().public_key, nonce);
  roster.set_channel_id(std::string(as_chars(id)));
  roster.set_id_nonce(std::string(as_chars(nonce)));
  roster.set_name("ops");
  roster.set_epoch(static_cast<uint64_t>(extra_members + 1));
  roster.set_admin_key(std::string(as_chars(fuzz_admin().public_key)));
  roster.set_strict(true);
  if (!dissolved) {
    auto* admin = roster.add_members();
    admin->set_identity_key(roster.admin_key());
    admin->set_name("admin");
  }
  for (int i = 0; i < extra_members; ++i) {
    auto* member = roster.add_members();
    member->set_identity_key(std::string(1, '\x05') + std::string(32, static_cast<char>('a' + i)));
    member->set_name(i == 0 ? "Zoë" : "bob");
  }
  roster.set_change(change);
  if (extra_members > 0) roster.set_subject_key(roster.members(1).identity_key());
  roster.set_dissolved(dissolved);
  roster.set_issued_at(1'700'000'000'000);
  roster.set_created_at(1'700'000'000'000);
  return bytes_of_message(signed_by_fuzz_admin(roster.SerializeAsString()));
}

}  // namespace

std::vector<FuzzSeed> fuzz_seeds() {
  std::vector<FuzzSeed> seeds;
  auto add = [&](const char* target, const char* name, Bytes input) {
    seeds.push_back({target, name, std::move(input)});
  };

  // content: one of each body.
  const std::string id(16, '\x11');
  const std::string channel_id(16, '\x3c');
  wire::Content content;
  content.mutable_text()->set_id(id);
  content.mutable_text()->set_sent_at(1'700'000'000'000);
  content.mutable_text()->set_body("hello, Zoë — ünïcode ✓");
  add("content", "text", padded(content));
  content.mutable_text()->set_channel_id(channel_id);
  add("content", "text_channel", padded(content));
  const Bytes update = roster_update("invited", 2, false);
  content.mutable_channel_update()->ParseFromArray(update.data(), static_cast<int>(update.size()));
  add("content", "channel_update", padded(content));
  content.mutable_sender_key()->set_channel_id(channel_id);
  content.mutable_sender_key()->set_generation(1);
  content.mutable_sender_key()->set_distribution(std::string(70, '\x33'));
  add("content", "sender_key", padded(content));
  content.mutable_channel_leave()->set_channel_id(channel_id);
  content.mutable_channel_leave()->set_epoch(3);
  add("content", "channel_leave", padded(content));
  wire::VoiceStart start;
  start.set_transmission_id(id);
  start.set_channel_id(channel_id);
  start.set_sample_rate(net::kVoiceSampleRate);
  start.set_frame_ms(20);
  start.set_bitrate(24'000);
  start.set_started_at_us(1'700'000'000'000'000);
  *content.mutable_voice_start() = start;
  content.mutable_voice_start()->set_key(std::string(32, '\x4b'));
  add("content", "voice_start", padded(content));
  content.mutable_voice_end()->set_transmission_id(id);
  content.mutable_voice_end()->set_channel_id(channel_id);
  content.mutable_voice_end()->set_frames(20);
  content.mutable_voice_end()->set_signature(std::string(64, '\x5a'));
  add("content", "voice_end", padded(content));
  const std::vector<Bytes> tone = tone_packets(20);
  *content.mutable_voice_clip()->mutable_start() = start;
  const std::vector<Bytes> first_three(tone.begin(), tone.begin() + 3);
  content.mutable_voice_clip()->set_packets(
      std::string(as_chars(voice::encode_packets(first_three))));
  content.mutable_voice_clip()->set_frames(3);
  content.mutable_voice_clip()->set_signature(std::string(64, '\x5a'));
  add("content", "voice_clip", padded(content));
  content.mutable_expiry()->set_expire_ms(86'400'000);
  add("content", "expiry", padded(content));

  // control: each command the rig answers.
  for (const char* cmd : {"id", "peers", "stats", "subscribe", "unsubscribe", "now", "later"}) {
    const std::string request = nlohmann::json{{"cmd", cmd}}.dump();
    add("control", cmd, Bytes(request.begin(), request.end()));
  }
  const std::string with_args =
      R"({"cmd":"now","to":"bob","text":"h\u00e9 \ud83d\ude00","limit":50,"confirm":true})";
  add("control", "with_arguments", Bytes(with_args.begin(), with_args.end()));

  // voice_frame: transmissions as a talker sends them, in order and not.
  Bytes in_order = {0};
  for (uint32_t seq = 0; seq < 8; ++seq) {
    append_frame(in_order, 0, seq, tone[seq]);
    append_wait(in_order, 20);
  }
  add("voice_frame", "in_order_20ms", in_order);
  const std::vector<Bytes> tone10 = tone_packets(10);
  Bytes shuffled = {1};
  for (uint32_t seq : {1u, 0u, 3u, 2u, 2u, 5u, 4u}) {
    append_frame(shuffled, 0, seq, tone10[seq]);
    append_wait(shuffled, 10);
  }
  add("voice_frame", "reordered_10ms", shuffled);
  Bytes hostile = {0};
  append_frame(hostile, 0, 0, tone[0]);
  append_frame(hostile, 1, 1, Bytes(tone[1].size() + crypto::kFrameTagSize, 0xee));
  for (uint8_t selector : {1, 2, 4}) {
    hostile.push_back(3);
    hostile.push_back(selector);
    append_be(hostile, 1, 2);
    append_be(hostile, static_cast<uint32_t>(tone[1].size()), 2);
    hostile.insert(hostile.end(), tone[1].begin(), tone[1].end());
  }
  append_frame(hostile, 0, 1, tone[1]);
  append_wait(hostile, 250);
  append_frame(hostile, 0, 2, tone[2]);
  add("voice_frame", "forged_and_stray", hostile);
  add("voice_frame", "clip_packets", voice::encode_packets(tone));

  // channel: the membership changes an admin makes.
  add("channel", "created", roster_update("created", 0, false));
  add("channel", "invited", roster_update("invited", 2, false));
  add("channel", "removed", roster_update("removed", 1, false));
  add("channel", "dissolved", roster_update("dissolved", 0, true));

  // beacon: a broadcast and an answer (a challenge echoed), plain and sealed with the fuzz key.
  static const net::BeaconSealer sealer = net::BeaconSealer::from_secret(as_bytes(kFuzzNetworkKey));
  net::Beacon beacon;
  beacon.port = 47001;
  beacon.transport_key = Bytes(net::kBeaconTransportKeySize, 0x42);
  beacon.interval_ms = 4000;
  beacon.sent_at_ms = 1'700'000'000'000;
  for (bool reply : {false, true}) {
    beacon.reply = reply;
    beacon.nonce = reply ? 0x0123456789abcdef : 0;
    beacon.echo = reply ? 0xfedcba9876543210 : 0;
    auto signed_beacon = net::sign_beacon(beacon, *fuzz_admin().engine);
    if (!signed_beacon.is_ok()) std::abort();
    const Bytes plain = net::encode_beacon(signed_beacon.value());
    add("beacon", reply ? "plain_reply" : "plain_announce", plain);
    add("beacon", reply ? "sealed_reply" : "sealed_announce", sealer.seal(plain));
  }
  return seeds;
}

}  // namespace sotto::test
