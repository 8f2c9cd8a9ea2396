// Writing a whole audio file the voice layer produced (WAV, Ogg Opus). Private to src/voice.
// Thread-safety: a free function; no shared state.
#pragma once

#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::voice {

// Writes `bytes` to `path` (created or truncated, mode 0644 less the umask). IoError, naming the
// path, when it cannot be created, written or closed.
Status write_file(const std::string& path, ByteView bytes);

}  // namespace sotto::voice
