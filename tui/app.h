// App: the main screen's state machine. It turns operations (from the keymap) and node events
// into changes of UiState, runs the input line's commands against the node, and keeps a stack
// of overlays (help, safety number, roster) that take keys before the main screen does.
//
// Thread-safety: the UI thread only. Its calls go to a Backend (tui/backend.h): in real use the
// node's thread-safe calls, whose loop runs on its own thread, so a slow call here never stalls
// the network or audio; in tests a fake.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sotto/core/events.h"
#include "tui/backend.h"
#include "tui/canvas.h"
#include "tui/command.h"
#include "tui/input_line.h"
#include "tui/keymap.h"
#include "tui/state.h"
#include "tui/windows.h"

namespace sotto::tui {

class App {
 public:
  // REQUIRES: `backend` outlives the App. `profile_dir` holds played/, where `/play ID --wav
  // FILE` writes a relative FILE.
  App(Backend& backend, std::string profile_dir, std::string own_name, std::string own_fingerprint);

  // Reads contacts, channels and peers from the backend (after subscribing to its events).
  void load();
  void on_key(const Key& key);
  void on_event(const core::Event& event);
  // Polls the PTT state (ON AIR meter, busy channels) and a clip playing (its progress);
  // returns true when the screen changed.
  bool tick();
  // How soon tick() wants to run again.
  int tick_interval_ms() const { return state_.ptt.on_air || state_.playback.playing ? 100 : 500; }

  void draw(Canvas& canvas) const;
  // The user quit, or asked to lock (then lock() is true as well).
  bool quit() const { return quit_; }
  bool lock() const { return lock_; }
  bool take_dirty() {
    const bool d = dirty_;
    dirty_ = false;
    return d;
  }
  // Called before a call that may take a while, so the screen shows what is going on.
  void set_flush(std::function<void()> flush) { flush_ = std::move(flush); }

  const UiState& state() const { return state_; }
  void set_endpoint(std::string endpoint) { state_.endpoint = std::move(endpoint); }

 private:
  void run_line(const std::string& line);
  void run_command(const Command& command);
  void open(const std::string& name);
  void open_key(const std::string& key);
  void send(const std::string& to, const std::string& text);
  void toggle_ptt();
  void verify(const std::string& name);
  void roster(const std::string& name);
  void play(const Command& command);
  void play_out(const std::string& id);
  void play_newest_clip();
  void stop_playback();
  void write_wav(const std::string& id, const std::string& file);
  bool tick_playback();
  void search(const std::string& query);
  void channel_command(const Command& command);
  void refresh_contacts();
  void refresh_channels();
  void load_history(Conversation& conv);
  void step_conversation(int delta);
  void overlay_key(Operation op, const Key& key);
  void working(const std::string& text);
  void error(const Status& status) { state_.notice(status.message(), true); }

  Backend& backend_;
  std::string dir_;
  UiState state_;
  InputLine input_;
  Keymap keymap_;
  std::vector<Dialog> overlays_;
  std::function<void()> flush_;
  bool quit_ = false;
  bool lock_ = false;
  bool dirty_ = true;
  int64_t last_tick_ms_ = 0;
};

}  // namespace sotto::tui
