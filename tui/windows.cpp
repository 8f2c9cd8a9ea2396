#include "tui/windows.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "sotto/base/display_text.h"
#include "tui/command.h"
#include "tui/utf8.h"

namespace sotto::tui {
namespace {

constexpr Style kPlain{};
constexpr Style kBold{Style::kBold};
constexpr Style kDim{Style::kDim};
constexpr Style kSelected{Style::kReverse};
constexpr Style kTitle{Style::kBold, Color::kCyan};
constexpr Style kBar{Style::kReverse};
constexpr Style kOnAir{Style::kBold | Style::kReverse, Color::kRed};
constexpr Style kWarn{Style::kBold, Color::kYellow};
constexpr Style kError{Style::kBold, Color::kRed};
constexpr Style kGood{0, Color::kGreen};
constexpr Style kSystem{0, Color::kMagenta};

// A namesake is marked apart from its trust: it is not the contact its name makes one think of.
std::string trust_mark(const core::ContactInfo& contact) {
  if (!contact.namesake_of.empty()) return "≈";
  return contact.trust == core::Trust::kVerified ? "✔" : "!";
}

Style trust_style(const core::ContactInfo& contact) {
  if (!contact.namesake_of.empty()) return kError;
  return contact.trust == core::Trust::kVerified ? kGood : kWarn;
}

std::string state_mark(const core::MessageInfo& m) {
  // Handed on by another member, not by its author (who, in --json only).
  if (!m.outgoing) return m.relayed_by.empty() ? "" : " ↪";
  switch (m.state) {
    case core::MessageState::kPending:
      return " …";
    case core::MessageState::kSent:
      return " ✓";
    case core::MessageState::kAtMailbox:
      return " ⇢";
    case core::MessageState::kDelivered:
      return " ✓✓";
    case core::MessageState::kReceived:
      return "";
  }
  return "";
}

// Writes `text` and returns the next column.
int put_at(Canvas& canvas, int x, int y, const std::string& text, Style style, int right) {
  return x + canvas.put(x, y, text, style, right - x);
}

std::string channel_name_of(const std::string& title) {
  return !title.empty() && title[0] == '#' ? title.substr(1) : title;
}

// The byte offset where a dialog line's second column starts: the text after its first gap of
// two or more spaces ("Ctrl-N    next conversation"); npos when it has none.
size_t second_column(const std::string& line) {
  const size_t text = line.find_first_not_of(' ');
  if (text == std::string::npos) return std::string::npos;
  const size_t gap = line.find("  ", text);
  if (gap == std::string::npos) return std::string::npos;
  return line.find_first_not_of(' ', gap);
}

// A dialog line as rows of at most `width` columns, broken between words. Continuation rows
// hang under the second column, so a key's or a command's description keeps to its column; a
// line without one, or whose first column takes half the width, wraps flush left.
std::vector<std::string> dialog_rows(const std::string& line, int width) {
  const size_t column = second_column(line);
  const int hang = column == std::string::npos ? 0 : text_width(line.substr(0, column));
  if (hang == 0 || hang > width / 2) return wrap(line, width);
  std::vector<std::string> rows = wrap(line.substr(column), width - hang);
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i] =
        (i == 0 ? line.substr(0, column) : std::string(static_cast<size_t>(hang), ' ')) + rows[i];
  }
  return rows;
}

}  // namespace

std::string clock_time(int64_t wall_ms) {
  if (wall_ms <= 0) return "     ";
  const std::time_t seconds = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char buffer[8];
  std::strftime(buffer, sizeof buffer, "%H:%M", &tm);
  return buffer;
}

Layout compute_layout(int width, int height) {
  Layout l;
  const int body_h = std::max(height - 2, 0);
  int side_w = 0;
  if (width >= kMinSidebarWidth) side_w = std::clamp(width / 4, 20, 32);
  l.sidebar = {0, 0, side_w, body_h};
  const int main_x = side_w == 0 ? 0 : side_w + 1;  // one column for the separator
  const int main_w = std::max(width - main_x, 0);
  const int header_h = std::min(2, body_h);
  l.header = {main_x, 0, main_w, header_h};
  l.conversation = {main_x, header_h, main_w, std::max(body_h - header_h, 0)};
  l.status = {0, body_h, width, height >= 2 ? 1 : 0};
  l.input = {0, body_h + 1, width, height >= 1 ? 1 : 0};
  if (height < 2) {
    l.status = {0, 0, 0, 0};
    l.input = {0, 0, width, height};
  }
  return l;
}

