#include "tui/gate.h"

#include <cmath>

#include "sotto/core/account.h"
#include "tui/utf8.h"

namespace sotto::tui {

std::string passphrase_strength(std::string_view passphrase) {
  bool lower = false, upper = false, digit = false, other = false, non_ascii = false;
  for (unsigned char c : passphrase) {
    if (c >= 0x80) {
      non_ascii = true;
    } else if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else {
      other = true;
    }
  }
  const int alphabet = (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) + (other ? 33 : 0) +
                       (non_ascii ? 100 : 0);
  const size_t length = graphemes(passphrase).size();
  // People pick words, not random characters: count half of what random text would carry.
  const double bits = alphabet == 0 ? 0 : static_cast<double>(length) * std::log2(alphabet) / 2;
  if (bits < 30) return "weak";
  if (bits < 50) return "fair";
  if (bits < 70) return "good";
  return "strong";
}

Gate::Gate(Mode mode, std::string profile_dir, bool passphrase_given)
    : mode_(mode),
      dir_(std::move(profile_dir)),
      field_(mode == Mode::kCreate ? Field::kName : Field::kPassphrase),
      passphrase_given_(passphrase_given) {}

InputLine& Gate::field() {
  switch (field_) {
    case Field::kName:
      return name_;
    case Field::kPassphrase:
      return pass_;
    case Field::kRepeat:
      return repeat_;
  }
  return name_;
}

void Gate::fail(const std::string& message) {
  error_ = message;
  busy_.clear();
  pass_.clear();
  repeat_.clear();
  field_ = Field::kPassphrase;
}

std::optional<Gate::Request> Gate::handle(Operation op, const Key& key) {
  InputLine& line = field();
  switch (op) {
    case Operation::kInsert: {
      std::string utf8;
      append_utf8(utf8, key.ch);
      line.insert(utf8);
      break;
    }
    case Operation::kBackspace:
      line.backspace();
      break;
    case Operation::kDeleteForward:
      line.delete_forward();
      break;
    case Operation::kCursorLeft:
      line.left();
      break;
    case Operation::kCursorRight:
      line.right();
      break;
    case Operation::kLineStart:
      line.home();
      break;
    case Operation::kLineEnd:
      line.end();
      break;
    case Operation::kKillToStart:
      line.kill_to_start();
      break;
    case Operation::kDeleteWordBack:
      line.delete_word_back();
      break;
    case Operation::kHelp:
      if (key.code == Key::Code::kChar) line.insert("?");  // '?' is just a character here
      break;
    case Operation::kQuit:
      quit_ = true;
      break;
    case Operation::kCancel:
      if (field_ == Field::kRepeat) {
        repeat_.clear();
        pass_.clear();
        field_ = Field::kPassphrase;
      } else if (field_ == Field::kPassphrase && mode_ == Mode::kCreate) {
        pass_.clear();
        field_ = Field::kName;
      } else {
        quit_ = true;
      }
      break;
    case Operation::kSubmit:
      error_.clear();
      if (field_ == Field::kName) {
        if (name_.empty()) {
          error_ = "type the name peers will see";
        } else if (name_.text().size() > core::Account::kMaxNameBytes) {
          error_ = "that name is too long";
        } else if (passphrase_given_) {
          return Request{mode_, name_.text(), SecretBytes()};
        } else {
          field_ = Field::kPassphrase;
        }
      } else if (field_ == Field::kPassphrase) {
        if (pass_.empty()) {
          error_ = "the passphrase cannot be empty";
        } else if (mode_ == Mode::kCreate) {
          field_ = Field::kRepeat;
        } else {
          Request request{mode_, "", SecretBytes::copy_of(pass_.text())};
          pass_.clear();
          return request;
        }
      } else {
        if (repeat_.text() != pass_.text()) {
          fail("the two passphrases differ; type it again");
        } else {
          Request request{mode_, name_.text(), SecretBytes::copy_of(pass_.text())};
          pass_.clear();
          repeat_.clear();
          field_ = Field::kPassphrase;
          return request;
        }
      }
      break;
    default:
      break;
  }
  return std::nullopt;
}

void Gate::draw(Canvas& canvas) const {
  canvas.fill({0, 0, canvas.width(), canvas.height()});
  const Style title{Style::kBold, Color::kCyan};
  const Style dim{Style::kDim};
  const Style bold{Style::kBold};
  const int w = std::min(canvas.width(), 70);
  const int x = std::max((canvas.width() - w) / 2, 0);
  int y = std::max((canvas.height() - 14) / 2, 0);
  canvas.put(x, y++, "sotto", title);
  canvas.put(x, y++, "end-to-end encrypted text and push-to-talk voice for this LAN", dim, w);
  ++y;
  int cursor_x = -1, cursor_y = -1;
  auto field_row = [&](const std::string& label, const InputLine& line, bool active) {
    canvas.put(x, y, label, active ? bold : Style{}, w);
    const int fx = x + 20;
    if (line.hidden()) {
      canvas.put(fx, y, line.empty() ? "" : "(typing hidden)", dim, w - 20);
    } else {
      canvas.put(fx, y, line.view(w - 21).text, Style{}, w - 20);
    }
    if (active) {
      cursor_x = line.hidden() ? fx : fx + line.view(w - 21).cursor_column;
      cursor_y = y;
    }
    ++y;
  };
  if (mode_ == Mode::kCreate) {
    canvas.put(x, y++, "No profile yet: let's create one.", bold, w);
    canvas.put(x, y++, "It is kept in " + dir_ + ", encrypted with your passphrase.", dim, w);
    ++y;
    field_row("Your name:", name_, field_ == Field::kName);
    if (field_ != Field::kName) {
      field_row("Passphrase:", pass_, field_ == Field::kPassphrase);
      if (!pass_.empty()) {
        canvas.put(x + 20, y++, "strength: " + passphrase_strength(pass_.text()), dim, w - 20);
      }
    }
    if (field_ == Field::kRepeat) field_row("Repeat passphrase:", repeat_, true);
  } else {
    canvas.put(x, y++, "Unlock the profile in " + dir_, bold, w);
    ++y;
    field_row("Passphrase:", pass_, true);
  }
  ++y;
  if (!error_.empty()) canvas.put(x, y++, error_, Style{Style::kBold, Color::kRed}, w);
  if (!busy_.empty()) canvas.put(x, y++, busy_, bold, w);
  canvas.put(x, std::max(y + 1, canvas.height() - 1),
             "Enter: next   Esc: back   Ctrl-Q: quit   (passphrases are never shown)", dim, w);
  if (cursor_x >= 0) canvas.set_cursor(cursor_x, cursor_y);
}

}  // namespace sotto::tui
