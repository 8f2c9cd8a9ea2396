// The control socket's requests read into types (control_request.h): unknown commands, bad
// arguments refused with the errors the CLI has always shown, defaults where a field is missing.
#include "src/core/control_request.h"

#include <catch2/catch.hpp>

#include "src/core/control_dispatch.h"

using namespace sotto;
using nlohmann::json;
namespace control = core::control;

namespace {

template <typename T>
T parsed_as(const std::string& cmd, const json& request) {
  auto parsed = core::parse_control_request(cmd, request);
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->is_ok());
  REQUIRE(std::holds_alternative<T>(parsed->value()));
  return std::get<T>(parsed->value());
}

Status refusal(const std::string& cmd, const json& request) {
  auto parsed = core::parse_control_request(cmd, request);
  REQUIRE(parsed.has_value());
  REQUIRE_FALSE(parsed->is_ok());
  return parsed->status();
}

}  // namespace

TEST_CASE("a command nobody handles is not a request", "[core][control]") {
  CHECK_FALSE(core::parse_control_request("launch", json::object()).has_value());
  CHECK_FALSE(core::parse_control_request("", json::object()).has_value());
  CHECK_FALSE(core::parse_control_request("SEND", json::object()).has_value());
}

TEST_CASE("fields of the wrong type read as missing", "[core][control]") {
  const auto send = parsed_as<control::Send>("send", {{"to", 7}, {"text", "hi"}});
  CHECK(send.to.empty());
  CHECK(send.text == "hi");
  const auto verify = parsed_as<control::Verify>("verify", {{"to", "bob"}, {"confirm", "yes"}});
  CHECK_FALSE(verify.confirm);
  const auto replace = parsed_as<control::Replace>("replace", {{"old", "a"}, {"new", "b"}});
  CHECK(replace.old_contact == "a");
  CHECK(replace.new_contact == "b");
}

TEST_CASE("history's limit is 50 unless given, and kept within 1..1,000,000", "[core][control]") {
  CHECK(parsed_as<control::History>("history", {{"to", "bob"}}).limit == 50);
  CHECK(parsed_as<control::History>("history", {{"limit", 0}}).limit == 1);
  CHECK(parsed_as<control::History>("history", {{"limit", 5'000'000}}).limit == 1'000'000);
  CHECK(parsed_as<control::History>("history", {{"limit", 1.5}}).limit == 50);
}

TEST_CASE("a channel request names one of its actions; strict is the default", "[core][control]") {
  const auto create = parsed_as<control::Channel>("channel", {{"action", "create"}, {"name", "x"}});
  CHECK(create.action == control::ChannelAction::kCreate);
  CHECK(create.strict);
  CHECK_FALSE(create.free_voice);
  const auto loose = parsed_as<control::Channel>(
      "channel", {{"action", "create"}, {"strict", false}, {"free", true}});
  CHECK_FALSE(loose.strict);
  CHECK(loose.free_voice);
  CHECK(parsed_as<control::Channel>("channel", {{"action", "roster"}}).action ==
        control::ChannelAction::kRoster);

  const Status unknown = refusal("channel", {{"action", "explode"}});
  CHECK(unknown.code() == StatusCode::kInvalidArgument);
  CHECK(unknown.message() ==
        "unknown channel action 'explode' (create, invite, remove, leave, accept, decline, list "
        "or roster)");
}