void draw_sidebar(Canvas& canvas, Rect rect, const UiState& state) {
  if (rect.empty()) return;
  canvas.fill(rect);
  for (int y = rect.y; y < rect.bottom(); ++y) canvas.put(rect.right(), y, "│", kDim);
  int y = rect.y;
  const int right = rect.right();
  auto row = [&](const std::string& key, auto&& draw_row) {
    if (y >= rect.bottom()) return;
    const bool selected = key == state.current;
    if (selected) canvas.fill({rect.x, y, rect.w, 1}, kSelected);
    draw_row(selected);
    ++y;
  };
  auto heading = [&](const std::string& text) {
    if (y >= rect.bottom()) return;
    canvas.put(rect.x, y++, text, kTitle, rect.w);
  };

  heading("CHANNELS");
  if (state.channels.empty()) {
    if (y < rect.bottom()) canvas.put(rect.x + 1, y++, "(none yet)", kDim, rect.w - 1);
  }
  for (const core::ChannelInfo& ch : state.channels) {
    const std::string key = "#" + ch.id;
    auto conv = state.conversations.find(key);
    const int unread = conv == state.conversations.end() ? 0 : conv->second.unread;
    row(key, [&](bool selected) {
      Style base = selected ? kSelected : kPlain;
      std::string suffix;
      if (unread > 0) suffix += " " + std::to_string(unread);
      const bool air = state.channel_on_air(ch.name);
      const int suffix_w = text_width(suffix) + (air ? 2 : 0);
      int x = put_at(canvas, rect.x + 1, y, "#" + ch.name, base, right - suffix_w);
      if (unread > 0) x = put_at(canvas, x, y, suffix, Style{Style::kBold, base.fg}, right);
      if (ch.state != core::ChannelState::kMember) {
        x = put_at(canvas, x, y, " (" + std::string(core::to_string(ch.state)) + ")", kDim, right);
      }
      if (air) put_at(canvas, x, y, " ◉", selected ? kSelected : kError, right);
    });
  }
  if (y < rect.bottom()) ++y;

  heading("CONTACTS");
  if (state.contacts.empty() && y < rect.bottom()) {
    canvas.put(rect.x + 1, y++, "(none yet)", kDim, rect.w - 1);
  }
  for (const core::ContactInfo& c : state.contacts) {
    auto conv = state.conversations.find(c.fingerprint);
    const int unread = conv == state.conversations.end() ? 0 : conv->second.unread;
    row(c.fingerprint, [&](bool selected) {
      const bool on = state.online(c.fingerprint);
      Style base = selected ? kSelected : kPlain;
      int x = put_at(canvas, rect.x + 1, y, on ? "●" : "○",
                     selected ? kSelected : (on ? kGood : kDim), right);
      x = put_at(canvas, x + 1, y, display_name(c.name, c.fingerprint), base, right - 6);
      x = put_at(canvas, x + 1, y, trust_mark(c), selected ? kSelected : trust_style(c), right);
      if (unread > 0)
        put_at(canvas, x + 1, y, std::to_string(unread), Style{Style::kBold, base.fg}, right);
    });
  }
  if (y < rect.bottom()) ++y;

  const auto strangers = state.nearby();
  heading("NEARBY");
  if (strangers.empty() && y < rect.bottom())
    canvas.put(rect.x + 1, y++, "(nobody new)", kDim, rect.w - 1);
  for (const core::PeerInfo* p : strangers) {
    if (y >= rect.bottom()) break;
    const bool on = p->state == core::PeerState::kOnline;
    int x = put_at(canvas, rect.x + 1, y, on ? "●" : "○", on ? kGood : kDim, right);
    x = put_at(canvas, x + 1, y, p->name.empty() ? "?" : p->name, kPlain, right);
    put_at(canvas, x + 1, y, short_fingerprint(p->fingerprint), kDim, right);
    ++y;
  }
}

