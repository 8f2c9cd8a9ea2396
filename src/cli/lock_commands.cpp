// `sotto lock` and `sotto unlock`, and how a front end locks: by replacing its process image
// (include/sotto/core/locked.h says why).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <thread>

#include "sotto/core/control_client.h"
#include "sotto/core/locked.h"
#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

using nlohmann::json;

constexpr auto kSettleTimeout = std::chrono::seconds(20);
constexpr auto kSettlePoll = std::chrono::milliseconds(100);
// An unlock runs the KDF in the node: seconds with --kdf sensitive.
constexpr int kUnlockTimeoutMs = 60000;

std::vector<std::string>& invocation() {
  static std::vector<std::string> args;
  return args;
}

// Polls the node with `request` until `done` holds for a reply: a node on its way through a
// lock or an unlock does not answer for a moment.
bool settle(const GlobalOptions& options, const json& request,
            const std::function<bool(const Result<json>&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + kSettleTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done(ask_node(options, request, 2000))) return true;
    std::this_thread::sleep_for(kSettlePoll);
  }
  return false;
}

}  // namespace

void remember_invocation(int argc, char** argv) {
  invocation().assign(argv, argv + argc);
}

int relock_process(const std::string& listen) {
  std::vector<std::string> args = invocation();
  if (args.empty()) return fail(Status::internal("cannot lock: the command line is unknown"));
  if (std::find(args.begin(), args.end(), "--locked") == args.end()) {
    args.insert(args.begin() + 1, "--locked");
  }
  if (!listen.empty()) {
    auto given = std::find_if(args.begin(), args.end(), [](const std::string& arg) {
      return arg == "--listen" || arg.rfind("--listen=", 0) == 0;
    });
    if (given == args.end()) {
      args.insert(args.end(), {"--listen", listen});
    } else if (*given == "--listen" && given + 1 != args.end()) {
      *(given + 1) = listen;
    } else {
      *given = "--listen=" + listen;
    }
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  // A signal mask survives execv: the terminal UI blocks its signals to read them from a
  // signalfd, and the fresh image must start as any other would.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execv("/proc/self/exe", argv.data());
  return fail(Status::internal(std::string("cannot restart locked: ") + std::strerror(errno)));
}

int run_lock(const GlobalOptions& options) {
  const json lock{{"cmd", "lock"}};
  auto first = ask_node(options, lock);
  if (!first.is_ok()) return fail(first.status());
  if (!first.value().value("locked", false)) {
    // A daemon comes back locked and says so; a terminal UI goes to its unlock screen, and its
    // control socket goes away.
    const bool answers = first.value().value("answers_when_locked", true);
    const bool locked = settle(options, lock, [&](const Result<json>& reply) {
      if (!answers) return !core::node_running(options.dir());
      return reply.is_ok() && reply.value().value("locked", false);
    });
    if (!locked) return fail(Status::unavailable("the node did not lock"));
  }
  if (options.json) {
    std::cout << json{{"locked", true}}.dump() << "\n";
  } else {
    std::cout << "locked: unlock with 'sotto unlock'\n";
  }
  return kExitOk;
}

int run_unlock(const GlobalOptions& options) {
  auto client = core::ControlClient::connect(options.dir());
  if (!client.is_ok()) return fail(client.status());
  auto passphrase = read_passphrase(options.passphrase, "Passphrase: ", false);
  if (!passphrase.is_ok()) return fail(passphrase.status());
  auto reply = client.value()->request(core::unlock_request(passphrase.value()), kUnlockTimeoutMs);
  if (!reply.is_ok()) return fail(reply.status());
  auto parsed = json::parse(reply.value(), nullptr, false);
  if (!parsed.is_object()) return fail(Status::internal("unexpected reply from the node"));
  if (!parsed.value("ok", false)) return fail(status_of_reply(parsed));
  // The node opens its sockets again right after the reply; wait until it answers as itself.
  const bool up =
      settle(options, json{{"cmd", "id"}}, [](const Result<json>& id) { return id.is_ok(); });
  if (!up) return fail(Status::unavailable("the node did not come back after unlocking"));
  if (options.json) {
    std::cout << json{{"locked", false}}.dump() << "\n";
  } else {
    std::cout << "unlocked\n";
  }
  return kExitOk;
}

}  // namespace sotto::cli
