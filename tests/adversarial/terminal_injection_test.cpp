// Security round item 9: terminal injection. A peer chooses the text of its messages, its display
// name (Hello), and — as a channel's admin — the channel's name and the names of its members in
// the signed roster. None of it may reach the user's terminal as something the terminal obeys
// (ESC/CSI/OSC sequences, C0 and C1 controls, carriage return, backspace), as Unicode bidi
// controls that reorder what is shown, or as a line break that starts a forged record. The CLI's
// human output and the TUI's canvas are read back and checked by an oracle written here, apart
// from the code under test; the CLI's --json output must still carry the text byte for byte.
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/core/events.h"
#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"
#include "tui/canvas.h"
#include "tui/state.h"
#include "tui/windows.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using test::DaemonProfile;
using test::wait_until;

namespace {

// A display name sent in Hello (the node refuses C0 there, so: C1 CSI and NEL, bidi override,
// isolate and mark).
const std::string kHostileName = "mallory\u202E\u2066yrollam\u009B2J\u200F\u0085";
// What Mallory calls Alice: it goes out as Alice's member name in Mallory's signed roster.
const std::string kHostileAlias = "\x1b[2K\r\u2714 verified admin\x1b[8m";
// A channel name: no spaces or '#', anything else of UTF-8 (an OSC window title, C1, bidi).
const std::string kHostileChannel = "ops\x1b]0;owned\x07\u009B1K\u202E";
// A body that, printed raw, erases its own line and forges a verified one, then a record of its
// own on a new line, then reverses, hides and retitles.
const std::string kForgedLine = "\u2714 verified alice: wire the money";
const std::string kForgedRecord = "2026-01-01 00:00:00  alice: ok";
const std::string kHostileBody = "fine\x1b[2K\r" + kForgedLine + "\n" + kForgedRecord +
                                 "\b\b\u202Ekcab\u202C\u2067x\u2069\u061C\u200E\x7f\u009B31m"
                                 "\u0090\x1b]0;title\x07\r\n\u2028\u2029end";

// Decodes one code point of `text` at `pos` and advances past it; nullopt for invalid UTF-8.
std::optional<char32_t> next_code_point(std::string_view text, size_t& pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  const size_t length = lead < 0x80         ? 1
                        : (lead >> 5) == 6  ? 2
                        : (lead >> 4) == 14 ? 3
                        : (lead >> 3) == 30 ? 4
                                            : 0;
  if (length == 0 || pos + length > text.size()) return std::nullopt;
  char32_t c = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return std::nullopt;
    c = (c << 6) | (byte(pos + i) & 0x3F);
  }
  pos += length;
  return c;
}

// What a terminal obeys or reorders by: C0 but the line feed (when `newline_ok`, the one record
// separator of line output), DEL, C1, bidi embeddings, overrides, isolates and marks, and the
// Unicode line and paragraph separators.
bool obeyed(char32_t c, bool newline_ok) {
  if (c == '\n') return !newline_ok;
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x061C || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

// The first thing in `text` a terminal would obey, as "U+XXXX at byte N" (or "invalid UTF-8
// at byte N"); empty when there is none.
std::string first_obeyed(std::string_view text, bool newline_ok = true) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t at = pos;
    const auto c = next_code_point(text, pos);
    if (!c) return "invalid UTF-8 at byte " + std::to_string(at);
    if (obeyed(*c, newline_ok)) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(*c));
      return std::string(hex) + " at byte " + std::to_string(at);
    }
  }
  return "";
}

// `text` with every byte outside printable ASCII as \xNN, for a failure message that does not
// itself drive the terminal the test runs in.
std::string escaped(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\n' || (c >= 0x20 && c < 0x7F)) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
    }
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Checks one human-readable output: nothing a terminal obeys, and no line that begins with
// text the peer wrote to look like a line of ours.
void check_shown(const std::string& what, const std::string& output) {
  INFO(what << ":\n" << escaped(output));
  CHECK(first_obeyed(output) == "");
  for (const std::string& line : lines_of(output)) {
    CHECK(line.rfind(kForgedLine, 0) != 0);
    CHECK(line.rfind(kForgedRecord, 0) != 0);
  }
}

