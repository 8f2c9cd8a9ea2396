// Ogg Opus (RFC 7845): how an archived clip leaves sotto without re-encoding. The clip's Opus
// packets go into Ogg pages as they are; only the two header packets are new.
//
// The stream, page by page:
//   page 0     OpusHead alone (beginning of stream, granule 0)
//   page 1     OpusTags alone (granule 0)
//   pages 2..  the audio packets, each page's granule position the number of 48 kHz samples
//              decoded by the end of its last packet, pre-skip included (RFC 7845 §4); the last
//              page carries end-of-stream. A player drops `pre_skip` samples at the start.
// Nothing is trimmed at the end: the clip's last packet is the talker's last frame, played whole.
//
// Thread-safety: free functions on values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::voice {

struct OggOpusStream {
  uint32_t serial = 0;  // the logical stream's serial number
  int channels = 1;     // of the packets: sotto's are mono
  uint32_t input_rate_hz = 48'000;
  uint16_t pre_skip = 0;          // 48 kHz samples of encoder delay to drop at the start
  std::string vendor;             // OpusTags: what wrote the stream
  std::vector<std::string> tags;  // OpusTags user comments, "NAME=value" (NAME in ASCII)
};

// The bytes of an Ogg Opus file holding `packets` in order. InvalidArgument for no packets, fewer
// samples than the pre-skip, a channel count other than 1 or 2 or a tag without "NAME=";
// Corruption for a packet that is not
// Opus (its duration cannot be read).
Result<Bytes> encode_ogg_opus(const OggOpusStream& stream, const std::vector<Bytes>& packets);
// Writes encode_ogg_opus(stream, packets) to `path` (created or truncated, mode 0644 less the
// umask); IoError when it cannot be written.
Status write_ogg_opus(const std::string& path, const OggOpusStream& stream,
                      const std::vector<Bytes>& packets);

}  // namespace sotto::voice
