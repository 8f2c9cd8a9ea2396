// DaemonProfile: a profile made by the real binary (`sotto init`) and its daemon, which a test
// can stop, kill (SIGKILL) and start again on the same directory; plus the JSON the control
// socket and the CLI answer with, parsed.
//
// Errors in the helpers throw std::runtime_error with what the binary printed (Catch2 reports
// it), so they may be used from the test's main thread only.
#pragma once

#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sotto::test {

class DaemonProfile {
 public:
  // `sotto init --name NAME --kdf interactive` in a fresh temporary directory, or in
  // `parent`/p when given (e.g. on a file system of the test's making).
  explicit DaemonProfile(const std::string& name, const std::string& parent = "");
  ~DaemonProfile();
  DaemonProfile(const DaemonProfile&) = delete;
  DaemonProfile& operator=(const DaemonProfile&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& passphrase_file() const { return pass_; }
  // The passphrase as that file holds it, without its line end.
  std::string passphrase() const;

  // What start() runs: `LAUNCHER... ARGS` instead of `build/sotto ARGS`, for a daemon under
  // test conditions: the test binary with a crash point armed (tests/support/crash_points.h),
  // or `ip netns exec NETNS build/sotto`. Empty: build/sotto again.
  void set_launcher(std::vector<std::string> launcher) { launcher_ = std::move(launcher); }
  // Whether start() lets the daemon send and hear broadcast beacons; off by default, because
  // loopback daemons find each other by --peer and beacons would only cost them CPU.
  void set_discovery(bool on) { discovery_ = on; }

  // `sotto --json daemon --listen LISTEN --no-discovery EXTRA...` (without --no-discovery after
  // set_discovery(true)); waits for its "started" line.
  void start(const std::vector<std::string>& extra = {},
             const std::string& listen = "tcp://127.0.0.1:0");
  // Sends `signal` and reaps the daemon; returns its exit code (128 + signal when killed).
  int stop(int signal = SIGTERM);
  bool running() const { return daemon_ != nullptr; }
  int pid() const { return daemon_ ? daemon_->pid() : -1; }
  // The endpoint the running (or last) daemon listens on, and its port.
  const std::string& endpoint() const { return endpoint_; }
  uint16_t port() const;
  std::string fingerprint() const { return fingerprint_; }
  // Waits up to `timeout_ms` for a line the running daemon prints (after those an earlier
  // wait consumed) that contains `needle`; nullopt on timeout or when no daemon runs.
  std::optional<std::string> wait_for_output(const std::string& needle, int timeout_ms);
  // What the daemon printed (for failure messages).
  std::string daemon_output() const { return daemon_ ? daemon_->output() : last_output_; }

  // `sotto --profile DIR ARGS...` (with `stdin_text` on stdin when given).
  CommandResult sotto(std::vector<std::string> args, const std::string* stdin_text = nullptr) const;
  // The same with --passphrase-file, for commands that open the profile themselves.
  CommandResult sotto_unlocked(std::vector<std::string> args) const;
  // What `sotto ARGS...` (`unlocked`: with --passphrase-file) printed; throws, with the command
  // and its stderr, unless it exited 0.
  std::string sotto_ok(const std::vector<std::string>& args, bool unlocked = false) const;

  // One control-socket request; the parsed reply ({"ok": false, ...} included). Throws when the
  // node does not answer within `timeout_ms`.
  nlohmann::json request(const nlohmann::json& request, int timeout_ms = 10000) const;

  // The archive, oldest first: through the running node, else offline with the passphrase.
  std::vector<nlohmann::json> history(const std::string& to = "") const;
  std::vector<nlohmann::json> contacts() const;
  nlohmann::json stats() const;  // counters of the running node
  // The state ("online", ...) of the peer named `who` (a name, which a peer shows only to its
  // contacts and to nodes it dialled by --peer, or a fingerprint) in the running node's table,
  // or "".
  std::string peer_state(const std::string& who) const;
  // Waits for an invitation to `channel` from the admin `admin_fingerprint`, compares safety
  // numbers with it (`verify --confirm`: the admin reached us over a 1:1 session, so it is a
  // contact) and accepts (`channel accept`), as a user would. Throws when none comes.
  void accept_invitation(const std::string& admin_fingerprint, const std::string& channel) const;
  // The contact named `name` (the one the name finds, not a namesake), if any.
  std::optional<nlohmann::json> contact(const std::string& name) const;

  // Deletes the profile directory (the daemon must be stopped) so a test can init a new one.
  void remove_profile();
  // `sotto init` again in the same directory.
  void init(const std::string& name);

 private:
  TempDir tmp_;
  std::string dir_;
  std::string pass_;
  std::vector<std::string> launcher_;
  bool discovery_ = false;
  std::unique_ptr<BackgroundProcess> daemon_;
  std::string endpoint_;
  std::string fingerprint_;
  std::string last_output_;
};

// Both daemons running, `member` pointed at `admin` (--peer): `admin` adds `member_name` as a
// verified contact, creates #`channel` and invites it; the member accepts, and a text each way
// goes through, so sessions and sender keys are in place. Throws when a step fails or stalls.
void open_channel(DaemonProfile& admin, DaemonProfile& member, const std::string& member_name,
                  const std::string& channel);

// Parses output with one JSON object per line.
std::vector<nlohmann::json> json_lines(const std::string& text);

// Two running daemons, `member` (named `member_name`) started with --peer at `admin`, on one
// #`channel`: `admin` verifies `member`, creates the channel and invites it; `member` accepts; a
// text each way arrives, so sessions and sender keys are in place. Throws std::runtime_error
// when a step stalls.
void share_channel(const DaemonProfile& admin, const DaemonProfile& member,
                   const std::string& member_name, const std::string& channel);

}  // namespace sotto::test
