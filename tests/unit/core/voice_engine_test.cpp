// The VoiceEngine between a talker and a listener whose "network" is the test: every frame the
// talker sends is captured, so the test can check what an observer sees on the wire (hard CBR,
// DTX off, every sealed frame the same length) and hand the listener tampered, replayed and
// misdirected copies. Time is a FakeClock; speech is real (alsa-utils).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "sotto/base/clock.h"
#include "sotto/crypto/frame_cipher.h"
#include "sotto/crypto/primitives.h"
#include "sotto/voice/audio_device.h"
#include "sotto/voice/opus_codec.h"
#include "src/core/voice_engine.h"
#include "src/net/content.h"
#include "src/net/wire.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/voice_side.h"

using namespace sotto;
using test::voice_hooks;
using test::VoiceSide;

namespace {

wire::VoiceFrame voice_of(const Bytes& frame) {
  auto envelope = net::decode_frame(frame);
  REQUIRE(envelope.is_ok());
  REQUIRE(envelope.value().has_voice());
  return envelope.value().voice();
}

}  // namespace

TEST_CASE(
    "a transmission on the wire: hard CBR, every sealed frame the same length; the listener "
    "hears every authentic frame once and drops tampered, replayed and misdirected ones",
    "[core][voice][security]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir tmp;
  const std::string path = tmp / "speech.wav";
  test::write_speech(path, test::alsa_speech({"Front_Center"}));
  FakeClock clock;
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  const SecretBytes key = SecretBytes::copy_of(crypto::random_bytes(32));
  const Bytes transmission_id = crypto::random_bytes(16);

  VoiceSide talker_side;
  core::VoiceEngine talker("talker", clock, core::VoiceOptions{},
                           voice_hooks(talker_side, channel, key, transmission_id));
  REQUIRE(talker.start().is_ok());
  auto source = voice::open_wav_source(path, 960);
  REQUIRE(source.is_ok());
  std::optional<Result<core::MessageInfo>> done;
  CHECK_FALSE(talker.on_air());
  talker.talk("ops", std::move(source).value(), [&](Result<core::MessageInfo> r) { done = r; });
  bool on_air_throughout = true;  // the node holds its housekeeping back while on air
  for (int i = 0; i < 200 && !done; ++i) {
    on_air_throughout = on_air_throughout && talker.on_air();
    clock.advance_ms(20);
    talker.tick();
  }
  REQUIRE(done);
  REQUIRE(done->is_ok());
  CHECK(on_air_throughout);
  CHECK_FALSE(talker.on_air());
  REQUIRE(talker_side.closed);
  const auto& packets = talker_side.closed->packets;
  REQUIRE(packets.size() >= 70);
  const voice::CodecOptions codec;
  for (const auto& p : packets)
    CHECK(p.size() == static_cast<size_t>(voice::cbr_packet_bytes(codec)));
  auto encoder = voice::OpusEncoder::create(codec);
  REQUIRE(encoder.is_ok());
  auto settings = encoder.value().settings();
  REQUIRE(settings.is_ok());
  CHECK_FALSE(settings.value().vbr);
  CHECK_FALSE(settings.value().dtx);

  // What an observer sees: one frame per packet, all of one length, all to the listener.
  REQUIRE(talker_side.sent.size() == packets.size());
  const size_t wire_size = talker_side.sent.front().second.size();
  for (const auto& [to, frame] : talker_side.sent) {
    CHECK(to == "listener");
    CHECK(frame.size() == wire_size);
  }
  // Sealed under the transmission key: the packet is not in the clear, and opens only with it.
  const auto first = voice_of(talker_side.sent.front().second);
  CHECK(as_chars(packets.front()) != first.body().substr(0, packets.front().size()));
  auto cipher = crypto::FrameCipher::create(key, channel.id, transmission_id);
  REQUIRE(cipher.is_ok());
  auto opened = cipher.value().open(0, as_bytes(first.body()));
  REQUIRE(opened.is_ok());
  CHECK(opened.value() == packets.front());
  auto other = crypto::FrameCipher::create(SecretBytes::copy_of(crypto::random_bytes(32)),
                                           channel.id, transmission_id);
  CHECK_FALSE(other.value().open(0, as_bytes(first.body())).is_ok());

  // The listener: VoiceStart, then the frames with bad copies mixed in.
  VoiceSide listener_side;
  core::VoiceEngine listener("listener", clock, core::VoiceOptions{},
                             voice_hooks(listener_side, channel, key, transmission_id));
  REQUIRE(listener.start().is_ok());
  const wire::VoiceStart start = test::voice_start(channel, transmission_id, key, 1);
  CHECK_FALSE(listener.on_air());
  listener.on_voice_start("talker", channel, start);
  CHECK(listener.on_air());
  size_t tampered = 0;
  for (size_t i = 0; i < talker_side.sent.size(); ++i) {
    wire::VoiceFrame frame = voice_of(talker_side.sent[i].second);
    if (i % 10 == 3) {  // a bit flipped on the way: dropped, the real one still arrives
      wire::VoiceFrame bad = frame;
      std::string body = bad.body();
      body[body.size() / 2] ^= 0x01;
      bad.set_body(body);
      listener.on_frame("talker", bad);
      ++tampered;
    }
    if (i == 5) {  // moved to another seq: the header is authenticated
      wire::VoiceFrame moved = frame;
      moved.set_seq(frame.seq() + 1000);
      listener.on_frame("talker", moved);
      ++tampered;
    }
    listener.on_frame("talker", frame);
    if (i == 7) listener.on_frame("talker", frame);  // replayed
    if (i == 9) {                                    // from someone who is not the talker
      listener.on_frame("intruder", frame);
    }
    if (i == 11) {  // the same frame claimed for another channel
      wire::VoiceFrame elsewhere = frame;
      const Bytes other_channel = crypto::random_bytes(16);
      elsewhere.set_channel_id(as_chars(other_channel).data(), other_channel.size());
      listener.on_frame("talker", elsewhere);
    }
    clock.advance_ms(20);
    listener.tick();
  }
  wire::VoiceEnd end;
  end.set_transmission_id(start.transmission_id());
  end.set_channel_id(start.channel_id());
  end.set_frames(static_cast<uint32_t>(packets.size()));
  end.set_signature(std::string(64, 'x'));
  CHECK(listener.on_air());
  auto heard = listener.on_voice_end("talker", end);
  REQUIRE(heard);
  for (int i = 0; i < 20 && listener.on_air(); ++i) {  // what is still buffered plays out
    clock.advance_ms(20);
    listener.tick();
  }
  CHECK_FALSE(listener.on_air());
  CHECK(heard->packets == packets);
  CHECK(listener_side.counter("voice_frames_received") == packets.size());
  CHECK(listener_side.counter("voice_frames_dropped_auth") == tampered);
  CHECK(listener_side.counter("voice_frames_dropped_replay") == 1);
  // The intruder's copy matches no reception of its own: it is never taken for the talker's,
  // and, from no member, it is not even held in case its VoiceStart comes later.
  CHECK(listener_side.counter("voice_frames_dropped_wrong_channel") == 1);
  CHECK(listener_side.counter("voice_frames_dropped_not_member") == 1);
  CHECK(listener_side.counter("voice_frames_concealed") == 0);
  // Replayed after the end: still refused.
  listener.on_frame("talker", voice_of(talker_side.sent[2].second));
  CHECK(listener_side.counter("voice_frames_dropped_replay") +
            listener_side.counter("voice_frames_dropped_unknown") >=
        1);
}

