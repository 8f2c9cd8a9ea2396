// The control socket's unlock request (review item 10): the passphrase goes to the unlock handler
// as SecretBytes and its hex never reaches a JSON parser; a handler that parses the request sees
// zeros where the hex was, and a request parses (or fails to) just as it would have.
#include <zmq.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "sotto/core/locked.h"
#include "src/core/control_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace sotto::test;
using namespace std::chrono_literals;

namespace {

// A ControlServer whose handlers record what reached them, and a DEALER that plays the CLI.
class UnlockRig {
 public:
  explicit UnlockRig(bool with_unlock_handler) {
    core::ControlServer::Handlers handlers;
    if (with_unlock_handler) {
      handlers.unlock = [this](std::optional<SecretBytes> passphrase,
                               const core::ControlServer::Reply& reply) {
        ++unlocks;
        passphrase_ =
            passphrase
                ? std::optional<Bytes>(Bytes(passphrase->view().begin(), passphrase->view().end()))
                : std::nullopt;
        reply(core::ok_json());
      };
    }
    handlers.command = [this](const std::string& cmd, const std::string& request,
                              const core::ControlServer::Reply& reply) {
      command_text = request;
      reply(cmd == "unlock" ? core::error_json("not locked") : core::ok_json());
      return true;
    };
    auto server = core::ControlServer::start(context_, poller_, dir_ / "control.sock", handlers);
    REQUIRE(server.is_ok());
    server_ = std::move(server).value();
    auto client = net::ZmqSocket::create(context_, ZMQ_DEALER);
    REQUIRE(client.is_ok());
    client_ = std::move(client).value();
    REQUIRE(client_.connect("ipc://" + dir_ / "control.sock").is_ok());
  }

  // Sends `request` (with send_secret when `secret`) and returns the reply.
  std::string ask(const std::string& request, bool secret = false) {
    passphrase_.reset();
    command_text.clear();
    REQUIRE((secret ? client_.send_secret(as_bytes(request)) : client_.send({as_bytes(request)}))
                .is_ok());
    std::string reply;
    REQUIRE(wait_until(
        [&] {
          (void)poller_.poll(0);
          auto part = client_.receive();
          if (!part.is_ok() || !part.value()) return false;
          reply.assign(part.value()->data.begin(), part.value()->data.end());
          return true;
        },
        5s));
    return reply;
  }

  // What the unlock handler was given last (nullopt also when it was given none).
  const std::optional<Bytes>& passphrase() const { return passphrase_; }

  int unlocks = 0;
  std::string command_text;  // the request as the command handler saw it

 private:
  TempDir dir_;
  net::ZmqContext context_;
  net::Poller poller_;
  std::unique_ptr<core::ControlServer> server_;
  net::ZmqSocket client_;
  std::optional<Bytes> passphrase_;
};

Bytes bytes_of(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

}  // namespace

TEST_CASE(
    "an unlock request's passphrase reaches the unlock handler whole, and a handler that parses "
    "the request sees zeros where its hex was",
    "[core][control][security]") {
  // Bytes JSON could not carry raw: a quote, a newline, a NUL.
  const std::string passphrase("a \"pass\"\nphrase\0!", 18);
  const SecretBytes request = core::unlock_request(SecretBytes::copy_of(passphrase));
  const std::string text(request.chars());

  UnlockRig locked(true);
  locked.ask(text, /*secret=*/true);
  CHECK(locked.unlocks == 1);
  REQUIRE(locked.passphrase());
  CHECK(*locked.passphrase() == bytes_of(passphrase));
  CHECK(locked.command_text.empty());
  // Any JSON spelling of the request, upper-case hex included.
  locked.ask(R"({ "passphrase_hex" :	"4A4b" , "cmd" : "unlock" })");
  REQUIRE(locked.passphrase());
  CHECK(*locked.passphrase() == bytes_of("JK"));

  UnlockRig running(false);
  const auto reply = nlohmann::json::parse(running.ask(text, /*secret=*/true));
  CHECK(reply["error"] == "not locked");
  const std::string zeros(passphrase.size() * 2, '0');
  CHECK(running.command_text == R"({"cmd":"unlock","passphrase_hex":")" + zeros + R"("})");
}

TEST_CASE(
    "an unlock request whose passphrase_hex is missing, not plain hex of even length, or given "
    "twice is refused, and a hex string of it reaches no parser",
    "[core][control][security]") {
  UnlockRig locked(true);
  UnlockRig running(false);
  // Refused, and zeroed before any parser: each is a quoted run of hex digits.
  for (const char* request : {
           R"({"cmd":"unlock","passphrase_hex":"4142434"})",
           R"({"cmd":"unlock","passphrase_hex":"4142zz"})",
           R"({"cmd":"unlock","passphrase_hex":"4142","passphrase_hex":"4142"})",
           // The key the text search finds belongs to another ("x\"passphrase_hex").
           R"({"cmd":"unlock","x\"passphrase_hex":"4142"})",
       }) {
    INFO(request);
    locked.ask(request);
    CHECK_FALSE(locked.passphrase());
    running.ask(request);
    CHECK(running.command_text.find("4142") == std::string::npos);
  }
  // Refused: no passphrase, or one in a form our client never sends (a number, escapes).
  for (const char* request : {
           R"({"cmd":"unlock"})",
           R"({"cmd":"unlock","passphrase_hex":""})",
           R"({"cmd":"unlock","passphrase_hex":4142})",
           R"({"cmd":"unlock","passphrase_hex":"\u0034\u0031"})",
       }) {
    INFO(request);
    locked.ask(request);
    CHECK_FALSE(locked.passphrase());
  }
  CHECK(locked.unlocks == 8);  // each one answered by the unlock handler, refusing it
}

TEST_CASE(
    "zeroing an unlock request's hex leaves well-formed requests well-formed and malformed "
    "ones malformed",
    "[core][control][security]") {
  UnlockRig running(false);
  for (const char* request : {
           R"({"cmd":"now","passphrase_hex":"41\"})",      // the value never ends
           R"({"cmd":"now","passphrase_hex":"41"})",       // well-formed
           R"({"cmd":"now","passphrase_hex":"4e5"})",      // a number's exponent is a hex digit
           R"({"cmd":"now","passphrase_hex":"41"}trail)",  // text after the object
           R"(["passphrase_hex":"41"])",                   // a key outside an object
       }) {
    INFO(request);
    const bool well_formed = nlohmann::json::accept(request);
    const auto reply = nlohmann::json::parse(running.ask(request));
    CHECK(reply["ok"] == well_formed);
    if (well_formed) CHECK(nlohmann::json::accept(running.command_text));
  }
}
