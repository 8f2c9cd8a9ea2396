// The main screen's windows: layout at 80x24 and 200x50, and what each window shows for a given
// UiState (no terminal, no node: events are fed by hand).
#include "tui/windows.h"

#include <catch2/catch.hpp>

#include "tui/state.h"

using namespace sotto;
using namespace sotto::tui;

namespace {

core::ContactInfo contact(const std::string& name, const std::string& fp, core::Trust trust,
                          const std::string& namesake_of = "") {
  core::ContactInfo c;
  c.name = name;
  c.fingerprint = fp;
  c.trust = trust;
  c.namesake_of = namesake_of;
  return c;
}

core::PeerInfo peer(const std::string& name, const std::string& fp, net::PeerState state) {
  core::PeerInfo p;
  p.name = name;
  p.fingerprint = fp;
  p.state = state;
  return p;
}

core::ChannelInfo ops_channel() {
  core::ChannelInfo ch;
  ch.id = "c0ffee";
  ch.name = "ops";
  ch.admin = "aaaa1111";
  ch.admin_name = "alice";
  ch.state = core::ChannelState::kMember;
  ch.security_code = "27513 08841 93306 55120 71942 30668";
  core::ChannelMember me;
  me.name = "alice";
  me.trust = core::MemberTrust::kMe;
  core::ChannelMember bob;
  bob.name = "bob";
  bob.trust = core::MemberTrust::kVerified;
  core::ChannelMember carol;
  carol.name = "carol";
  carol.trust = core::MemberTrust::kVouched;
  ch.members = {me, bob, carol};
  return ch;
}

core::MessageInfo text(const std::string& conversation, const std::string& id, bool outgoing,
                       const std::string& body,
                       core::MessageState state = core::MessageState::kReceived) {
  core::MessageInfo m;
  m.id = id;
  m.conversation = conversation;
  m.outgoing = outgoing;
  m.sender = outgoing ? "aaaa1111" : conversation;
  m.sender_name = outgoing ? "alice" : "bob";
  m.body = body;
  m.sent_at = 1'700'000'000'000;
  m.state = state;
  return m;
}

UiState sample_state() {
  UiState state;
  state.own_name = "alice";
  state.own_fingerprint = "aaaa1111bbbb2222";
  state.endpoint = "tcp://127.0.0.1:7001";
  state.set_contacts({contact("bob", "bbbb2222", core::Trust::kVerified),
                      contact("carol", "cccc3333", core::Trust::kUnverified),
                      contact("mallory", "dddd4444", core::Trust::kUnverified, "cccc3333")});
  state.peers["bbbb2222"] = peer("bob", "bbbb2222", net::PeerState::kOnline);
  state.peers["eeee5555"] = peer("dave", "eeee5555", net::PeerState::kOnline);
  state.set_channels({ops_channel()});
  return state;
}

}  // namespace

TEST_CASE("the layout at 80x24 has a sidebar, a two-row header, status and input rows", "[tui]") {
  const Layout l = compute_layout(80, 24);
  CHECK(l.sidebar == Rect{0, 0, 20, 22});
  CHECK(l.header == Rect{21, 0, 59, 2});
  CHECK(l.conversation == Rect{21, 2, 59, 20});
  CHECK(l.status == Rect{0, 22, 80, 1});
  CHECK(l.input == Rect{0, 23, 80, 1});
}

TEST_CASE("the layout at 200x50 widens the sidebar to its maximum", "[tui]") {
  const Layout l = compute_layout(200, 50);
  CHECK(l.sidebar == Rect{0, 0, 32, 48});
  CHECK(l.conversation == Rect{33, 2, 167, 46});
  CHECK(l.status.y == 48);
  CHECK(l.input.y == 49);
}

TEST_CASE("a narrow terminal hides the sidebar; a tiny one keeps the input line", "[tui]") {
  const Layout narrow = compute_layout(50, 20);
  CHECK(narrow.sidebar.empty());
  CHECK(narrow.conversation.x == 0);
  CHECK(narrow.conversation.w == 50);
  const Layout tiny = compute_layout(10, 1);
  CHECK(tiny.input.h == 1);
  CHECK(tiny.conversation.empty());
}

TEST_CASE("the sidebar shows channels, contacts with online and trust marks, nearby peers",
          "[tui]") {
  UiState state = sample_state();
  state.add_message(text("#c0ffee", "m1", false, "hi all"));
  Canvas canvas(80, 24);
  draw_main(canvas, state, InputLine());
  CHECK(canvas.row_text(0).rfind("CHANNELS", 0) == 0);
  CHECK(canvas.row_text(1).find("#ops 1") != std::string::npos);  // one unread
  CHECK(canvas.contains(" ● bob ✔"));
  CHECK(canvas.contains(" ○ carol !"));
  CHECK(canvas.contains(" ○ mallory ≈"));  // a namesake (of carol, here), whatever its trust
  CHECK(canvas.contains("NEARBY"));
  CHECK(canvas.contains("● dave eeee5555"));
  CHECK(canvas.row_text(22).find("alice aaaa1111") != std::string::npos);
  CHECK(canvas.row_text(22).find("2 peers online") != std::string::npos);
}