void draw_header(Canvas& canvas, Rect rect, const UiState& state) {
  if (rect.empty()) return;
  canvas.fill(rect);
  const Conversation& conv = state.current_conversation();
  const int right = rect.right();
  int x = rect.x + 1;
  const int y2 = rect.h > 1 ? rect.y + 1 : -1;
  if (conv.key == UiState::kHome) {
    x = put_at(canvas, x, rect.y, "sotto", kTitle, right);
    put_at(canvas, x, rect.y, " · " + state.own_name + " · " + state.endpoint, kPlain, right);
    canvas.put(rect.x + 1, y2, "/open NAME or Ctrl-N to pick a conversation · F1 help", kDim,
               rect.w - 1);
    return;
  }
  if (conv.channel) {
    const core::ChannelInfo* ch = state.find_channel(channel_name_of(conv.title));
    x = put_at(canvas, x, rect.y, conv.title, kTitle, right);
    if (ch == nullptr) return;
    std::string info = " · " + std::to_string(ch->members.size()) + " members · admin " +
                       display_name(ch->admin_name, ch->admin) +
                       (ch->free_voice ? " · free voice" : "");
    if (ch->state != core::ChannelState::kMember)
      info += " · " + std::string(core::to_string(ch->state));
    x = put_at(canvas, x, rect.y, info, kPlain, right);
    auto air = state.on_air.find(ch->name);
    if (air != state.on_air.end() && !air->second.empty()) {
      std::string talkers;
      for (const std::string& t : air->second) talkers += (talkers.empty() ? "" : ", ") + t;
      put_at(canvas, x + 1, rect.y, " ON AIR: " + talkers + " ", kOnAir, right);
    }
    const int unverified = UiState::unverified_members(*ch);
    x = put_at(canvas, rect.x + 1, y2, "code " + ch->security_code, kBold, right);
    put_at(canvas, x, y2,
           " · " + (unverified == 0 ? std::string("all verified")
                                    : std::to_string(unverified) + " unverified"),
           unverified == 0 ? kGood : kWarn, right);
    return;
  }
  const core::ContactInfo* contact = nullptr;
  for (const auto& c : state.contacts) {
    if (c.fingerprint == conv.key) contact = &c;
  }
  x = put_at(canvas, x, rect.y, conv.title, kTitle, right);
  const bool on = state.online(conv.key);
  x = put_at(canvas, x, rect.y, on ? "  ● online" : "  ○ offline", on ? kGood : kDim, right);
  if (contact == nullptr) {
    put_at(canvas, rect.x + 1, y2, "not a contact · " + short_fingerprint(conv.key, 16), kWarn,
           right);
    return;
  }
  const std::string trust = !contact->namesake_of.empty()
                                ? "≈ NAMESAKE: also calls itself " + contact->name + ", is not " +
                                      short_fingerprint(contact->namesake_of) + " (/verify)"
                            : contact->trust == core::Trust::kVerified ? "✔ verified"
                                                                       : "! unverified (/verify)";
  x = put_at(canvas, rect.x + 1, y2, trust, trust_style(*contact), right);
  put_at(canvas, x, y2, " · " + short_fingerprint(contact->fingerprint, 16), kDim, right);
}

std::vector<Line> format_message(const ConversationLine& m, int width) {
  std::vector<Line> out;
  if (width <= 0) return out;
  const std::string time = clock_time(m.sent_at != 0 ? m.sent_at : m.received_at);
  // A text keeps the line breaks its sender put in it: the lines after the first are indented
  // below, so none starts where a message's time does. Names, notices, and the audit lines core
  // writes with names in them, stay on one line ("↵").
  const std::string body =
      display_text(m.body, m.origin == LineOrigin::kArchive && m.kind == core::MessageKind::kText
                               ? LineBreaks::kKeep
                               : LineBreaks::kEscape);
  const std::string who = m.outgoing ? "me" : display_text(display_name(m.sender_name, m.sender));
  std::string head;
  Style style = kPlain;
  if (m.origin == LineOrigin::kNotice) {
    head = "   -- " + body;
    style = kDim;
  } else if (m.origin == LineOrigin::kError) {
    head = "   !! " + body;
    style = kError;
  } else if (m.kind == core::MessageKind::kSystem) {
    head = time + " * " + body;
    style = kSystem;
  } else if (m.kind == core::MessageKind::kVoice) {
    head = time + " ▶ " + who + ": " + body + "  /play " + m.id.substr(0, 8) + state_mark(m);
    style = Style{0, Color::kCyan};
  } else {
    head = time + " " + who + ": " + body + state_mark(m);
    style = m.outgoing ? kPlain : kBold;
    if (!m.outgoing) style.attrs = 0;
  }
  // Continuation lines are indented under the text, past the time; by one column at least, however
  // narrow the window.
  const int indent = width > 1 ? std::clamp(width - 10, 1, 6) : 0;
  auto lines = wrap(head, width);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 0) {
      out.push_back({lines[i], style});
    } else {
      for (const std::string& part : wrap(lines[i], width - indent)) {
        out.push_back({std::string(static_cast<size_t>(indent), ' ') + part, style});
      }
    }
  }
  return out;
}

