#include "tests/support/jack_server.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

#include "tests/support/wait.h"

namespace sotto::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kVariable = "JACK_DEFAULT_SERVER";
constexpr const char* kJackd = "/usr/bin/jackd";
constexpr const char* kJackWait = "/usr/bin/jack_wait";
constexpr const char* kJackLsp = "/usr/bin/jack_lsp";
constexpr const char* kJackMetro = "/usr/bin/jack_metro";
constexpr auto kStartDeadline = 10s;
// The dummy backend sleeps --wait microseconds between periods, whatever the period is (its
// default is that of 1024 frames): a period's time, or its clock runs slow.
constexpr int kPeriodUs = 1'000'000 / JackServer::kRateHz * JackServer::kPeriodFrames;

}  // namespace

bool JackServer::installed() {
  for (const char* program : {kJackd, kJackWait, kJackLsp, kJackMetro}) {
    if (access(program, X_OK) != 0) return false;
  }
  return true;
}

JackServer::JackServer() {
  static std::atomic<int> counter{0};
  name_ = "sotto-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  if (const char* was = std::getenv(kVariable)) previous_ = was;
  ::setenv(kVariable, name_.c_str(), 1);
  // Realtime scheduling when the machine grants it (jackd's default), as a user's JACK runs:
  // a late period is an xrun, which the tests count.
  jackd_ = std::make_unique<BackgroundProcess>(
      kJackd, std::vector<std::string>{
                  "--name", name_, "-d", "dummy", "--rate", std::to_string(kRateHz), "--period",
                  std::to_string(kPeriodFrames), "--wait", std::to_string(kPeriodUs)});
  // jack_wait --check connects and leaves at once: the server is up when it can.
  const bool ready = wait_until(
      [&] {
        if (!jackd_->running()) return true;
        return run_command(kJackWait, {"--server", name_, "--check"}).out == "running\n";
      },
      kStartDeadline);
  if (!ready || !jackd_->running()) {
    jackd_->stop(SIGKILL);
    restore_environment();
    throw std::runtime_error("jackd did not start: " + jackd_->output());
  }
}

JackServer::~JackServer() {
  if (tone_) tone_->stop(SIGTERM);
  jackd_->stop(SIGTERM);
  restore_environment();
}

void JackServer::restore_environment() {
  if (previous_) {
    ::setenv(kVariable, previous_->c_str(), 1);
  } else {
    ::unsetenv(kVariable);
  }
}

void JackServer::start_tone() {
  if (tone_) return;
  // Beeps of 40 ms at 880 Hz, 600 a minute: some sound in every 100 ms of capture.
  tone_ = std::make_unique<BackgroundProcess>(
      kJackMetro, std::vector<std::string>{"--name", kToneDevice, "--bpm", "600", "--frequency",
                                           "880", "--duration", "40", "--amplitude", "0.5"});
  const std::string port = std::string(kToneDevice) + ":";
  if (!wait_until([&] { return !tone_->running() || has_port(port); }, kStartDeadline) ||
      !tone_->running()) {
    tone_->stop(SIGKILL);
    throw std::runtime_error("jack_metro did not start: " + tone_->output());
  }
}

std::vector<std::string> JackServer::xrun_reports() {
  std::vector<std::string> reports;
  for (const std::string& line : lines_of(jackd_->read_available())) {
    if (line.find("XRun") != std::string::npos) reports.push_back(line);
  }
  return reports;
}

std::string JackServer::output() {
  return jackd_->read_available();
}

bool JackServer::has_port(const std::string& port) const {
  return run_command(kJackLsp, {"--server", name_}).out.find(port) != std::string::npos;
}

}  // namespace sotto::test
