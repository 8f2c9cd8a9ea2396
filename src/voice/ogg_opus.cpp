#include "sotto/voice/ogg_opus.h"

#include <ogg/ogg.h>

#include <memory>

#include "sotto/voice/opus_codec.h"
#include "src/voice/file_out.h"

namespace sotto::voice {
namespace {

void put_le(Bytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void put_text(Bytes& out, const std::string& text) {
  put_le(out, text.size(), 4);
  out.insert(out.end(), text.begin(), text.end());
}

// RFC 7845 §5.1: mapping family 0 (mono or stereo, no channel table), no output gain.
Bytes opus_head(const OggOpusStream& stream) {
  const std::string magic = "OpusHead";
  Bytes head(magic.begin(), magic.end());
  head.push_back(1);  // version
  head.push_back(static_cast<uint8_t>(stream.channels));
  put_le(head, stream.pre_skip, 2);
  put_le(head, stream.input_rate_hz, 4);
  put_le(head, 0, 2);  // output gain, Q7.8 dB
  head.push_back(0);   // channel mapping family
  return head;
}

// RFC 7845 §5.2.
Bytes opus_tags(const OggOpusStream& stream) {
  const std::string magic = "OpusTags";
  Bytes tags(magic.begin(), magic.end());
  put_text(tags, stream.vendor);
  put_le(tags, stream.tags.size(), 4);
  for (const std::string& tag : stream.tags) put_text(tags, tag);
  return tags;
}

// A tag's name is printable ASCII other than '=' (RFC 7845 §5.2, after Vorbis comments).
bool well_formed(const std::string& tag) {
  const size_t equals = tag.find('=');
  if (equals == std::string::npos || equals == 0) return false;
  for (size_t i = 0; i < equals; ++i) {
    if (tag[i] < 0x20 || tag[i] > 0x7d) return false;
  }
  return true;
}

// One logical Ogg stream being paged (owns libogg's ogg_stream_state).
class OggStream {
 public:
  static Result<std::unique_ptr<OggStream>> open(uint32_t serial) {
    auto stream = std::unique_ptr<OggStream>(new OggStream);
    if (ogg_stream_init(&stream->state_, static_cast<int>(serial)) != 0) {
      return Status::internal("libogg could not set up a stream");
    }
    stream->initialised_ = true;
    return stream;
  }
  ~OggStream() {
    if (initialised_) ogg_stream_clear(&state_);
  }
  OggStream(const OggStream&) = delete;
  OggStream& operator=(const OggStream&) = delete;

  Status add(const Bytes& data, int64_t granule, bool first, bool last) {
    ogg_packet packet{};
    // libogg copies the bytes; its API is not const-correct.
    packet.packet = const_cast<unsigned char*>(data.data());
    packet.bytes = static_cast<long>(data.size());
    packet.b_o_s = first ? 1 : 0;
    packet.e_o_s = last ? 1 : 0;
    packet.granulepos = granule;
    packet.packetno = packetno_++;
    if (ogg_stream_packetin(&state_, &packet) != 0) {
      return Status::internal("libogg refused a packet");
    }
    return Status::ok();
  }

  // Appends the pages that are full; with `flush`, also the last, partial one, so that what
  // follows starts a new page.
  void pages_to(Bytes& out, bool flush) {
    ogg_page page;
    while ((flush ? ogg_stream_flush(&state_, &page) : ogg_stream_pageout(&state_, &page)) != 0) {
      out.insert(out.end(), page.header, page.header + page.header_len);
      out.insert(out.end(), page.body, page.body + page.body_len);
    }
  }

 private:
  OggStream() = default;
  ogg_stream_state state_{};
  bool initialised_ = false;
  int64_t packetno_ = 0;
};

}  // namespace

Result<Bytes> encode_ogg_opus(const OggOpusStream& stream, const std::vector<Bytes>& packets) {
  if (packets.empty()) return Status::invalid_argument("an Ogg Opus stream needs a packet");
  if (stream.channels != 1 && stream.channels != 2) {
    return Status::invalid_argument("Ogg Opus here is mono or stereo, not " +
                                    std::to_string(stream.channels) + " channels");
  }
  for (const std::string& tag : stream.tags) {
    if (!well_formed(tag)) return Status::invalid_argument("not an Ogg Opus tag: " + tag);
  }
  SOTTO_ASSIGN_OR_RETURN(auto ogg, OggStream::open(stream.serial));
  Bytes out;
  // Each header packet ends its page (§3): a reader finds the audio on a page of its own.
  SOTTO_RETURN_IF_ERROR(ogg->add(opus_head(stream), 0, /*first=*/true, /*last=*/false));
  ogg->pages_to(out, /*flush=*/true);
  SOTTO_RETURN_IF_ERROR(ogg->add(opus_tags(stream), 0, false, false));
  ogg->pages_to(out, /*flush=*/true);
  int64_t granule = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    SOTTO_ASSIGN_OR_RETURN(int samples, packet_samples(packets[i]));
    granule += samples;
    const bool last = i + 1 == packets.size();
    // §4.5: a stream shorter than its pre-skip plays nothing and is invalid.
    if (last && granule < stream.pre_skip) {
      return Status::invalid_argument("the packets are shorter than the pre-skip");
    }
    SOTTO_RETURN_IF_ERROR(ogg->add(packets[i], granule, false, last));
    ogg->pages_to(out, /*flush=*/last);
  }
  return out;
}

Status write_ogg_opus(const std::string& path, const OggOpusStream& stream,
                      const std::vector<Bytes>& packets) {
  SOTTO_ASSIGN_OR_RETURN(Bytes bytes, encode_ogg_opus(stream, packets));
  return write_file(path, bytes);
}

}  // namespace sotto::voice
