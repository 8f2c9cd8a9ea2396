#include "tui/app.h"

#include <sys/stat.h>

#include <algorithm>

#include "tui/utf8.h"

namespace sotto::tui {
namespace {

std::string bare_channel(const std::string& name) {
  return !name.empty() && name[0] == '#' ? name.substr(1) : name;
}

// "bob" or "bob, carol, dave": whom a /channel invite names (its arguments after the channel).
std::string invitees(const Command& command) {
  std::string names;
  for (size_t i = 1; i < command.args.size(); ++i) names += (i > 1 ? ", " : "") + command.args[i];
  return names;
}

std::string seconds_text(int64_t ms) {
  const int64_t tenths = ms / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

}  // namespace

App::App(Backend& backend, std::string profile_dir, std::string own_name,
         std::string own_fingerprint)
    : backend_(backend), dir_(std::move(profile_dir)) {
  state_.own_name = std::move(own_name);
  state_.own_fingerprint = std::move(own_fingerprint);
  state_.endpoint = backend.endpoint();
}

void App::load() {
  for (const core::PeerInfo& peer : backend_.peers()) state_.peers[peer.fingerprint] = peer;
  refresh_contacts();
  refresh_channels();
  state_.ptt = backend_.ptt_state();
  state_.playback = backend_.playback_state();
  dirty_ = true;
}

void App::refresh_contacts() {
  auto contacts = backend_.contacts();
  if (contacts.is_ok()) state_.set_contacts(std::move(contacts).value());
}

void App::refresh_channels() {
  auto channels = backend_.channels();
  if (channels.is_ok()) state_.set_channels(std::move(channels).value());
}

void App::on_event(const core::Event& event) {
  if (state_.apply(event)) dirty_ = true;
  // A voice event changes the floor: refresh the PTT state at once, not at the next tick.
  if (std::holds_alternative<core::VoiceEvent>(event.body)) state_.ptt = backend_.ptt_state();
}

bool App::tick() {
  const bool played = tick_playback();
  core::PttState ptt = backend_.ptt_state();
  const bool changed = ptt.on_air != state_.ptt.on_air || ptt.busy != state_.ptt.busy ||
                       (ptt.on_air && (ptt.elapsed_ms / 100 != state_.ptt.elapsed_ms / 100 ||
                                       ptt.level_dbfs != state_.ptt.level_dbfs));
  state_.ptt = std::move(ptt);
  if (changed) dirty_ = true;
  return changed || played;
}

bool App::tick_playback() {
  if (!state_.playback.playing) return false;
  core::PlaybackState now = backend_.playback_state();
  const bool ended = !now.playing;
  const bool changed = ended || now.elapsed_ms / 100 != state_.playback.elapsed_ms / 100;
  state_.playback = std::move(now);
  if (ended && !state_.playback.error.empty()) {
    state_.notice("cannot play the clip: " + state_.playback.error, true);
  }
  if (changed) dirty_ = true;
  return changed;
}

void App::draw(Canvas& canvas) const {
  draw_main(canvas, state_, input_);
  if (!overlays_.empty()) overlays_.back().draw(canvas);
}

void App::working(const std::string& text) {
  state_.working = text;
  dirty_ = true;
  if (flush_) flush_();
}

void App::on_key(const Key& key) {
  const Operation op = keymap_.lookup(key, input_.empty());
  dirty_ = true;
  if (op == Operation::kQuit || op == Operation::kLock) {
    quit_ = true;
    lock_ = op == Operation::kLock;
    return;
  }
  if (op == Operation::kResize || op == Operation::kRedraw) return;
  if (!overlays_.empty()) {
    overlay_key(op, key);
    return;
  }
  Conversation& conv = state_.current_conversation();
  switch (op) {
    case Operation::kInsert: {
      std::string utf8;
      append_utf8(utf8, key.ch);
      input_.insert(utf8);
      break;
    }
    case Operation::kSubmit: {
      const std::string line = input_.submit();
      if (!line.empty()) {
        run_line(line);
      } else {
        play_newest_clip();
      }
      state_.working.clear();
      break;
    }
    case Operation::kBackspace:
      input_.backspace();
      break;
    case Operation::kDeleteForward:
      input_.delete_forward();
      break;
    case Operation::kCursorLeft:
      input_.left();
      break;
    case Operation::kCursorRight:
      input_.right();
      break;
    case Operation::kWordLeft:
      input_.word_left();
      break;
    case Operation::kWordRight:
      input_.word_right();
      break;
    case Operation::kLineStart:
      input_.home();
      break;
    case Operation::kLineEnd:
      input_.end();
      break;
    case Operation::kDeleteWordBack:
      input_.delete_word_back();
      break;
    case Operation::kKillToStart:
      input_.kill_to_start();
      break;
    case Operation::kKillToEnd:
      input_.kill_to_end();
      break;
    case Operation::kHistoryPrev:
      input_.history_prev();
      break;
    case Operation::kHistoryNext:
      input_.history_next();
      break;
    case Operation::kComplete: {
      Completion c = complete(input_.text(), state_.completion_names());
      input_.set_text(c.line);
      if (!c.candidates.empty()) {
        std::string list;
        for (const std::string& s : c.candidates) list += (list.empty() ? "" : "  ") + s;
        state_.notice(list);
      }
      break;
    }
    case Operation::kHelp:
      overlays_.push_back(help_dialog(keymap_));
      break;
    case Operation::kTogglePtt:
      toggle_ptt();
      break;
    case Operation::kNextConversation:
      step_conversation(1);
      break;
    case Operation::kPrevConversation:
      step_conversation(-1);
      break;
    case Operation::kScrollUp:
      conv.scroll += 10;
      break;
    case Operation::kScrollDown:
      conv.scroll = std::max(conv.scroll - 10, 0);
      break;
    case Operation::kCancel:
      if (state_.playback.playing) {
        stop_playback();
      } else {
        input_.clear();
      }
      break;
    default:
      break;
  }
}

void App::overlay_key(Operation op, const Key& key) {
  Dialog& top = overlays_.back();
  if (op == Operation::kCancel || op == Operation::kHelp ||
      (key.code == Key::Code::kChar && (key.ch == 'q' || key.ch == 'n'))) {
    overlays_.pop_back();
    return;
  }
  if (op == Operation::kHistoryPrev) top.scroll = std::max(top.scroll - 1, 0);
  if (op == Operation::kHistoryNext) ++top.scroll;
  if (op == Operation::kScrollUp) top.scroll = std::max(top.scroll - 10, 0);
  if (op == Operation::kScrollDown) top.scroll += 10;
  if (top.confirmable && key.code == Key::Code::kChar && (key.ch == 'y' || key.ch == 'Y')) {
    const std::string subject = top.subject;
    overlays_.pop_back();
    auto confirmed = backend_.confirm_contact(subject);
    if (!confirmed.is_ok()) {
      error(confirmed.status());
      return;
    }
    state_.upsert_contact(confirmed.value());
    state_.notice(display_name(confirmed->name, confirmed->fingerprint) + " is verified ✔");
    return;
  }
  if (op == Operation::kSubmit && !top.confirmable) overlays_.pop_back();
}

void App::step_conversation(int delta) {
  const std::vector<std::string> order = state_.conversation_order();
  auto it = std::find(order.begin(), order.end(), state_.current);
  const long index = it == order.end() ? 0 : it - order.begin();
  const long size = static_cast<long>(order.size());
  open_key(order[static_cast<size_t>(((index + delta) % size + size) % size)]);
}

void App::open_key(const std::string& key) {
  state_.current = key;
  Conversation& conv = state_.current_conversation();
  conv.unread = 0;
  conv.scroll = 0;
  load_history(conv);
}

void App::load_history(Conversation& conv) {
  if (conv.loaded || conv.key == UiState::kHome) return;
  auto history = backend_.history(conv.target, 200);
  if (!history.is_ok()) return;  // e.g. a conversation with nothing archived yet
  conv.loaded = true;
  const int unread = conv.unread;
  const std::vector<ConversationLine> newer = std::move(conv.lines);
  conv.lines.clear();
  for (const core::MessageInfo& m : history.value()) conv.lines.push_back(m);
  // Lines that arrived before the history was read (events, notices) stay, once.
  for (const ConversationLine& m : newer) {
    const bool seen = !m.id.empty() && std::any_of(conv.lines.begin(), conv.lines.end(),
                                                   [&](const auto& l) { return l.id == m.id; });
    if (!seen) conv.lines.push_back(m);
  }
  conv.unread = unread;
}

void App::open(const std::string& name) {
  if (!name.empty() && name[0] == '#') {
    const core::ChannelInfo* channel = state_.find_channel(name);
    if (channel == nullptr) {
      refresh_channels();
      channel = state_.find_channel(name);
    }
    if (channel == nullptr) {
      state_.notice("no channel " + name + " (/channel create " + bare_channel(name) + ")", true);
      return;
    }
    open_key(state_.channel_conversation(*channel).key);
    return;
  }
  const core::ContactInfo* contact = state_.find_contact(name);
  if (contact == nullptr) {
    if (const core::ChannelInfo* channel = state_.find_channel(name)) {
      open_key(state_.channel_conversation(*channel).key);
      return;
    }
    state_.notice("no contact " + name + " (nearby peers become contacts with /add NAME)", true);
    return;
  }
  open_key(state_.contact_conversation(contact->fingerprint).key);
}

void App::run_line(const std::string& line) {
  if (!is_command(line)) {
    const std::string text = line.rfind("//", 0) == 0 ? line.substr(1) : line;
    const Conversation& conv = state_.current_conversation();
    if (conv.key == UiState::kHome) {
      state_.notice("open a conversation first: /open NAME (or Ctrl-N)", true);
      return;
    }
    send(conv.target, text);
    return;
  }
  auto command = parse_command(line);
  if (!command.is_ok()) {
    error(command.status());
    return;
  }
  run_command(command.value());
}

void App::send(const std::string& to, const std::string& text) {
  auto sent = backend_.send_text(to, text);
  if (!sent.is_ok()) {
    error(sent.status());
    return;
  }
  state_.add_message(sent.value());
}

void App::run_command(const Command& command) {
  const std::string& name = command.name;
  const auto arg = [&](size_t i) { return i < command.args.size() ? command.args[i] : ""; };
  if (name == "open") {
    open(arg(0));
  } else if (name == "msg") {
    std::string to = arg(0);
    if (to[0] != '#') {
      if (const core::ContactInfo* c = state_.find_contact(to)) to = c->fingerprint;
    }
    send(to, arg(1));
  } else if (name == "add") {
    working("adding " + arg(0) + "…");
    auto added = backend_.add_contact(arg(0), arg(1));
    if (!added.is_ok()) {
      error(added.status());
      return;
    }
    state_.upsert_contact(added.value());
    state_.notice("added " + added->name + " (unverified: compare safety numbers with /verify " +
                  added->name + ")");
  } else if (name == "verify") {
    verify(arg(0));
  } else if (name.rfind("channel ", 0) == 0) {
    channel_command(command);
  } else if (name == "roster") {
    std::string channel = arg(0);
    if (channel.empty()) {
      const Conversation& conv = state_.current_conversation();
      if (!conv.channel) {
        state_.notice("usage: /roster CHANNEL (or open a channel first)", true);
        return;
      }
      channel = conv.target;
    }
    roster(channel);
  } else if (name == "ptt") {
    toggle_ptt();
  } else if (name == "play") {
    play(command);
  } else if (name == "search") {
    search(arg(0));
  } else if (name == "help") {
    overlays_.push_back(help_dialog(keymap_));
  } else if (name == "quit" || name == "lock") {
    quit_ = true;
    lock_ = name == "lock";
  }
}

void App::channel_command(const Command& command) {
  const std::string action = command.name.substr(8);
  const std::string channel = bare_channel(command.args.at(0));
  Result<core::ChannelInfo> result = Status::internal("no action");
  if (action == "create") {
    result = backend_.create_channel(channel);
  } else if (action == "invite") {
    working("inviting " + invitees(command) + " to #" + channel + "…");
    result = backend_.invite_to_channel(
        channel, std::vector<std::string>(command.args.begin() + 1, command.args.end()));
  } else if (action == "remove") {
    result = backend_.remove_from_channel(channel, command.args.at(1));
  } else if (action == "leave") {
    result = backend_.leave_channel(channel);
  } else if (action == "accept") {
    result = backend_.accept_channel(channel);
  } else if (action == "decline") {
    result = backend_.decline_channel(channel);
  }
  if (!result.is_ok()) {
    error(result.status());
    return;
  }
  state_.upsert_channel(result.value());
  if (action == "create") {
    open_key(state_.channel_conversation(result.value()).key);
    state_.notice("created #" + channel + "; invite verified contacts with /channel invite " +
                  channel + " NAME");
  } else if (action == "invite") {
    state_.notice("invited " + invitees(command) + " to #" + channel + "; code " +
                  result->security_code);
  }
}

void App::verify(const std::string& name) {
  auto number = backend_.safety_number(name);
  if (!number.is_ok()) {
    error(number.status());
    return;
  }
  Dialog d;
  d.title = "safety number with " + name;
  d.subject = name;
  d.confirmable = true;
  d.lines.push_back("Compare these digits with " + name + "'s screen,");
  d.lines.push_back("in person or over a channel you already trust:");
  d.lines.push_back("");
  // 12 groups of 5 digits: three rows of four.
  std::vector<std::string> groups;
  std::string group;
  for (char c : number.value()) {
    if (c >= '0' && c <= '9') group += c;
    if (group.size() == 5) {
      groups.push_back(group);
      group.clear();
    }
  }
  if (!group.empty()) groups.push_back(group);
  for (size_t i = 0; i < groups.size(); i += 4) {
    std::string row = "    ";
    for (size_t j = i; j < std::min(i + 4, groups.size()); ++j) row += groups[j] + "  ";
    d.lines.push_back(row);
  }
  d.lines.push_back("");
  d.footer = "y: they match (mark verified)   n/Esc: close";
  overlays_.push_back(std::move(d));
}

void App::roster(const std::string& name) {
  auto channel = backend_.channel(name);
  if (!channel.is_ok()) {
    error(channel.status());
    return;
  }
  const core::ChannelInfo& ch = channel.value();
  state_.upsert_channel(ch);
  Dialog d;
  d.title = "#" + ch.name + " roster (epoch " + std::to_string(ch.epoch) + ")";
  d.lines.push_back("security code  " + ch.security_code);
  d.lines.push_back(std::string(ch.strict ? "strict" : "open") + ", " +
                    (ch.free_voice ? "free voice (mixed)" : "one talker at a time") + ", " +
                    std::to_string(UiState::unverified_members(ch)) + " unverified");
  d.lines.push_back("");
  for (const core::ChannelMember& m : ch.members) {
    std::string line = std::string(m.online ? "● " : "○ ") + display_name(m.name, m.fingerprint);
    if (m.admin) line += " (admin)";
    std::string trust(core::to_string(m.trust));
    if (m.trust == core::MemberTrust::kVouched) trust += " by " + m.vouched_by;
    line += "  " + trust + "  " + short_fingerprint(m.fingerprint, 16);
    if (m.on_air || state_.on_air[ch.name].count(m.name) > 0) line += "  ON AIR";
    d.lines.push_back(line);
  }
  if (!ch.voice.empty()) {
    d.lines.push_back("");
    d.lines.push_back("latest transmissions:");
    for (const core::VoiceStats& v : ch.voice) {
      d.lines.push_back("  " + display_name(v.talker_name, v.talker) + " " +
                        seconds_text(v.duration_ms) + ", " + std::to_string(v.frames_lost) +
                        " lost, " + std::to_string(v.frames_concealed) + " concealed");
    }
  }
  d.footer = "Esc: close   read the code aloud at the start of a meeting";
  overlays_.push_back(std::move(d));
}

void App::search(const std::string& query) {
  auto hits = backend_.search(query);
  if (!hits.is_ok()) {
    error(hits.status());
    return;
  }
  Dialog d;
  d.title = "search: " + query;
  if (hits.value().empty()) d.lines.push_back("nothing found");
  for (const core::SearchHit& hit : hits.value()) {
    const core::MessageInfo& m = hit.message;
    const std::string who = m.outgoing ? "me" : display_name(m.sender_name, m.sender);
    d.lines.push_back(clock_time(m.sent_at) + " " + hit.conversation_name + " " + who + ": " +
                      hit.snippet);
  }
  d.footer = std::to_string(hits.value().size()) + " found, newest first   Esc: close";
  overlays_.push_back(std::move(d));
}

void App::toggle_ptt() {
  const bool on = !state_.ptt.on_air;
  std::string channel;
  if (on) {
    const Conversation& conv = state_.current_conversation();
    if (!conv.channel) {
      state_.notice("push-to-talk works in a channel: /open #NAME first", true);
      return;
    }
    channel = bare_channel(conv.target);
  } else {
    channel = bare_channel(state_.ptt.channel);
  }
  Status status = backend_.push_to_talk(channel, on);
  if (!status.is_ok()) {
    error(status);
  }
  state_.ptt = backend_.ptt_state();
}

void App::play(const Command& command) {
  const std::vector<std::string>& args = command.args;
  if (args.size() == 1) {
    play_out(args[0]);
    return;
  }
  if (args.size() != 3 || args[1] != "--wav") {
    state_.notice("usage: /play ID (on the output device) or /play ID --wav FILE", true);
    return;
  }
  write_wav(args[0], args[2]);
}

void App::play_out(const std::string& id) {
  auto started = backend_.play_out(id);
  if (!started.is_ok()) {
    error(started.status());
    return;
  }
  state_.playback = std::move(started).value();
  const core::PlaybackState& p = state_.playback;
  if (!p.signature_valid) {
    state_.notice("the clip's SIGNATURE DOES NOT VERIFY: it was altered", true);
  }
}

void App::play_newest_clip() {
  const std::vector<ConversationLine>& lines = state_.current_conversation().lines;
  const auto clip = std::find_if(lines.rbegin(), lines.rend(), [](const ConversationLine& m) {
    return m.origin == LineOrigin::kArchive && m.kind == core::MessageKind::kVoice;
  });
  if (clip != lines.rend()) play_out(clip->id);
}

void App::stop_playback() {
  backend_.stop_playback();
  state_.playback.playing = false;
  state_.playback.stopped = true;
}

// A relative FILE goes into the profile's own played/ directory (0700), where /play has always
// put its WAV files: a decrypted clip stays private unless the user names a place for it.
void App::write_wav(const std::string& id, const std::string& file) {
  std::string out = file;
  if (out.front() != '/') {
    const std::string dir = dir_ + "/played";
    ::mkdir(dir.c_str(), 0700);
    out = dir + "/" + file;
  }
  working("decoding " + id + "…");
  auto played = backend_.play(id, out);
  if (!played.is_ok()) {
    error(played.status());
    return;
  }
  const core::PlayedClip& clip = played.value();
  state_.notice("wrote " + clip.wav + ": voice clip, " + seconds_text(clip.duration_ms) + " from " +
                (clip.message.outgoing
                     ? std::string("me")
                     : display_name(clip.message.sender_name, clip.message.sender)) +
                (clip.signature_valid ? "; signature valid" : "; SIGNATURE INVALID"));
}

}  // namespace sotto::tui
