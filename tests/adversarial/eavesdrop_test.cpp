// Issue 9, scenario 1: a passive eavesdropper on the LAN (promise 3, doc/protocol.md, doc/guide.md,
// Push-to-talk voice). Every byte between two nodes crosses a relay that keeps it, while they hold
// a conversation with every kind of traffic (tests/support/conversation.h): 1:1 text, channel text
// and a push-to-talk transmission. What the relay recorded must not contain anything a user typed
// or said, and what it can see — greetings, beacons, frame sizes, voice datagrams of one size —
// must be what the protocol promises and nothing more.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "sotto/crypto/pair_seal.h"
#include "sotto/net/beacon.h"
#include "src/net/wire.h"
#include "tests/support/adversary.h"
#include "tests/support/conversation.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"

using namespace sotto;

namespace {

// CurveZMQ MESSAGE (RFC 26): "\x07MESSAGE", nonce (8), then the box: MAC (16), flags (1), data.
constexpr size_t kCurveMessageOverhead = 8 + 8 + 16 + 1;

// The sizes a sotto frame may have on the wire: the buckets of doc/protocol.md.
bool is_bucket(size_t size) {
  return std::find(net::kFrameBuckets.begin(), net::kFrameBuckets.end(), size) !=
         net::kFrameBuckets.end();
}

}  // namespace

TEST_CASE(
    "an eavesdropper on every byte of 1:1 text, channel text and a PTT transmission sees no "
    "name, body, Opus packet or transport key, only CURVE streams of padded frames, fixed-size "
    "beacons and voice datagrams of one size",
    "[adversarial][eavesdrop]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::OverheardConversation talk;
  const Bytes alice_key = talk.alice().transport_key();
  const Bytes bob_key = talk.bob().transport_key();
  const auto transcripts = talk.relay().transcripts();
  const std::vector<Bytes> packets = talk.voice_packets();
  INFO("relay: " << talk.relay().tcp_bytes() << " TCP bytes, " << talk.relay().datagrams()
                 << " datagrams, " << transcripts.size() << " transcripts; clip of "
                 << packets.size() << " Opus packets");
  REQUIRE(packets.size() >= 50);  // 1.4 s of speech in 20 ms frames

  // Sort what was recorded: TCP streams open with the ZMTP signature, voice datagrams with their
  // version (1), beacons with "STO1".
  std::vector<const Bytes*> streams, datagrams, beacons;
  for (const Bytes& t : transcripts) {
    if (t.empty()) continue;  // a direction of a connection that never carried a byte
    if (t[0] == 0xff) {
      streams.push_back(&t);
    } else if (t[0] == crypto::PairSeal::kVersion) {
      datagrams.push_back(&t);
    } else {
      beacons.push_back(&t);
    }
  }
  // (Blocks, not SECTIONs: Catch2 would hold the whole conversation again for each section.)
  // At least one link each way (Alice -> Bob, Bob -> Alice), each seen in both directions.
  CHECK(streams.size() >= 4);
  CHECK(beacons.size() >= 2);

  {  // no name, body, channel name or Opus packet anywhere in the capture
    for (const std::string& secret : talk.user_strings()) {
      INFO(secret);
      CHECK_FALSE(talk.relay().saw(secret));
    }
    size_t packets_seen = 0;
    for (const Bytes& packet : packets) {
      for (const Bytes& t : transcripts) {
        if (test::contains(t, packet)) ++packets_seen;
      }
    }
    CHECK(packets_seen == 0);
    // Hard CBR: every packet the same size, so not even packet lengths follow the speech.
    std::set<size_t> packet_sizes;
    for (const Bytes& packet : packets) packet_sizes.insert(packet.size());
    CHECK(packet_sizes == std::set<size_t>{60});
  }

  {  // every TCP stream is CurveZMQ from its first byte, and every frame in it is padded
    size_t messages = 0;
    std::map<size_t, size_t> frame_sizes;
    for (const Bytes* stream : streams) {
      auto greeting = test::parse_zmtp_greeting(*stream);
      REQUIRE(greeting.has_value());
      CHECK(greeting->major == 3);
      CHECK(greeting->mechanism == "CURVE");
      // After the handshake (HELLO, WELCOME, INITIATE, READY; ERROR when a node's ZAP handler
      // refused a link that came before the beacon that vouches for it), only MESSAGE boxes:
      // sotto frames of a bucket size, or ZMTP's own heartbeats (a few bytes).
      for (const test::ZmtpFrame& frame : test::zmtp_frames(*stream)) {
        // A CurveZMQ command body starts with its name, length-prefixed.
        const size_t name_size = frame.body.empty() ? 0 : frame.body[0];
        REQUIRE(frame.body.size() > name_size);
        const std::string name(frame.body.begin() + 1, frame.body.begin() + 1 + name_size);
        if (name != "MESSAGE") {
          INFO("a " << name << " command");
          CHECK((name == "HELLO" || name == "WELCOME" || name == "INITIATE" || name == "READY" ||
                 name == "ERROR"));
          continue;
        }
        ++messages;
        REQUIRE(frame.body.size() >= kCurveMessageOverhead);
        const size_t data = frame.body.size() - kCurveMessageOverhead;
        ++frame_sizes[data];
        INFO("a MESSAGE carrying " << data << " bytes");
        CHECK((is_bucket(data) || data <= 32));
      }
    }
    INFO(messages << " CURVE MESSAGE boxes, " << frame_sizes[256] << " of 256 bytes");
    CHECK(messages >= 12);
    // The texts, the receipts, the Hellos, VoiceStart and VoiceEnd went in 256-byte frames; the
    // sender-key distribution and bundles in the next bucket at most.
    CHECK(frame_sizes[256] >= 8);
  }

  {  // the voice frames went as datagrams, each a 256-byte frame sealed for Bob: one size, and
     // neither transport key in any (only a tag that names the pair to the two of them)
    INFO(datagrams.size() << " voice datagrams");
    CHECK(datagrams.size() >= packets.size());
    for (const Bytes* datagram : datagrams) {
      CHECK(datagram->size() == 256 + crypto::PairSeal::kOverhead);
      CHECK_FALSE(test::contains(*datagram, alice_key));
      CHECK_FALSE(test::contains(*datagram, bob_key));
    }
  }

  {  // beacons have one fixed length and hold nothing but keys, a port and a signature
    for (const Bytes* beacon : beacons) {
      CHECK(beacon->size() == net::kBeaconSize);
      // Every byte belongs to a field of the format (net::decode_beacon accepts it), so there is
      // no room for a string.
      auto decoded = net::decode_beacon(*beacon);
      INFO(decoded.status().message());
      CHECK(decoded.is_ok());
      for (const std::string& secret : talk.user_strings()) {
        CHECK_FALSE(test::contains(*beacon, secret));
      }
    }
  }
}
