#include "tui/run.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "sotto/base/clock.h"
#include "sotto/core/account.h"
#include "sotto/core/profile_dir.h"
#include "tui/app.h"
#include "tui/gate.h"
#include "tui/node_backend.h"
#include "tui/terminal.h"

namespace sotto::tui {
namespace {

constexpr const char* kLogFile = "tui.log";

// While the UI is up, stderr goes to a file (the profile's tui.log once there is a profile,
// /dev/null before), so nothing a library prints lands on the screen. Restored on scope exit.
class StderrRedirect {
 public:
  StderrRedirect() : saved_(dup(STDERR_FILENO)) { to("/dev/null", false); }
  ~StderrRedirect() {
    if (saved_ >= 0) {
      dup2(saved_, STDERR_FILENO);
      close(saved_);
    }
  }
  StderrRedirect(const StderrRedirect&) = delete;
  StderrRedirect& operator=(const StderrRedirect&) = delete;

  void to(const std::string& path, bool append) {
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : 0), 0600);
    if (fd < 0) return;
    dup2(fd, STDERR_FILENO);
    close(fd);
  }

 private:
  int saved_;
};

// Blocks the terminal's signals in this thread (and the threads it starts: the node's loop and
// ZeroMQ's), so they reach the UI thread's handlers only; restores the mask on scope exit.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGWINCH, SIGTERM, SIGHUP, SIGINT}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, &saved_);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t saved_;
};

void show(Terminal& terminal, const Gate& gate) {
  Canvas canvas(terminal.width(), terminal.height());
  gate.draw(canvas);
  terminal.render(canvas);
}

// The gate loop: until the profile is unlocked (or created), or the user gives up.
Result<std::unique_ptr<core::Account>> unlock(Terminal& terminal, const TuiOptions& options) {
  const bool exists = core::profile_exists(options.profile_dir);
  if (exists && options.passphrase && !options.start_locked) {
    return core::Account::open(options.profile_dir, *options.passphrase);
  }
  const bool passphrase_given = options.passphrase.has_value() && !options.start_locked;
  Gate gate(exists ? Gate::Mode::kUnlock : Gate::Mode::kCreate, options.profile_dir,
            passphrase_given);
  Keymap keymap;
  show(terminal, gate);
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {terminal.signal_fd(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return Status::io_error("poll failed");
    if (terminal.take_signals()) show(terminal, gate);
    if (terminal.stop_requested()) return Status::unavailable("interrupted");
    while (auto key = terminal.read_key()) {
      auto request = gate.handle(keymap.lookup(*key, false), *key);
      if (gate.quit()) return Status::unavailable("quit before unlocking");
      if (!request) continue;
      gate.set_busy(request->mode == Gate::Mode::kCreate ? "creating your keys…" : "unlocking…");
      show(terminal, gate);
      if (request->passphrase.empty() && passphrase_given) {
        request->passphrase = SecretBytes::copy_of(options.passphrase->view());
      }
      Result<std::unique_ptr<core::Account>> account =
          request->mode == Gate::Mode::kCreate
              ? core::Account::create(options.profile_dir, request->passphrase, request->name,
                                      core::KdfCost::kModerate)
              : core::Account::open(options.profile_dir, request->passphrase);
      if (account.is_ok()) return account;
      if (account.status().code() != StatusCode::kAuthFailed &&
          account.status().code() != StatusCode::kInvalidArgument) {
        return account.status();  // corrupt, in use, permissions: nothing to retry here
      }
      gate.fail(account.status().message() + "; try again");
    }
    show(terminal, gate);
  }
}

}  // namespace

Result<TuiExit> run_tui(TuiOptions options) {
  StderrRedirect log;
  if (core::profile_exists(options.profile_dir)) {
    log.to(options.profile_dir + "/" + kLogFile, true);
  }
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<Terminal> terminal, Terminal::open());
  SOTTO_ASSIGN_OR_RETURN(std::unique_ptr<core::Account> account, unlock(*terminal, options));
  log.to(options.profile_dir + "/" + kLogFile, true);

  // `sotto lock` from another terminal arrives on the node's thread; the loop below acts on it.
  std::atomic<bool> lock_requested{false};
  options.node.on_lock = [&lock_requested] {
    lock_requested = true;
    return false;  // the unlock screen takes the passphrase at the terminal only
  };
  SteadyClock clock;
  std::unique_ptr<core::Node> node;
  std::thread loop;
  std::atomic<bool> loop_done{false};
  Status loop_status;
  {
    SignalBlock block;  // the node's threads never see the terminal's signals
    SOTTO_ASSIGN_OR_RETURN(node, core::Node::create(*account, std::move(options.node), clock));
    loop = std::thread([&] {
      loop_status = node->run();
      loop_done = true;
    });
  }
  std::shared_ptr<core::EventQueue> events = node->subscribe();
  NodeBackend backend(*node);
  App app(backend, options.profile_dir, account->name(), account->fingerprint());
  auto render = [&] {
    Canvas canvas(terminal->width(), terminal->height());
    app.draw(canvas);
    terminal->render(canvas);
  };
  app.set_flush(render);
  app.load();
  render();

  int64_t next_tick = clock.now_ms() + app.tick_interval_ms();
  while (!app.quit() && !lock_requested && !terminal->stop_requested() && !loop_done) {
    pollfd fds[3] = {
        {STDIN_FILENO, POLLIN, 0}, {events->fd(), POLLIN, 0}, {terminal->signal_fd(), POLLIN, 0}};
    const int64_t wait = std::max<int64_t>(next_tick - clock.now_ms(), 0);
    if (poll(fds, 3, static_cast<int>(wait)) < 0 && errno != EINTR) break;
    if (auto resized = terminal->take_signals()) app.on_key(*resized);
    while (auto key = terminal->read_key()) {
      if (*key == Key::ctrl('l') || key->code == Key::Code::kResize) terminal->invalidate();
      app.on_key(*key);
      if (app.quit()) break;
    }
    while (auto event = events->pop()) app.on_event(*event);
    if (clock.now_ms() >= next_tick) {
      app.tick();
      next_tick = clock.now_ms() + app.tick_interval_ms();
    }
    if (app.take_dirty()) render();
  }

  const bool node_ended = loop_done.load();
  if (!node_ended && node->ptt_state().on_air) {
    (void)node->push_to_talk(node->ptt_state().channel, false);
  }
  node->stop();
  loop.join();
  terminal.reset();  // the terminal is restored before the node and account go
  if (node_ended) {
    return loop_status.is_ok() ? Status::internal("the node stopped") : loop_status;
  }
  return app.lock() || lock_requested ? TuiExit::kLock : TuiExit::kQuit;
}

}  // namespace sotto::tui