void draw_conversation(Canvas& canvas, Rect rect, const UiState& state) {
  if (rect.empty()) return;
  canvas.fill(rect);
  const Conversation& conv = state.current_conversation();
  const int width = rect.w - 1;  // one column of margin on the left
  std::vector<Line> lines;
  if (conv.key == UiState::kHome) {
    lines.push_back({"Welcome, " + state.own_name + ".", kBold});
    const char* guide[] = {
        "Nearby peers appear on the left: /add NAME makes one a contact, /verify NAME "
        "compares safety numbers, /open NAME starts writing.",
        "/channel create NAME starts a channel; F5 talks in the open channel.",
        "F1 lists every key and command."};
    for (const char* text : guide) {
      for (std::string& l : wrap(text, width)) lines.push_back({std::move(l), kDim});
    }
  }
  for (const ConversationLine& m : conv.lines) {
    for (Line& l : format_message(m, width)) lines.push_back(std::move(l));
  }
  const int visible = rect.h;
  const int total = static_cast<int>(lines.size());
  const int scroll = std::clamp(conv.scroll, 0, std::max(total - visible, 0));
  const int last = total - scroll;  // one past the last line shown
  const int first = std::max(last - visible, 0);
  int y = rect.y;
  for (int i = first; i < last; ++i) {
    canvas.put(rect.x + 1, y++, lines[static_cast<size_t>(i)].text,
               lines[static_cast<size_t>(i)].style, width);
  }
  if (scroll > 0) {
    const std::string more = " ↓ " + std::to_string(scroll) + " more (PgDn) ";
    canvas.put(rect.right() - text_width(more), rect.bottom() - 1, more, kBar);
  }
}

std::string level_meter(double dbfs, int cells) {
  const double fraction = std::clamp((dbfs + 60.0) / 60.0, 0.0, 1.0);
  const int lit = static_cast<int>(std::lround(fraction * cells));
  std::string out;
  for (int i = 0; i < cells; ++i) out += i < lit ? "▮" : "▯";
  return out;
}

