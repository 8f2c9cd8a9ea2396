// The input line's commands: parsing, usage errors, Tab completion.
#include "tui/command.h"

#include <catch2/catch.hpp>

using namespace sotto::tui;

TEST_CASE("commands parse into a name and arguments", "[tui]") {
  auto open = parse_command("/open #ops");
  REQUIRE(open.is_ok());
  CHECK(open->name == "open");
  CHECK(open->args == std::vector<std::string>{"#ops"});
  auto invite = parse_command("/channel   invite ops  bob");
  REQUIRE(invite.is_ok());
  CHECK(invite->name == "channel invite");
  CHECK(invite->args == std::vector<std::string>{"ops", "bob"});
  auto quit = parse_command("/q");
  REQUIRE(quit.is_ok());
  CHECK(quit->name == "quit");
  auto add = parse_command("/add 1596 alice");
  REQUIRE(add.is_ok());
  CHECK(add->args.size() == 2);
}

TEST_CASE("the last argument of /msg and /search keeps the text as typed", "[tui]") {
  auto msg = parse_command("/msg bob  hello   there, bob ");
  REQUIRE(msg.is_ok());
  CHECK(msg->args == std::vector<std::string>{"bob", "hello   there, bob "});
  auto search = parse_command("/search eagle landed");
  REQUIRE(search.is_ok());
  CHECK(search->args == std::vector<std::string>{"eagle landed"});
}

TEST_CASE("bad commands say what is wrong", "[tui]") {
  auto unknown = parse_command("/frobnicate");
  REQUIRE_FALSE(unknown.is_ok());
  CHECK(unknown.status().message() == "unknown command /frobnicate (try /help)");
  auto missing = parse_command("/msg bob");
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().message() == "usage: /msg NAME|#CHANNEL TEXT");
  auto extra = parse_command("/open a b");
  CHECK(extra.status().code() == sotto::StatusCode::kInvalidArgument);
  CHECK_FALSE(parse_command("/channel").is_ok());
  CHECK_FALSE(parse_command("/channel dance ops").is_ok());
  CHECK_FALSE(parse_command("/").is_ok());
}

TEST_CASE("'//' at the start sends a line that begins with a slash", "[tui]") {
  CHECK(is_command("/help"));
  CHECK_FALSE(is_command("//etc/passwd is a file"));
  CHECK_FALSE(is_command("hello"));
}

TEST_CASE("Tab completes commands, sub-commands and names", "[tui]") {
  const std::vector<std::string> names{"alice", "albert", "bob", "#ops"};
  CHECK(complete("/ver", names).line == "/verify ");
  auto slash_c = complete("/c", names);
  CHECK(slash_c.line == "/channel ");
  CHECK(complete("/channel inv", names).line == "/channel invite ");
  CHECK(complete("/open b", names).line == "/open bob ");
  CHECK(complete("/open #o", names).line == "/open #ops ");
  auto al = complete("/verify al", names);
  CHECK(al.line == "/verify al");
  CHECK(al.candidates == std::vector<std::string>{"albert", "alice"});
  auto none = complete("/open zed", names);
  CHECK(none.line == "/open zed");
  CHECK(none.candidates.empty());
  CHECK(complete("hello b", names).line == "hello bob ");
}

TEST_CASE("completion never stops inside a UTF-8 character", "[tui]") {
  const std::vector<std::string> names{"zoé", "zoë"};
  auto c = complete("/open z", names);
  CHECK(c.line == "/open zo");
  CHECK(c.candidates.size() == 2);
}

TEST_CASE("/channel invite takes several peers, all handed on as one invite", "[tui]") {
  auto invite = parse_command("/channel invite ops bob carol 3fa9c0de");
  REQUIRE(invite.is_ok());
  CHECK(invite->name == "channel invite");
  CHECK(invite->args == std::vector<std::string>{"ops", "bob", "carol", "3fa9c0de"});
  auto nobody = parse_command("/channel invite ops");
  REQUIRE_FALSE(nobody.is_ok());
  CHECK(nobody.status().message() == "usage: /channel invite CHANNEL PEER...");
}
