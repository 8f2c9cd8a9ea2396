// The App over a fake Backend: keys in, the calls it makes recorded, canned answers and events
// fed by hand, and the Canvas read back. No node, no sockets, no threads.
#include <catch2/catch.hpp>
#include <map>
#include <utility>

#include "tests/support/tui_driver.h"
#include "tui/app.h"
#include "tui/backend.h"

using namespace sotto;
using namespace sotto::tui;
using sotto::test::screen;
using sotto::test::type;

namespace {

const std::string kAliceFp(64, 'a');

core::MessageInfo from_alice(const std::string& id, const std::string& body) {
  core::MessageInfo m;
  m.id = id;
  m.conversation = kAliceFp;
  m.sender = kAliceFp;
  m.sender_name = "alice";
  m.body = body;
  return m;
}

// Answers from fields a test sets; remembers what it was asked to do.
class FakeBackend final : public Backend {
 public:
  std::vector<core::PeerInfo> peer_list;
  std::vector<core::ContactInfo> contact_list;
  std::vector<core::ChannelInfo> channel_list;
  std::map<std::string, std::vector<core::MessageInfo>> archive;  // by conversation
  std::string number;                                             // the safety number
  std::optional<Status> send_failure;
  core::PttState ptt;

  std::vector<std::pair<std::string, std::string>> sent;  // (to, text)
  std::vector<std::string> confirmed;
  std::vector<std::pair<std::string, bool>> ptt_calls;  // (channel, on)
  core::PlaybackState playback;                         // what the output device is playing
  std::vector<std::string> played_ids;                  // asked to play_out
  int playback_stops = 0;

  const std::string& endpoint() const override { return endpoint_; }
  std::vector<core::PeerInfo> peers() override { return peer_list; }

  Result<core::MessageInfo> send_text(const std::string& to, const std::string& text) override {
    if (send_failure) return *send_failure;
    sent.emplace_back(to, text);
    core::MessageInfo m;
    m.id = "m" + std::to_string(sent.size());
    m.conversation = to;
    m.outgoing = true;
    m.body = text;
    return m;
  }
  Result<core::ContactInfo> add_contact(const std::string&, const std::string&) override {
    return unused();
  }
  Result<std::string> safety_number(const std::string&) override { return number; }
  Result<core::ContactInfo> confirm_contact(const std::string& to) override {
    confirmed.push_back(to);
    core::ContactInfo c = contact_list.at(0);
    c.trust = core::Trust::kVerified;
    return c;
  }
  Result<std::vector<core::ContactInfo>> contacts() override { return contact_list; }
  Result<std::vector<core::MessageInfo>> history(const std::string& to, int64_t) override {
    return archive[to];
  }

  Result<core::ChannelInfo> create_channel(const std::string&, bool, bool) override {
    return unused();
  }
  Result<core::ChannelInfo> invite_to_channel(const std::string&,
                                              const std::vector<std::string>&) override {
    return unused();
  }
  Result<core::ChannelInfo> remove_from_channel(const std::string&, const std::string&) override {
    return unused();
  }
  Result<core::ChannelInfo> leave_channel(const std::string&) override { return unused(); }
  Result<core::ChannelInfo> accept_channel(const std::string&) override { return unused(); }
  Result<core::ChannelInfo> decline_channel(const std::string&) override { return unused(); }
  Result<std::vector<core::ChannelInfo>> channels() override { return channel_list; }
  Result<core::ChannelInfo> channel(const std::string&) override { return unused(); }

  Status push_to_talk(const std::string& channel, bool on) override {
    ptt_calls.emplace_back(channel, on);
    ptt.on_air = on;
    ptt.channel = on ? channel : "";
    return Status::ok();
  }
  core::PttState ptt_state() override { return ptt; }
  Result<core::PlayedClip> play(const std::string&, const std::string&) override {
    return unused();
  }
  Result<core::PlaybackState> play_out(const std::string& id) override {
    played_ids.push_back(id);
    playback = core::PlaybackState{};
    playback.playing = true;
    playback.message = from_alice(id, "voice clip, 4.4 s");
    playback.signature_valid = true;
    playback.total_ms = 4400;
    return playback;
  }
  void stop_playback() override {
    ++playback_stops;
    playback.playing = false;
    playback.stopped = true;
  }
  core::PlaybackState playback_state() override { return playback; }
  Result<std::vector<core::SearchHit>> search(const std::string&, const std::string&,
                                              int64_t) override {
    return unused();
  }

 private:
  static Status unused() { return Status::unavailable("not used by this test"); }

  std::string endpoint_ = "tcp://127.0.0.1:47000";
};

core::ContactInfo alice() {
  core::ContactInfo c;
  c.fingerprint = kAliceFp;
  c.name = "alice";
  c.online = true;
  return c;
}

bool shows(const App& app, const std::string& needle) {
  return screen(app).find(needle) != std::string::npos;
}

struct Fixture {
  FakeBackend backend;
  App app{backend, "/nonexistent", "bob", std::string(64, 'b')};

  Fixture() { backend.contact_list.push_back(alice()); }
};

}  // namespace

TEST_CASE("the App opens a conversation with its history and sends what is typed", "[tui][app]") {
  Fixture f;
  f.backend.archive[kAliceFp].push_back(from_alice("m0", "earlier words"));
  f.app.load();
  CHECK(shows(f.app, "alice"));

  type(f.app, "/open alice\n");
  CHECK(shows(f.app, "alice: earlier words"));
  type(f.app, "héllo alice\n");
  REQUIRE(f.backend.sent.size() == 1);
  CHECK(f.backend.sent[0] == std::make_pair(kAliceFp, std::string("héllo alice")));
  CHECK(shows(f.app, "me: héllo alice"));
  type(f.app, "//slash\n");  // a doubled slash sends a line that starts with one
  CHECK(f.backend.sent.back().second == "/slash");
}

