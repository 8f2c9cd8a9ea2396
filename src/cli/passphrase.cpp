#include "src/cli/passphrase.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sotto/base/bytes.h"

namespace sotto::cli {
namespace {

constexpr size_t kMaxPassphrase = 4096;

// Reads up to a newline or end of file into locked memory; the newline is not kept.
Result<SecretBytes> read_line(int fd, const std::string& what) {
  SecretBytes buffer(kMaxPassphrase);
  size_t size = 0;
  for (;;) {
    uint8_t c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::io_error("reading " + what + ": " + std::strerror(errno));
    if (n == 0 || c == '\n') break;
    if (size == buffer.size()) return Status::invalid_argument(what + " is too long");
    buffer.data()[size++] = c;
  }
  if (size > 0 && buffer.data()[size - 1] == '\r') --size;
  if (size == 0) return Status::invalid_argument("the passphrase from " + what + " is empty");
  return SecretBytes::copy_of(ByteView(buffer.data(), size));
}

Result<SecretBytes> prompt_without_echo(const char* prompt) {
  if (!::isatty(STDIN_FILENO)) {
    return Status::invalid_argument(
        "no passphrase: stdin is not a terminal; use --passphrase-file FILE or --passphrase-fd N");
  }
  termios saved{};
  if (::tcgetattr(STDIN_FILENO, &saved) != 0) {
    return Status::io_error(std::string("reading terminal settings: ") + std::strerror(errno));
  }
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  // Echo goes off (and stale typeahead is flushed) before the prompt appears, so nothing typed
  // in answer to it can be echoed or lost.
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  (void)!::write(STDERR_FILENO, prompt, std::strlen(prompt));
  auto line = read_line(STDIN_FILENO, "the terminal");
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return line;
}

}  // namespace

Result<SecretBytes> read_passphrase(const PassphraseSource& source, const char* prompt,
                                    bool confirm) {
  if (!source.file.empty()) {
    int fd = ::open(source.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return Status::invalid_argument("cannot read passphrase file " + source.file + ": " +
                                      std::strerror(errno));
    }
    auto passphrase = read_line(fd, source.file);
    ::close(fd);
    return passphrase;
  }
  if (source.fd >= 0) return read_line(source.fd, "fd " + std::to_string(source.fd));

  SOTTO_ASSIGN_OR_RETURN(SecretBytes first, prompt_without_echo(prompt));
  if (!confirm) return first;
  SOTTO_ASSIGN_OR_RETURN(SecretBytes second, prompt_without_echo("Repeat passphrase: "));
  if (!equal_constant_time(first.view(), second.view())) {
    return Status::invalid_argument("the two passphrases differ");
  }
  return first;
}

}  // namespace sotto::cli