// "4.2": seconds to the tenth.
std::string tenths_text(int64_t ms) {
  const int64_t tenths = ms / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

void draw_status(Canvas& canvas, Rect rect, const UiState& state) {
  if (rect.empty()) return;
  canvas.fill(rect, kBar);
  const int right = rect.right();
  int x = rect.x;
  if (state.ptt.on_air) {
    const std::string air = " ON AIR #" + channel_name_of(state.ptt.channel) + " " +
                            tenths_text(state.ptt.elapsed_ms) + "s " +
                            level_meter(state.ptt.level_dbfs, 8) + " ";
    x = put_at(canvas, x, rect.y, air, kOnAir, right);
  } else if (!state.ptt.busy.empty()) {
    std::string busy = " BUSY";
    for (const std::string& ch : state.ptt.busy) busy += " #" + channel_name_of(ch);
    x = put_at(canvas, x, rect.y, busy + " ", Style{Style::kBold | Style::kReverse, Color::kYellow},
               right);
  } else {
    x = put_at(canvas, x, rect.y, " PTT off (F5) ", kBar, right);
  }
  if (!state.working.empty()) {
    x = put_at(canvas, x, rect.y, " " + state.working + " ", Style{Style::kBold | Style::kReverse},
               right);
  }
  if (state.playback.playing) {
    const core::MessageInfo& m = state.playback.message;
    const std::string who = m.outgoing ? "me" : display_name(m.sender_name, m.sender);
    x = put_at(canvas, x, rect.y,
               " ▶ " + who + " " + tenths_text(state.playback.elapsed_ms) + " / " +
                   tenths_text(state.playback.total_ms) + " s  Esc stops ",
               Style{Style::kBold | Style::kReverse, Color::kGreen}, right);
  }
  const int online = state.peers_online();
  std::string text = " " + state.own_name + " " + short_fingerprint(state.own_fingerprint) + " │ " +
                     std::to_string(online) + (online == 1 ? " peer" : " peers") + " online │ " +
                     state.endpoint;
  x = put_at(canvas, x, rect.y, text, kBar, right - 8);
  const std::string help = " F1 help ";
  if (right - text_width(help) >= x) canvas.put(right - text_width(help), rect.y, help, kBar);
}

void draw_input(Canvas& canvas, Rect rect, const std::string& prompt, const InputLine& line) {
  if (rect.empty()) return;
  canvas.fill(rect);
  const int x = rect.x + canvas.put(rect.x, rect.y, prompt, kBold, rect.w);
  const InputLine::View view = line.view(rect.right() - x - 1);
  canvas.put(x, rect.y, view.text, kPlain, rect.right() - x);
  if (line.hidden() && !line.empty()) {
    canvas.put(x, rect.y, "(hidden)", kDim, rect.right() - x);
    canvas.set_cursor(x, rect.y);
    return;
  }
  canvas.set_cursor(std::min(x + view.cursor_column, rect.right() - 1), rect.y);
}

void Dialog::draw(Canvas& canvas) const {
  int content_w = std::max(text_width(title) + 4, text_width(footer));
  for (const std::string& l : lines) content_w = std::max(content_w, text_width(l));
  const int w = std::min(content_w + 4, canvas.width());
  // Lines wider than the box wrap rather than lose their ends; scrolling counts screen rows.
  std::vector<std::string> wrapped;
  for (const std::string& l : lines) {
    for (std::string& row : dialog_rows(l, std::max(w - 4, 1))) wrapped.push_back(std::move(row));
  }
  const int max_rows = std::max(canvas.height() - 4, 1);
  const int rows = std::min(static_cast<int>(wrapped.size()), max_rows);
  const int h = std::min(rows + 4, canvas.height());
  const Rect box{(canvas.width() - w) / 2, (canvas.height() - h) / 2, w, h};
  canvas.fill(box);
  // Frame.
  std::string top = "┌";
  std::string bottom = "└";
  for (int i = 0; i < w - 2; ++i) {
    top += "─";
    bottom += "─";
  }
  canvas.put(box.x, box.y, top + "┐", kDim);
  canvas.put(box.x, box.bottom() - 1, bottom + "┘", kDim);
  for (int y = box.y + 1; y < box.bottom() - 1; ++y) {
    canvas.put(box.x, y, "│", kDim);
    canvas.put(box.right() - 1, y, "│", kDim);
  }
  canvas.put(box.x + 2, box.y, " " + title + " ", kTitle, w - 4);
  const int first = std::clamp(scroll, 0, std::max(static_cast<int>(wrapped.size()) - rows, 0));
  for (int i = 0; i < rows; ++i) {
    canvas.put(box.x + 2, box.y + 1 + i, wrapped[static_cast<size_t>(first + i)], kPlain, w - 4);
  }
  canvas.put(box.x + 2, box.bottom() - 2, footer, kBold, w - 4);
}

Dialog help_dialog(const Keymap& keymap) {
  Dialog d;
  d.title = "sotto: keys and commands";
  for (const Keymap::Binding& b : keymap.bindings()) {
    std::string keys = b.keys;
    while (text_width(keys) < 22) keys += ' ';
    d.lines.push_back(keys + " " + describe(b.op));
  }
  d.lines.push_back("");
  for (const CommandSpec& spec : command_specs()) {
    std::string usage = spec.usage;
    while (text_width(usage) < 30) usage += ' ';
    d.lines.push_back(usage + " " + spec.help);
  }
  d.lines.push_back("");
  d.lines.push_back("Plain text is sent to the open conversation; //text sends /text.");
  d.lines.push_back("● online ○ offline  ✔ verified ! unverified ≈ namesake  ◉ on air");
  d.lines.push_back("… pending ✓ sent ⇢ at mailbox ✓✓ delivered  ↪ relayed by a member");
  d.footer = "Esc: close   Up/Down, PgUp/PgDn: scroll";
  return d;
}

void draw_main(Canvas& canvas, const UiState& state, const InputLine& input) {
  const Layout layout = compute_layout(canvas.width(), canvas.height());
  draw_sidebar(canvas, layout.sidebar, state);
  draw_header(canvas, layout.header, state);
  draw_conversation(canvas, layout.conversation, state);
  draw_status(canvas, layout.status, state);
  const Conversation& conv = state.current_conversation();
  const std::string prompt = conv.key == UiState::kHome ? "> " : fit_width(conv.title, 20) + "> ";
  draw_input(canvas, layout.input, prompt, input);
}

}  // namespace sotto::tui
