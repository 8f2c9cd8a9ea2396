// The bash completion as a person meets it: an interactive bash in a tmux server of the test's
// own, the completion sourced from this tree, Tab pressed after partial commands. Names come from
// a running node (its contacts and channels); without one, nothing asks for a passphrase.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/skip.h"
#include "tests/support/source_tree.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTmuxPath = "/usr/bin/tmux";

// One interactive bash (no rc files) in a private tmux server, with build/ first on its PATH
// and the completion loaded. The server goes with the object.
class CompletingShell {
 public:
  CompletingShell()
      : server_("sotto-completion-" + std::to_string(::getpid())),
        build_dir_(std::filesystem::path(test::sotto_binary()).parent_path().string()) {
    const std::string path = build_dir_ + ":/usr/bin:/bin";
    tmux({"-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "40", "env", "-i",
          "PATH=" + path, "HOME=/tmp", "TERM=xterm", "PS1=$ ", "/bin/bash", "--norc", "--noprofile",
          "-i"});
    type("source '" + test::source_path("packaging/completion/bash/sotto").string() + "'; clear\n");
  }
  ~CompletingShell() { tmux({"kill-server"}); }
  CompletingShell(const CompletingShell&) = delete;
  CompletingShell& operator=(const CompletingShell&) = delete;

  void type(const std::string& text) { tmux({"send-keys", "-l", text}); }
  void tab() { tmux({"send-keys", "Tab"}); }
  // Types `text` and asks bash for the list of what may follow (the second Tab lists).
  void list_after(const std::string& text) {
    type(text);
    tab();
    tab();
  }
  // Ends the line being typed without running it.
  void cancel() { tmux({"send-keys", "C-c"}); }
  std::string screen() { return tmux({"capture-pane", "-p"}).out; }
  bool shows(const std::string& text) {
    const bool found =
        test::wait_until([&] { return screen().find(text) != std::string::npos; }, 10s);
    if (!found) UNSCOPED_INFO("waited for '" << text << "'; the screen:\n" << screen());
    return found;
  }

 private:
  test::CommandResult tmux(std::vector<std::string> args) {
    args.insert(args.begin(), {"-L", server_});
    return test::run_command(kTmuxPath, args);
  }

  std::string server_;
  std::string build_dir_;
};

}  // namespace

TEST_CASE("in bash, Tab completes sotto's commands, options and the node's names",
          "[packaging][completion][integration]") {
  SOTTO_SKIP_UNLESS(::access(kTmuxPath, X_OK) == 0, "tmux is missing (run make deps)");
  test::DaemonProfile alice("alice");
  test::DaemonProfile bob("bob");
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  REQUIRE(test::wait_until([&] { return alice.peer_state("bob") == "online"; }, 10s));
  alice.sotto_ok({"add", "bob"});
  alice.sotto_ok({"channel", "create", "ops"});

  CompletingShell shell;
  const std::string profile = "sotto --profile " + alice.dir() + " ";
  // One match: Tab types it out (and a space, which the screen's copy does not keep).
  shell.type(profile + "chan");
  shell.tab();
  CHECK(shell.shows(profile + "channel"));
  shell.type("ros");
  shell.tab();
  CHECK(shell.shows(profile + "channel roster"));
  shell.tab();
  CHECK(shell.shows(profile + "channel roster ops"));
  shell.cancel();

  // Several: the second Tab lists them, contacts and #channels alike.
  shell.list_after(profile + "send ");
  CHECK(shell.shows("bob"));
  CHECK(shell.shows("\\#ops"));
  shell.cancel();

  shell.list_after(profile + "export --for");
  CHECK(shell.shows("--force"));
  CHECK(shell.shows("--format"));
  shell.cancel();

  // Without a running node, no names and no passphrase prompt: Tab offers nothing.
  bob.stop();
  shell.list_after("sotto --profile " + bob.dir() + " send ");
  shell.type("x");
  CHECK(shell.shows(bob.dir() + " send x"));
  CHECK(shell.screen().find("assphrase") == std::string::npos);
  shell.cancel();
}