bool has_channel(const DaemonProfile& node) {
  json reply = node.request({{"cmd", "channel"}, {"action", "list"}});
  for (const auto& c : reply.value("channels", json::array())) {
    if (c.value("name", "") == kHostileChannel) return true;
  }
  return false;
}

bool has_body(const DaemonProfile& node) {
  for (const json& m : node.history()) {
    if (m.value("body", "") == kHostileBody) return true;
  }
  return false;
}

// Every cell of the canvas holds something a terminal only draws.
void check_canvas(const std::string& what, const tui::Canvas& canvas) {
  for (int y = 0; y < canvas.height(); ++y) {
    for (int x = 0; x < canvas.width(); ++x) {
      const std::string& glyph = canvas.at(x, y).glyph;
      INFO(what << ": cell (" << x << ", " << y << ") " << escaped(glyph) << " in row "
                << escaped(canvas.row_text(y)));
      CHECK(first_obeyed(glyph, false) == "");
    }
  }
}

}  // namespace

TEST_CASE(
    "a hostile peer's names, channel and text reach every human output of the CLI neutralised, "
    "and --json keeps them byte for byte",
    "[adversarial][cli][terminal]") {
  DaemonProfile alice("alice");
  DaemonProfile mallory(kHostileName);
  alice.start();
  test::BackgroundProcess events(test::sotto_binary(), {"--profile", alice.dir(), "events"});
  mallory.start({"--peer", alice.endpoint()});
  REQUIRE(wait_until(
      [&] {
        return alice.peer_state(kHostileName) == "online" &&
               mallory.peer_state(alice.fingerprint()) == "online";
      },
      10s));
  const std::string alice_fp = alice.fingerprint().substr(0, 16);
  const std::string mallory_fp = mallory.fingerprint().substr(0, 16);

  const auto added = alice.sotto({"add", mallory_fp});
  REQUIRE(added.exit_code == 0);
  mallory.sotto_ok({"add", alice_fp, "--name", kHostileAlias});
  mallory.sotto_ok({"channel", "create", kHostileChannel, "--open"});
  mallory.sotto_ok({"channel", "invite", kHostileChannel, alice_fp});
  mallory.sotto_ok({"send", alice_fp, kHostileBody});
  REQUIRE(wait_until([&] { return has_channel(alice) && has_body(alice); }, 10s));

  check_shown("add", added.out);
  check_shown("peers", alice.sotto_ok({"peers"}));
  check_shown("contacts", alice.sotto_ok({"contacts"}));
  check_shown("channel list", alice.sotto_ok({"channel", "list"}));
  check_shown("channel roster", alice.sotto_ok({"channel", "roster", kHostileChannel}));
  check_shown("search", alice.sotto_ok({"search", "money"}));
  const std::string history = alice.sotto_ok({"history"});
  check_shown("history", history);
  // One record per line: a line break in a body cannot start a record of its own.
  const auto records = test::json_lines(alice.sotto_ok({"history", "--json"}));
  CHECK(lines_of(history).size() == records.size());
  // An error that names the peer's channel, on stderr.
  const auto refused = alice.sotto({"channel", "create", kHostileChannel});
  CHECK(refused.exit_code == 2);
  check_shown("an error naming the channel", refused.err);
  CHECK(test::one_line_error(refused));
  // The event stream saw Mallory's name arrive.
  REQUIRE(events.wait_for_line("mallory", 10000).has_value());
  events.stop(SIGTERM);
  check_shown("events", events.output());

  // --json: the same text, byte for byte, and JSON that is itself safe to print.
  bool body_found = false;
  for (const json& m : records) body_found = body_found || m.value("body", "") == kHostileBody;
  CHECK(body_found);
  const std::string roster_json = alice.sotto_ok({"channel", "roster", kHostileChannel, "--json"});
  check_shown("channel roster --json", roster_json);
  const json roster = json::parse(roster_json);
  CHECK(roster.value("name", "") == kHostileChannel);
  bool alias_found = false;
  for (const json& m : roster.value("members", json::array())) {
    alias_found = alias_found || m.value("name", "") == kHostileAlias;
  }
  CHECK(alias_found);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"peers", "--json"}, {"contacts", "--json"}, {"history", "--json"}}) {
    const std::string out = alice.sotto_ok(args);
    check_shown(args.front() + " --json", out);
    CHECK(out.find("mallory") != std::string::npos);
    bool name_found = false;
    for (const json& j : test::json_lines(out)) {
      name_found = name_found || j.value("name", "") == kHostileName ||
                   j.value("sender_name", "") == kHostileName;
    }
    CHECK(name_found);
  }
}

