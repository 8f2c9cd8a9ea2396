// Where a passphrase comes from: a file, an inherited file descriptor, or the terminal (no echo).
// Never argv, never the environment.
#pragma once

#include <string>

#include "sotto/base/secret.h"
#include "sotto/base/status.h"

namespace sotto::cli {

struct PassphraseSource {
  std::string file;  // --passphrase-file
  int fd = -1;       // --passphrase-fd
};

// Reads from the file or fd when given, else prompts on the terminal (twice when `confirm`).
// Errors: InvalidArgument when no source is usable (stdin is not a terminal), the passphrase is
// empty, or the two entries differ.
Result<SecretBytes> read_passphrase(const PassphraseSource& source, const char* prompt,
                                    bool confirm);

}  // namespace sotto::cli
