// The first-run and unlock screens: fields, hidden passphrases, mismatches, the strength hint.
#include "tui/gate.h"

#include <catch2/catch.hpp>

#include "tui/canvas.h"

using namespace sotto::tui;

namespace {

std::optional<Gate::Request> type(Gate& gate, const std::string& text, bool enter = true) {
  std::optional<Gate::Request> request;
  for (char c : text) request = gate.handle(Operation::kInsert, Key::character(c));
  if (enter) request = gate.handle(Operation::kSubmit, Key::special(Key::Code::kEnter));
  return request;
}

std::string screen(const Gate& gate) {
  Canvas canvas(80, 24);
  gate.draw(canvas);
  return canvas.text();
}

}  // namespace

TEST_CASE("first run asks a name and the passphrase twice, never showing it", "[tui]") {
  Gate gate(Gate::Mode::kCreate, "/tmp/p");
  CHECK(screen(gate).find("No profile yet") != std::string::npos);
  CHECK_FALSE(type(gate, "bob"));
  CHECK_FALSE(type(gate, "Tr0ub4dor&3 horse", false));
  CHECK(screen(gate).find("Tr0ub4dor") == std::string::npos);
  CHECK(screen(gate).find("strength: good") != std::string::npos);
  CHECK_FALSE(type(gate, ""));
  CHECK(screen(gate).find("Repeat passphrase:") != std::string::npos);
  auto request = type(gate, "Tr0ub4dor&3 horse");
  REQUIRE(request);
  CHECK(request->mode == Gate::Mode::kCreate);
  CHECK(request->name == "bob");
  CHECK(request->passphrase.chars() == "Tr0ub4dor&3 horse");
}

TEST_CASE("two different passphrases start the passphrase over", "[tui]") {
  Gate gate(Gate::Mode::kCreate, "/tmp/p");
  type(gate, "bob");
  type(gate, "one");
  CHECK_FALSE(type(gate, "two"));
  CHECK(screen(gate).find("the two passphrases differ") != std::string::npos);
  CHECK(screen(gate).find("Repeat passphrase:") == std::string::npos);
  CHECK_FALSE(type(gate, ""));  // empty is refused
  CHECK(screen(gate).find("cannot be empty") != std::string::npos);
}

TEST_CASE("unlocking reports a wrong passphrase and lets the user retry", "[tui]") {
  Gate gate(Gate::Mode::kUnlock, "/tmp/p");
  auto request = type(gate, "guess");
  REQUIRE(request);
  gate.fail("wrong passphrase; try again");
  CHECK(screen(gate).find("wrong passphrase; try again") != std::string::npos);
  request = type(gate, "right");
  REQUIRE(request);
  CHECK(request->passphrase.chars() == "right");
  gate.handle(Operation::kCancel, Key::special(Key::Code::kEscape));
  CHECK(gate.quit());
}

TEST_CASE("with a passphrase given beforehand, creating asks the name only", "[tui]") {
  Gate gate(Gate::Mode::kCreate, "/tmp/p", true);
  auto request = type(gate, "carol");
  REQUIRE(request);
  CHECK(request->name == "carol");
  CHECK(request->passphrase.empty());
}

TEST_CASE("the strength hint grows with length and variety", "[tui]") {
  CHECK(passphrase_strength("abc") == "weak");
  CHECK(passphrase_strength("correcthorse") == "weak");
  CHECK(passphrase_strength("correct horse") == "fair");
  CHECK(passphrase_strength("correct horse battery") == "good");
  CHECK(passphrase_strength("Correct horse battery staple 42!") == "strong");
}