TEST_CASE("on air, the level meter reads the latest captured frame's RMS in dBFS",
          "[core][voice]") {
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  // The Speaker's tone: a sawtooth of 48 samples, (i % 48) * 400 - 9600, so every 960-sample
  // frame holds 20 whole periods. Its mean square is 160,000 * (sum of j^2, j = -24..23) / 48 of
  // full scale's 32,768^2: -15.43 dBFS.
  test::Speaker alice("alice", channel, crypto::random_bytes(16));
  REQUIRE(alice.engine.ptt_state().on_air);
  CHECK(alice.engine.ptt_state().level_dbfs == -96.0);  // no frame captured yet
  alice.run_ms(200);
  const core::PttState state = alice.engine.ptt_state();
  REQUIRE(state.on_air);
  const double mean_square = 160000.0 * (4900 + 4324) / 48 / (32768.0 * 32768.0);
  CHECK(state.level_dbfs == Approx(10.0 * std::log10(mean_square)).margin(0.01));
  CHECK(state.level_dbfs == Approx(-15.43).margin(0.01));
}

TEST_CASE("a lost frame is concealed once its deadline passes; the stats say so", "[core][voice]") {
  FakeClock clock;
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  const SecretBytes key = SecretBytes::copy_of(crypto::random_bytes(32));
  const Bytes transmission_id = crypto::random_bytes(16);
  VoiceSide side;
  core::VoiceEngine listener("listener", clock, core::VoiceOptions{},
                             voice_hooks(side, channel, key, transmission_id));
  REQUIRE(listener.start().is_ok());
  const wire::VoiceStart start = test::voice_start(channel, transmission_id, key);
  listener.on_voice_start("talker", channel, start);
  const uint32_t frames = 20;
  for (const auto& frame : test::sealed_frames(channel, transmission_id, key, frames)) {
    if (frame.seq() != 8) listener.on_frame("talker", frame);  // frame 8 never arrives
    clock.advance_ms(20);
    listener.tick();
  }
  wire::VoiceEnd end;
  end.set_transmission_id(start.transmission_id());
  end.set_channel_id(start.channel_id());
  end.set_frames(frames);
  end.set_signature(std::string(64, 'x'));
  CHECK_FALSE(listener.on_voice_end("talker", end));  // not heard whole: no clip from here
  for (int i = 0; i < 10; ++i) {
    clock.advance_ms(20);
    listener.tick();
  }
  CHECK(side.counter("voice_frames_concealed") == 1);
  CHECK(side.counter("voice_frames_received") == frames - 1);
  const core::VoiceStats* ended = nullptr;
  for (const auto& e : side.events) {
    if (auto* v = std::get_if<core::VoiceEvent>(&e.body); v && v->phase == core::VoicePhase::kEnded)
      ended = &v->voice;
  }
  REQUIRE(ended);
  CHECK(ended->frames_lost == 1);
  CHECK(ended->frames_concealed == 1);
  CHECK(ended->frames_received == frames - 1);
  CHECK(ended->frames_sent == frames);
}