TEST_CASE("ptt, expire and export refuse arguments they cannot act on", "[core][control]") {
  CHECK(refusal("ptt", {{"action", "maybe"}}).message() == "ptt action must be on or off");
  CHECK(parsed_as<control::Ptt>("ptt", {{"action", "on"}, {"channel", "ops"}}).on);
  CHECK(refusal("expire", {{"to", "bob"}}).message() == "expire needs expire_ms (0: off)");
  CHECK(refusal("expire", {{"expire_ms", "10"}}).code() == StatusCode::kInvalidArgument);
  CHECK(parsed_as<control::Expire>("expire", {{"expire_ms", 0}}).expire_ms == 0);
  CHECK(refusal("export", {{"out", "relative.json"}}).message() ==
        "the node needs an absolute path for the export file, not relative.json");
  CHECK(refusal("export", {{"out", "/x"}, {"format", "pdf"}}).message() ==
        "unknown export format 'pdf' (json or text)");
  const auto text = parsed_as<control::Export>(
      "export", {{"out", "/tmp/x"}, {"format", "text"}, {"since", 5}, {"force", true}});
  CHECK(text.options.format == core::ExportFormat::kText);
  CHECK(text.options.since_ms == 5);
  CHECK(text.options.force);
  CHECK(parsed_as<control::Export>("export", json::object()).options.format ==
        core::ExportFormat::kJson);
}

TEST_CASE("search has the archive's default limit", "[core][control]") {
  CHECK(parsed_as<control::Search>("search", {{"query", "q"}}).limit == core::kDefaultSearchLimit);
}

TEST_CASE("an error reply carries the message and the status code's name", "[core][control]") {
  const auto reply =
      json::parse(core::ControlDispatcher::error_reply(Status::busy("someone is talking")));
  CHECK(reply == json{{"ok", false}, {"error", "someone is talking"}, {"code", "busy"}});
}

TEST_CASE("play writes one file and export one voice format; anything else is refused",
          "[core][control][ogg]") {
  CHECK(refusal("play", {{"id", "ab"}, {"ogg", "/x.opus"}, {"wav", "/x.wav"}}).message() ==
        "play writes one file: ogg or wav, not both");
  const auto ogg = parsed_as<control::Play>("play", {{"id", "ab"}, {"ogg", "/x.opus"}});
  CHECK(ogg.format == core::VoiceFileFormat::kOgg);
  CHECK(ogg.out == "/x.opus");
  // A wrong type reads as missing, as for every request: then it is a WAV request.
  CHECK(parsed_as<control::Play>("play", {{"id", "ab"}, {"ogg", 7}}).format ==
        core::VoiceFileFormat::kWav);
  CHECK(refusal("export", {{"out", "/x"}, {"voice", "mp3"}}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(refusal("export", {{"out", "/x"}, {"voice", std::string(5000, 'o')}}).code() ==
        StatusCode::kInvalidArgument);
  CHECK(parsed_as<control::Export>("export", json::object()).options.voice ==
        core::VoiceFileFormat::kOgg);
  CHECK(parsed_as<control::Export>("export", {{"voice", "wav"}}).options.voice ==
        core::VoiceFileFormat::kWav);
}

TEST_CASE("a channel create or invite names its members as a list; peer is the one-member form",
          "[core][control]") {
  const auto create = parsed_as<control::Channel>(
      "channel", {{"action", "create"}, {"name", "ops"}, {"members", {"bob", "carol"}}});
  CHECK(create.members == std::vector<std::string>{"bob", "carol"});
  const auto one = parsed_as<control::Channel>(
      "channel", {{"action", "invite"}, {"name", "ops"}, {"peer", "bob"}});
  CHECK(one.members == std::vector<std::string>{"bob"});
  const auto both = parsed_as<control::Channel>(
      "channel",
      {{"action", "invite"}, {"name", "ops"}, {"peer", "bob"}, {"members", {"carol", "dave"}}});
  CHECK(both.members == std::vector<std::string>{"bob", "carol", "dave"});
  // Not a list: read as missing, like any field of the wrong type (the node then asks for one).
  CHECK(parsed_as<control::Channel>(
            "channel", {{"action", "invite"}, {"name", "ops"}, {"members", "bob,carol"}})
            .members.empty());
  // A list with anything but strings in it is refused whole: acting on part would add the
  // wrong members.
  const Status mixed =
      refusal("channel", {{"action", "invite"}, {"name", "ops"}, {"members", {"bob", 7}}});
  CHECK(mixed.code() == StatusCode::kInvalidArgument);
  CHECK(mixed.message() == "members must be a list of strings");
}