TEST_CASE("a channel's header shows its security code and how many are unverified", "[tui]") {
  UiState state = sample_state();
  state.current = state.channel_conversation(*state.find_channel("ops")).key;
  Canvas canvas(80, 24);
  draw_main(canvas, state, InputLine());
  CHECK(canvas.row_text(0).find("#ops · 3 members · admin alice") != std::string::npos);
  CHECK(canvas.row_text(1).find("code 27513 08841 93306 55120 71942 30668 · 1 unverified") !=
        std::string::npos);
  CHECK(canvas.row_text(23).rfind("#ops>", 0) == 0);
}

TEST_CASE("the conversation shows time, sender, delivery state, system and voice lines", "[tui]") {
  UiState state = sample_state();
  state.current = "bbbb2222";
  state.add_message(text("bbbb2222", "m1", false, "hello alice"));
  state.add_message(text("bbbb2222", "m2", true, "hi bob", core::MessageState::kSent));
  core::MessageInfo voice = text("bbbb2222", "5f3a09c1aa", false, "voice clip, 4.4 s");
  voice.kind = core::MessageKind::kVoice;
  state.add_message(voice);
  core::MessageInfo system = text("bbbb2222", "m4", false, "bob joined #ops");
  system.kind = core::MessageKind::kSystem;
  state.add_message(system);
  core::MessageInfo relayed = text("bbbb2222", "m5", false, "from the night shift");
  relayed.relayed_by = std::string(64, 'c');
  state.add_message(relayed);
  state.apply(core::Event{0, core::ReceiptEvent{"bbbb2222", "m2", core::MessageState::kDelivered}});
  state.add_message(text("bbbb2222", "m6", true, "while you sleep", core::MessageState::kPending));
  state.apply(core::Event{0, core::ReceiptEvent{"bbbb2222", "m6", core::MessageState::kAtMailbox}});
  state.notice("wrote /tmp/x.wav");
  Canvas canvas(80, 24);
  draw_main(canvas, state, InputLine());
  CHECK(canvas.contains(" bob: hello alice"));
  CHECK(canvas.contains(" me: hi bob ✓✓"));
  CHECK(canvas.contains(" me: while you sleep ⇢"));  // held at bob's mailbox
  CHECK(canvas.contains("▶ bob: voice clip, 4.4 s  /play 5f3a09c1"));
  CHECK(canvas.contains(" * bob joined #ops"));
  // Relayed: marked, but who relayed it is for --json only.
  CHECK(canvas.contains(" bob: from the night shift ↪"));
  CHECK_FALSE(canvas.contains("cccccccc"));
  CHECK(canvas.contains("-- wrote /tmp/x.wav"));
  CHECK(canvas.row_text(0).find("bob  ● online") != std::string::npos);
  CHECK(canvas.row_text(1).find("✔ verified") != std::string::npos);
  // The open conversation counts nothing unread.
  CHECK(state.conversations.at("bbbb2222").unread == 0);
}

TEST_CASE("long messages wrap under the text and the newest lines stay visible", "[tui]") {
  UiState state = sample_state();
  state.current = "bbbb2222";
  for (int i = 0; i < 40; ++i) {
    state.add_message(
        text("bbbb2222", "id" + std::to_string(i), false, "line " + std::to_string(i)));
  }
  state.add_message(text("bbbb2222", "long", false, std::string(120, 'x')));
  Canvas canvas(80, 24);
  draw_main(canvas, state, InputLine());
  CHECK(canvas.contains("line 39"));
  CHECK_FALSE(canvas.contains("line 20"));
  CHECK(canvas.row_text(21).find("      xxxx") != std::string::npos);
  state.conversations.at("bbbb2222").scroll = 10;
  Canvas scrolled(80, 24);
  draw_main(scrolled, state, InputLine());
  CHECK(scrolled.contains("more (PgDn)"));
}

TEST_CASE("ON AIR, the level meter and busy channels show in the status bar", "[tui]") {
  UiState state = sample_state();
  state.ptt.on_air = true;
  state.ptt.channel = "ops";
  state.ptt.elapsed_ms = 2300;
  state.ptt.level_dbfs = -30;
  Canvas canvas(80, 24);
  draw_main(canvas, state, InputLine());
  CHECK(canvas.row_text(22).rfind(" ON AIR #ops 2.3s ▮▮▮▮▯▯▯▯", 0) == 0);
  CHECK(canvas.row_text(1).find("#ops 1 ◉") == std::string::npos);
  CHECK(canvas.row_text(1).find("◉") != std::string::npos);
  state.ptt = {};
  state.ptt.busy = {"ops"};
  Canvas busy(80, 24);
  draw_main(busy, state, InputLine());
  CHECK(busy.row_text(22).rfind(" BUSY #ops", 0) == 0);
  CHECK(level_meter(0, 4) == "▮▮▮▮");
  CHECK(level_meter(-96, 4) == "▯▯▯▯");
}

