// The passphrase prompt on a real terminal: sotto runs on a pseudo-terminal, we type into it.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "sotto/storage/profile.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

using namespace sotto;

namespace {

// A child process on a pseudo-terminal.
class PtyProcess {
 public:
  explicit PtyProcess(const std::vector<std::string>& args) {
    pid_ = forkpty(&master_, nullptr, nullptr, nullptr);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const std::string binary = test::sotto_binary();
      std::vector<char*> argv{const_cast<char*>(binary.c_str())};
      for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  ~PtyProcess() {
    if (pid_ > 0) wait_exit();
    if (master_ >= 0) close(master_);
  }

  // Reads until `needle` has appeared in everything read so far, or 10 s pass.
  bool read_until(const std::string& needle) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (transcript_.find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (!read_some(100)) return transcript_.find(needle) != std::string::npos;
    }
    return true;
  }
  void type(const std::string& text) { REQUIRE(write(master_, text.data(), text.size()) > 0); }
  // Waits up to 10 s for the child to exit (killing it after that, which fails the test).
  int wait_exit() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      read_some(20);
    }
    while (read_some(0) && poll_ready()) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& transcript() const { return transcript_; }

 private:
  bool poll_ready() {
    pollfd fd{master_, POLLIN, 0};
    return poll(&fd, 1, 0) > 0;
  }
  // False once the terminal is closed (the child exited).
  bool read_some(int timeout_ms) {
    pollfd fd{master_, POLLIN, 0};
    if (poll(&fd, 1, timeout_ms) <= 0) return true;
    char buffer[1024];
    ssize_t n = read(master_, buffer, sizeof buffer);
    if (n <= 0) return false;
    transcript_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int master_ = -1;
  std::string transcript_;
};

}  // namespace

TEST_CASE("init on a terminal asks for the passphrase twice without echoing it", "[cli][tty]") {
  test::TempDir tmp;
  const std::string dir = tmp / "p";
  {
    PtyProcess init({"--profile", dir, "init", "--name", "tty-user", "--kdf", "interactive"});
    REQUIRE(init.read_until("New passphrase: "));
    init.type("typed-secret-42\n");
    REQUIRE(init.read_until("Repeat passphrase: "));
    init.type("typed-secret-42\n");
    CHECK(init.wait_exit() == 0);
    CHECK(init.transcript().find("typed-secret-42") == std::string::npos);
    CHECK(init.transcript().find("tty-user") != std::string::npos);
  }
  REQUIRE(storage::Profile::exists(dir));
  PtyProcess id({"--profile", dir, "id"});
  REQUIRE(id.read_until("Passphrase: "));
  id.type("typed-secret-42\n");
  CHECK(id.wait_exit() == 0);
  CHECK(id.transcript().find("typed-secret-42") == std::string::npos);
  CHECK(id.transcript().find("fingerprint") != std::string::npos);
}

TEST_CASE("init on a terminal refuses two different passphrases", "[cli][tty]") {
  test::TempDir tmp;
  const std::string dir = tmp / "p";
  PtyProcess init({"--profile", dir, "init", "--name", "x", "--kdf", "interactive"});
  REQUIRE(init.read_until("New passphrase: "));
  init.type("one\n");
  REQUIRE(init.read_until("Repeat passphrase: "));
  init.type("two\n");
  CHECK(init.wait_exit() == 2);
  CHECK(init.transcript().find("the two passphrases differ") != std::string::npos);
  CHECK_FALSE(storage::Profile::exists(dir));
}

TEST_CASE("wipe on a terminal asks for the word 'wipe': anything else changes nothing",
          "[cli][tty][archive]") {
  test::TempDir tmp;
  const std::string dir = tmp / "p";
  const std::string pass = tmp / "pass";
  test::write_file(pass, "pw\n");
  REQUIRE(test::run_sotto({"--profile", dir, "--passphrase-file", pass, "init", "--name", "w",
                           "--kdf", "interactive"})
              .exit_code == 0);
  const Bytes header = test::read_file(dir + "/sotto.hdr");
  {
    PtyProcess refused({"--profile", dir, "wipe"});
    REQUIRE(refused.read_until("Type 'wipe' to confirm: "));
    refused.type("yes\n");
    CHECK(refused.wait_exit() == 1);
    CHECK(refused.transcript().find("nothing was changed") != std::string::npos);
  }
  CHECK(test::read_file(dir + "/sotto.hdr") == header);
  PtyProcess wipe({"--profile", dir, "wipe"});
  REQUIRE(wipe.read_until("Type 'wipe' to confirm: "));
  wipe.type("wipe\n");
  CHECK(wipe.wait_exit() == 0);
  CHECK_FALSE(std::filesystem::exists(dir));
}