TEST_CASE("a backend's refusal shows as a notice and adds no line", "[tui][app]") {
  Fixture f;
  f.backend.send_failure = Status::unavailable("alice is offline");
  f.app.load();
  type(f.app, "/open alice\nhello\n");
  CHECK(shows(f.app, "alice is offline"));
  CHECK_FALSE(shows(f.app, "me: hello"));
}

TEST_CASE("a message event shows in its conversation when it is opened", "[tui][app]") {
  Fixture f;
  f.app.load();
  core::Event event;
  event.body = core::MessageEvent{from_alice("m9", "are you there?")};
  f.app.on_event(event);
  CHECK(f.app.take_dirty());
  type(f.app, "/open alice\n");
  CHECK(shows(f.app, "alice: are you there?"));
}

TEST_CASE("/verify shows the backend's safety number and y marks the contact", "[tui][app]") {
  Fixture f;
  f.backend.number = "12345 67890 12345 67890 12345 67890 12345 67890 12345 67890 12345 67890";
  f.app.load();
  CHECK(shows(f.app, "alice !"));
  type(f.app, "/verify alice\n");
  CHECK(shows(f.app, "safety number with alice"));
  CHECK(shows(f.app, "12345  67890  12345  67890"));
  type(f.app, "y");
  CHECK(f.backend.confirmed == std::vector<std::string>{"alice"});
  CHECK(shows(f.app, "alice ✔"));
  CHECK_FALSE(shows(f.app, "safety number with alice"));
}

TEST_CASE("push-to-talk asks the backend in a channel and shows ON AIR", "[tui][app]") {
  Fixture f;
  core::ChannelInfo ops;
  ops.id = "c0ffee";
  ops.name = "ops";
  f.backend.channel_list.push_back(ops);
  f.app.load();

  type(f.app, "/ptt\n");  // home is not a channel
  CHECK(f.backend.ptt_calls.empty());
  CHECK(shows(f.app, "push-to-talk works in a channel"));

  type(f.app, "/open #ops\n/ptt\n");
  REQUIRE(f.backend.ptt_calls.size() == 1);
  CHECK(f.backend.ptt_calls[0] == std::make_pair(std::string("ops"), true));
  CHECK(shows(f.app, "ON AIR"));
  type(f.app, "/ptt\n");
  REQUIRE(f.backend.ptt_calls.size() == 2);
  CHECK(f.backend.ptt_calls[1] == std::make_pair(std::string("ops"), false));
  CHECK_FALSE(shows(f.app, "ON AIR"));
}

TEST_CASE("F1 opens the help over the main screen and Esc closes it", "[tui][app]") {
  Fixture f;
  f.app.load();
  f.app.on_key(Key::function(1));
  CHECK(shows(f.app, "keys and commands"));
  f.app.on_key(Key::special(Key::Code::kEscape));
  CHECK_FALSE(shows(f.app, "keys and commands"));
}

TEST_CASE("/play plays a clip on the output, shows its progress, and Esc stops it", "[tui][app]") {
  Fixture f;
  core::MessageInfo clip = from_alice("5f3a09c1aa", "voice clip, 4.4 s");
  clip.kind = core::MessageKind::kVoice;
  f.backend.archive[kAliceFp] = {from_alice("m0", "before the clip"), clip,
                                 from_alice("m1", "after the clip")};
  f.app.load();
  type(f.app, "/open alice\n/play 5f3a09c1\n");
  CHECK(f.backend.played_ids == std::vector<std::string>{"5f3a09c1"});
  CHECK(f.app.tick_interval_ms() == 100);
  CHECK(shows(f.app, "▶ alice 0.0 / 4.4 s  Esc stops"));

  f.backend.playback.elapsed_ms = 1250;
  CHECK(f.app.tick());
  CHECK(shows(f.app, "▶ alice 1.2 / 4.4 s"));
  CHECK_FALSE(f.app.tick());  // no news, no redraw

  type(f.app, "typed");
  f.app.on_key(Key::special(Key::Code::kEscape));
  CHECK(f.backend.playback_stops == 1);
  CHECK_FALSE(shows(f.app, "Esc stops"));
  CHECK(shows(f.app, "typed"));  // Esc stopped the clip; the line stays
  CHECK(f.app.tick_interval_ms() == 500);

  // Enter on an empty line plays the newest ▶ clip of the conversation; it ends by itself.
  f.app.on_key(Key::special(Key::Code::kEscape));
  f.app.on_key(Key::special(Key::Code::kEnter));
  CHECK(f.backend.played_ids.back() == "5f3a09c1aa");
  f.backend.playback.playing = false;
  CHECK(f.app.tick());
  CHECK_FALSE(shows(f.app, "Esc stops"));
}

TEST_CASE("/play says why a clip cannot play and how --wav is written", "[tui][app]") {
  Fixture f;
  f.app.load();
  type(f.app, "/play 5f3a09c1 --mp3 x\n");
  CHECK(shows(f.app, "usage: /play ID"));
  CHECK(f.backend.played_ids.empty());

  type(f.app, "/play 5f3a09c1\n");
  f.backend.playback.playing = false;
  f.backend.playback.error = "no sound device";
  CHECK(f.app.tick());
  CHECK(shows(f.app, "cannot play the clip: no sound device"));
}