TEST_CASE("voice events put talkers on air in the channel header", "[tui]") {
  UiState state = sample_state();
  state.current = state.channel_conversation(*state.find_channel("ops")).key;
  core::VoiceEvent started;
  started.phase = core::VoicePhase::kStarted;
  started.voice.channel = "ops";
  started.voice.talker_name = "bob";
  state.apply(core::Event{0, started});
  Canvas canvas(80, 24);
  draw_main(canvas, state, InputLine());
  CHECK(canvas.row_text(0).find("ON AIR: bob") != std::string::npos);
  core::VoiceEvent ended = started;
  ended.phase = core::VoicePhase::kEnded;
  state.apply(core::Event{0, ended});
  CHECK_FALSE(state.channel_on_air("ops"));
}

TEST_CASE("the same screen draws at 200x50 with room to spare", "[tui]") {
  UiState state = sample_state();
  state.current = state.channel_conversation(*state.find_channel("ops")).key;
  Canvas canvas(200, 50);
  draw_main(canvas, state, InputLine());
  CHECK(canvas.row_text(1).find("#ops") != std::string::npos);
  CHECK(canvas.row_text(48).find("F1 help") != std::string::npos);
  CHECK(canvas.row_text(49).rfind("#ops>", 0) == 0);
}

TEST_CASE("events keep the state current: peers, contacts, channels, receipts", "[tui]") {
  UiState state = sample_state();
  state.apply(core::Event{0, core::PeerEvent{peer("dave", "eeee5555", net::PeerState::kOffline)}});
  CHECK(state.nearby().empty());
  // A new identity that took bob's name: a separate contact, announced as what it is.
  core::ContactEvent namesake{contact("bob", "ffff6666", core::Trust::kUnverified, "bbbb2222"),
                              core::ContactChange::kAdded};
  state.apply(core::Event{0, namesake});
  CHECK(state.find_contact("bob")->fingerprint == "bbbb2222");
  CHECK(state.conversations.at("ffff6666").lines.back().origin == LineOrigin::kError);
  CHECK(state.find_contact("bbbb") != nullptr);  // a fingerprint prefix
  CHECK(state.find_channel("#ops") != nullptr);
  // Namesakes complete to their fingerprint: typing a name never picks one.
  CHECK(state.completion_names() ==
        std::vector<std::string>{"bob", "ffff6666", "carol", "dddd4444", "#ops"});
  CHECK(state.conversation_order().front() == UiState::kHome);
  // A channel message's receipt names the member who acknowledged it, not the channel.
  state.add_message(text("#c0ffee", "c1", true, "radio check", core::MessageState::kSent));
  CHECK(state.apply(
      core::Event{0, core::ReceiptEvent{"bbbb2222", "c1", core::MessageState::kDelivered}}));
  CHECK(state.conversations.at("#c0ffee").lines.back().state == core::MessageState::kDelivered);
  CHECK_FALSE(state.apply(
      core::Event{0, core::ReceiptEvent{"bbbb2222", "nope", core::MessageState::kDelivered}}));
}

namespace {

std::string collapse_spaces(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// The inside of a dialog drawn on `canvas`: its rows between the frame's side bars, joined by
// spaces, so a line wrapped over rows reads as it was written.
std::string dialog_text(const Canvas& canvas) {
  const std::string bar = "│";
  std::string text;
  for (int y = 0; y < canvas.height(); ++y) {
    const std::string row = canvas.row_text(y);
    const size_t left = row.find(bar);
    const size_t right = row.rfind(bar);
    if (left == std::string::npos || right == left) continue;
    text += row.substr(left + bar.size(), right - left - bar.size()) + " ";
  }
  return collapse_spaces(text);
}

}  // namespace

TEST_CASE("the help box wraps its lines between words at 80 columns, cutting none", "[tui]") {
  const Dialog help = help_dialog(Keymap());
  Canvas canvas(80, 200);  // tall enough to show every row at once
  help.draw(canvas);
  const std::string shown = dialog_text(canvas);
  for (const std::string& line : help.lines) {
    INFO(line);
    CHECK(shown.find(collapse_spaces(line)) != std::string::npos);
  }
  // What a new user saw cut: "lock: close the archive, wipe the keys, back to the u…".
  CHECK(shown.find("back to the unlock screen") != std::string::npos);
}

TEST_CASE("a wrapped help line continues under its description, not under its key", "[tui]") {
  Dialog d;
  d.title = "help";
  d.lines.push_back("F12     lock: close the archive, wipe the keys, back to the unlock screen");
  Canvas canvas(40, 10);
  d.draw(canvas);
  CHECK(canvas.row_text(2).rfind("│ F12     lock: close the archive, ", 0) == 0);
  CHECK(canvas.row_text(3).rfind("│         wipe the keys, back to the ", 0) == 0);
  CHECK(canvas.row_text(4).rfind("│         unlock screen ", 0) == 0);
}