TEST_CASE(
    "while we talk, what can wait (heartbeats) waits for the middle half of a frame period, "
    "away from a frame's send and its listeners' decoding",
    "[core][voice]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir tmp;
  const std::string path = tmp / "speech.wav";
  test::write_speech(path, test::alsa_speech({"Front_Center"}));
  FakeClock clock;
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  const SecretBytes key = SecretBytes::copy_of(crypto::random_bytes(32));
  VoiceSide side;
  core::VoiceEngine talker("talker", clock, core::VoiceOptions{},
                           voice_hooks(side, channel, key, crypto::random_bytes(16)));
  REQUIRE(talker.start().is_ok());
  CHECK_FALSE(talker.quiet_from_ms());  // nobody talks: nothing waits

  auto source = voice::open_wav_source(path, 960);
  REQUIRE(source.is_ok());
  std::optional<Result<core::MessageInfo>> done;
  const int64_t started = clock.now_ms();
  talker.talk("ops", std::move(source).value(), [&](Result<core::MessageInfo> r) { done = r; });
  // Frames fall due every 20 ms from the start: the quiet part is 5 to 14 ms after each.
  for (int64_t step = 0; step < 3 * 20; ++step) {
    const int64_t into = (clock.now_ms() - started) % 20;
    const std::optional<int64_t> quiet = talker.quiet_from_ms();
    INFO("ms after the start: " << clock.now_ms() - started);
    if (into >= 5 && into < 15) {
      CHECK_FALSE(quiet);
    } else {
      REQUIRE(quiet);
      CHECK(*quiet == clock.now_ms() + (into < 5 ? 5 - into : 25 - into));
    }
    clock.advance_ms(1);
    talker.tick();
  }
  CHECK(side.sent.size() >= 2);  // frames went meanwhile

  for (int i = 0; i < 200 && !done; ++i) {
    clock.advance_ms(20);
    talker.tick();
  }
  REQUIRE(done);
  CHECK_FALSE(talker.quiet_from_ms());  // over: nothing waits
}
