// JackServer: a JACK server of the test's own, so the real audio path (PortAudio's JACK host API,
// its stream callbacks, sotto's rings) runs on every machine, sound card or not: `jackd -d dummy`
// keeps real time like a sound card but captures silence and plays into nothing.
//
// The server has a private name, put in JACK_DEFAULT_SERVER for this process and the processes it
// starts (a sotto CLI, a tmux server and the TUI in it), so nothing touches a JACK server the user
// runs, and nothing in the test reaches the user's. It runs at kRateHz, sotto's and Opus's rate,
// with one period per sotto frame (kPeriodFrames), as a JACK user at 48 kHz would set it up.
//
// PortAudio lists each JACK client with ports as a device named after the client: the server's
// own is kSystemDevice; start_tone() adds a client that plays a beep 10 times a second, which a
// capture device can read, so what a talker captures is not only silence.
//
// Thread-safety: changes the environment; construct and destroy it while no other thread of the
// process reads it (as tests/support/alsa_config.h). The destructor stops both programs (SIGTERM,
// SIGKILL if they linger) and reaps them. Errors throw std::runtime_error with what jackd printed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace sotto::test {

class JackServer {
 public:
  static constexpr int kRateHz = 48'000;
  static constexpr int kPeriodFrames = 960;  // 20 ms, one sotto frame
  static constexpr const char* kSystemDevice = "system";
  static constexpr const char* kToneDevice = "sotto_tone";

  // Whether jackd2 is installed (`make deps`).
  static bool installed();

  // Starts jackd and returns once clients can connect to it (throws after 10 s).
  JackServer();
  ~JackServer();
  JackServer(const JackServer&) = delete;
  JackServer& operator=(const JackServer&) = delete;

  const std::string& name() const { return name_; }
  // Starts the beeping client kToneDevice (jack_metro) and returns once its port is there.
  void start_tone();
  // The xruns jackd has reported so far, a line each: "JackEngine::XRun: client = NAME was not
  // finished" (that client's callback made the period late) or "JackTimedDriver::Process XRun"
  // (the server's own thread woke too late: the machine did not give it the CPU in time).
  std::vector<std::string> xrun_reports();
  // What jackd has printed so far (for failure messages).
  std::string output();

 private:
  // Whether `jack_lsp` on this server lists a port containing `port`.
  bool has_port(const std::string& port) const;
  void restore_environment();

  std::string name_;
  std::optional<std::string> previous_;
  std::unique_ptr<BackgroundProcess> jackd_;
  std::unique_ptr<BackgroundProcess> tone_;
};

}  // namespace sotto::test