TEST_CASE(
    "a hostile peer's names, channel and text are drawn by the TUI neutralised, and its line "
    "breaks never start a line of their own",
    "[adversarial][tui][terminal]") {
  const std::string fp(64, 'a');
  const std::string channel_id(32, 'c');
  tui::UiState state;
  state.own_name = "alice";
  state.own_fingerprint = std::string(64, 'e');
  core::PeerInfo stranger;
  stranger.fingerprint = std::string(64, 'b');
  stranger.name = kHostileName;
  stranger.state = net::PeerState::kOnline;
  state.peers[stranger.fingerprint] = stranger;
  core::ContactInfo contact;
  contact.fingerprint = fp;
  contact.name = kHostileAlias;
  state.set_contacts({contact});
  core::ChannelInfo channel;
  channel.id = channel_id;
  channel.name = kHostileChannel;
  channel.admin = fp;
  channel.admin_name = kHostileName;
  channel.state = core::ChannelState::kMember;
  core::ChannelMember member;
  member.fingerprint = fp;
  member.name = kHostileAlias;
  member.trust = core::MemberTrust::kVouched;
  member.vouched_by = kHostileName;
  channel.members = {member};
  state.set_channels({channel});

  core::MessageInfo text;
  text.id = "01";
  text.conversation = fp;
  text.sender = fp;
  text.sender_name = kHostileName;
  text.body = kHostileBody;
  text.sent_at = 1'700'000'000'000;
  text.state = core::MessageState::kReceived;
  state.add_message(text);
  core::MessageInfo in_channel = text;
  in_channel.id = "02";
  in_channel.conversation = "#" + channel_id;
  in_channel.channel = kHostileChannel;
  state.add_message(in_channel);
  core::MessageInfo system = in_channel;
  system.id = "03";
  system.kind = core::MessageKind::kSystem;
  system.body = kHostileName + " created #" + kHostileChannel;
  state.add_message(system);
  state.apply(core::Event{
      0,
      core::AlertEvent{core::AlertKind::kUntrustedIdentity, kHostileName + " " + kHostileBody},
      {}});
  state.apply(core::Event{0, core::ContactEvent{contact, core::ContactChange::kReplaced}, {}});
  core::VoiceEvent voice;
  voice.phase = core::VoicePhase::kStarted;
  voice.voice.channel = kHostileChannel;
  voice.voice.talker = fp;
  voice.voice.talker_name = kHostileAlias;
  state.apply(core::Event{0, voice, {}});

  const tui::InputLine input;
  for (const std::string& key : {fp, "#" + channel_id}) {
    state.current = key;
    tui::Canvas canvas(160, 40);
    tui::draw_main(canvas, state, input);
    check_canvas("main screen, conversation " + key.substr(0, 4), canvas);
  }

  tui::Dialog roster;
  roster.title = "#" + kHostileChannel + " roster";
  roster.lines = {"● " + kHostileAlias + "  vouched by " + kHostileName, kHostileBody};
  roster.footer = "Esc: close";
  tui::Canvas dialog_canvas(120, 30);
  roster.draw(dialog_canvas);
  check_canvas("a dialog", dialog_canvas);

  // A line break in a body continues the message indented: no screen line but the first starts
  // where a message's time does, however narrow the window.
  for (int width : {100, 40, 12, 4}) {
    const auto lines = tui::format_message(text, width);
    REQUIRE(lines.size() >= 2);
    CHECK(lines.front().text.rfind(tui::clock_time(text.sent_at).substr(0, 2), 0) == 0);
    for (size_t i = 1; i < lines.size(); ++i) {
      INFO("width " << width << ": " << escaped(lines[i].text));
      CHECK(lines[i].text.rfind(' ', 0) == 0);
    }
  }
}
