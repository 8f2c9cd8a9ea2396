// The windows of the main screen and the overlays on top of it. Each draws UiState into its
// rectangle of a Canvas; none keeps state of its own beyond what it is given.
//
//   +-- sidebar --+-- header (2 rows: title; code / trust) -----------+
//   | CHANNELS    | conversation                                      |
//   | CONTACTS    |                                                   |
//   | NEARBY      |                                                   |
//   +-------------+---------------------------------------------------+
//   status bar (own name, fingerprint, peers online, PTT)
//   input line
#pragma once

#include <string>
#include <vector>

#include "tui/canvas.h"
#include "tui/input_line.h"
#include "tui/keymap.h"
#include "tui/state.h"

namespace sotto::tui {

struct Layout {
  Rect sidebar;  // empty when the terminal is too narrow for one
  Rect header;
  Rect conversation;
  Rect status;
  Rect input;
};

// Below kMinSidebarWidth total columns the sidebar is hidden (Ctrl-N/Ctrl-P still switch).
constexpr int kMinSidebarWidth = 60;
Layout compute_layout(int width, int height);

void draw_sidebar(Canvas& canvas, Rect rect, const UiState& state);
void draw_header(Canvas& canvas, Rect rect, const UiState& state);
void draw_conversation(Canvas& canvas, Rect rect, const UiState& state);
void draw_status(Canvas& canvas, Rect rect, const UiState& state);
// The prompt, then the visible part of the line; puts the canvas cursor at the caret.
void draw_input(Canvas& canvas, Rect rect, const std::string& prompt, const InputLine& line);

// A styled screen line of a conversation.
struct Line {
  std::string text;
  Style style;
};
// One archived message (or local notice) as screen lines `width` columns wide.
std::vector<Line> format_message(const ConversationLine& line, int width);
// "19:23" in local time for wall-clock milliseconds; blanks for 0 (a local notice).
std::string clock_time(int64_t wall_ms);
// "▮▮▮▮▯▯▯▯" for an input level in dBFS (-60 dB and below: empty, 0 dB: full).
std::string level_meter(double dbfs, int cells);

// A centred box over the screen: the help, the safety number, the roster.
struct Dialog {
  std::string title;
  std::vector<std::string> lines;
  std::string footer;        // "y: they match   Esc: close"
  bool confirmable = false;  // 'y' confirms (the App knows what that means)
  std::string subject;       // what a confirmation applies to (a contact name)
  int scroll = 0;

  void draw(Canvas& canvas) const;
};

// The help overlay: every key of `keymap` and every command.
Dialog help_dialog(const Keymap& keymap);

// The whole main screen, overlays excluded.
void draw_main(Canvas& canvas, const UiState& state, const InputLine& input);

}  // namespace sotto::tui
