#include "src/net/content.h"

#include <google/protobuf/stubs/logging.h>

namespace sotto::net {
namespace {

// Bytes the padding field itself adds: its tag and its length varint.
size_t padding_overhead(size_t padding) {
  size_t varint = 1;
  for (size_t v = padding; v >= 0x80; v >>= 7) ++varint;
  return 1 + varint;
}

// The codec parameters a VoiceStart may carry (doc/guide.md, Push-to-talk voice); `key_size` is 32
// live, 0 in a clip.
Status check_voice_start(const wire::VoiceStart& start, size_t key_size) {
  if (start.transmission_id().size() != kMessageIdSize ||
      start.channel_id().size() != kChannelIdSize) {
    return Status::corruption("voice start without transmission or channel id");
  }
  if (start.sample_rate() != kVoiceSampleRate ||
      (start.frame_ms() != 10 && start.frame_ms() != 20) || start.bitrate() < kVoiceMinBitrate ||
      start.bitrate() > kVoiceMaxBitrate) {
    return Status::corruption("voice start with unsupported codec parameters");
  }
  if (start.key().size() != key_size) return Status::corruption("voice start key size");
  return Status::ok();
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

Result<Bytes> encode_content(wire::Content content) {
  content.clear_padding();
  const size_t bare = content.ByteSizeLong();
  for (size_t bucket : kContentBuckets) {
    if (bare + padding_overhead(bucket) > bucket) continue;
    // The overhead depends on the padding's own length; settle it in two steps.
    size_t padding = bucket - bare - padding_overhead(bucket - bare);
    if (bare + padding + padding_overhead(padding) < bucket) ++padding;
    content.set_padding(std::string(padding, '\0'));
    // Some sizes cannot be met exactly: the padding's length varint grows a byte at 128 and
    // 16384, and an empty padding is not written at all. Those go up a bucket, since a
    // plaintext one byte off its bucket would tell its length.
    if (content.ByteSizeLong() != bucket) continue;
    Bytes out(bucket);
    content.SerializeToArray(out.data(), static_cast<int>(out.size()));
    return out;
  }
  return Status::invalid_argument("message too large");
}

Result<wire::Content> decode_content(ByteView plaintext) {
  if (plaintext.size() > kContentBuckets.back()) return Status::corruption("content too large");
  wire::Content content;
  bool parsed = false;
  {
    google::protobuf::LogSilencer quiet;  // peer input must not write to our terminal
    parsed = content.ParseFromArray(plaintext.data(), static_cast<int>(plaintext.size()));
  }
  if (!parsed) return Status::corruption("content does not parse");
  switch (content.body_case()) {
    case wire::Content::kText: {
      const wire::Text& text = content.text();
      if (text.id().size() != kMessageIdSize) return Status::corruption("text id is not 16 bytes");
      if (text.body().empty() || text.body().size() > kMaxTextBytes) {
        return Status::corruption("text body empty or too long");
      }
      if (!is_valid_utf8(text.body())) return Status::corruption("text body is not UTF-8");
      if (!text.channel_id().empty() && text.channel_id().size() != kChannelIdSize) {
        return Status::corruption("text channel id is not 16 bytes");
      }
      break;
    }
    case wire::Content::kChannelUpdate:
      if (content.channel_update().roster().empty() ||
          content.channel_update().signature().size() != kSignatureSize) {
        return Status::corruption("channel update without roster or signature");
      }
      break;
    case wire::Content::kSenderKey:
      if (content.sender_key().channel_id().size() != kChannelIdSize ||
          content.sender_key().distribution().empty()) {
        return Status::corruption("sender key without channel or key");
      }
      break;
    case wire::Content::kChannelLeave:
      if (content.channel_leave().channel_id().size() != kChannelIdSize) {
        return Status::corruption("leave without channel");
      }
      break;
    case wire::Content::kVoiceStart:
      SOTTO_RETURN_IF_ERROR(check_voice_start(content.voice_start(), kVoiceKeySize));
      break;
    case wire::Content::kVoiceEnd: {
      const wire::VoiceEnd& end = content.voice_end();
      if (end.transmission_id().size() != kMessageIdSize ||
          end.channel_id().size() != kChannelIdSize || end.frames() == 0 ||
          end.frames() > kVoiceMaxFrames || end.signature().size() != kSignatureSize) {
        return Status::corruption("voice end malformed");
      }
      break;
    }
    case wire::Content::kVoiceClip: {
      const wire::VoiceClip& clip = content.voice_clip();
      SOTTO_RETURN_IF_ERROR(check_voice_start(clip.start(), 0));
      if (clip.frames() == 0 || clip.frames() > kVoiceMaxFrames || clip.packets().empty() ||
          clip.signature().size() != kSignatureSize) {
        return Status::corruption("voice clip malformed");
      }
      break;
    }
    case wire::Content::kExpiry:
      if ((!content.expiry().channel_id().empty() &&
           content.expiry().channel_id().size() != kChannelIdSize) ||
          content.expiry().expire_ms() > kMaxExpiryMs) {
        return Status::corruption("expiry malformed");
      }
      break;
    default:
      return Status::corruption("content has no body");
  }
  return content;
}

Bytes sender_key_signing_input(const wire::SenderKey& key) {
  static constexpr char kLabel[] = "sotto sender key v1";
  Bytes out(kLabel, kLabel + sizeof kLabel - 1);
  out.insert(out.end(), key.channel_id().begin(), key.channel_id().end());
  append_be32(out, key.generation());
  append_be64(out, key.seq());
  append_be64(out, key.epoch());
  out.insert(out.end(), key.distribution().begin(), key.distribution().end());
  return out;
}

Bytes mailbox_record_signing_input(const wire::MailboxRecord& record) {
  static constexpr char kLabel[] = "sotto mailbox v1";
  Bytes out(kLabel, kLabel + sizeof kLabel - 1);
  out.insert(out.end(), record.user_key().begin(), record.user_key().end());
  out.insert(out.end(), record.mailbox_key().begin(), record.mailbox_key().end());
  out.insert(out.end(), record.mailbox_transport().begin(), record.mailbox_transport().end());
  append_be32(out, static_cast<uint32_t>(record.endpoint().size()));
  out.insert(out.end(), record.endpoint().begin(), record.endpoint().end());
  append_be64(out, record.serial());
  return out;
}

}  // namespace sotto::net
