// Gate: the screens before the node starts — creating a profile on first run (name, passphrase
// twice, no echo, a strength hint) or unlocking an existing one. It only collects input; the
// caller does the slow work (Argon2id) and reports back with fail().
// Thread-safety: one owner (the UI thread).
#pragma once

#include <optional>
#include <string>

#include "sotto/base/secret.h"
#include "tui/canvas.h"
#include "tui/input_line.h"
#include "tui/keymap.h"

namespace sotto::tui {

// A rough strength estimate of a passphrase: "weak", "fair", "good" or "strong", from its length
// and the kinds of characters in it (half of log2(alphabet) bits per character: chosen words
// carry far less than random characters).
std::string passphrase_strength(std::string_view passphrase);

class Gate {
 public:
  enum class Mode { kCreate, kUnlock };
  struct Request {
    Mode mode;
    std::string name;        // kCreate
    SecretBytes passphrase;  // empty when the passphrase was given beforehand
  };

  // `passphrase_given`: --passphrase-file/--passphrase-fd was used, so creating a profile asks
  // for the name only.
  Gate(Mode mode, std::string profile_dir, bool passphrase_given = false);

  // Feeds one operation; a Request when the user has finished a form, else nothing.
  std::optional<Request> handle(Operation op, const Key& key);
  // The last request failed ("wrong passphrase"): show it and start the passphrase over.
  void fail(const std::string& message);
  // Shown while the caller works ("unlocking…").
  void set_busy(const std::string& message) { busy_ = message; }
  bool quit() const { return quit_; }
  Mode mode() const { return mode_; }

  void draw(Canvas& canvas) const;

 private:
  enum class Field { kName, kPassphrase, kRepeat };
  InputLine& field();

  Mode mode_;
  std::string dir_;
  Field field_;
  InputLine name_;
  InputLine pass_{true};
  InputLine repeat_{true};
  std::string error_;
  std::string busy_;
  bool quit_ = false;
  bool passphrase_given_ = false;
};

}  // namespace sotto::tui
