// The Content codec: what goes inside a Signal ciphertext (sotto.proto, "Content").
//
// Content is padded with zeros to a size bucket before encryption, so the ciphertext's length
// tells an observer the size class of a text, not its length. Decoding checks what a peer could
// get wrong or forge: it parses, has a body, a text has a 16-byte id and a body of valid UTF-8
// of at most 64 KiB. Thread-safety: stateless functions.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::net {

constexpr size_t kMessageIdSize = 16;
constexpr size_t kChannelIdSize = 16;
constexpr size_t kSignatureSize = 64;  // XEdDSA
constexpr size_t kMaxTextBytes = 64 * 1024;
// 60 KiB is the most that still travels in a 64 KiB frame (kFrameBuckets) with the Signal or
// sender-key ciphertext around it: a clip of up to ~18 s at the default bitrate, which the 70 KiB
// bucket sent padded to 256 KiB. 70 KiB holds the longest text (kMaxTextBytes). The largest holds
// the longest voice clip: it and the sender-key ciphertext around it still fit in one frame
// (kMaxFrameSize, 256 KiB).
constexpr std::array<size_t, 7> kContentBuckets = {160,       512,       2048,      16384,
                                                   60 * 1024, 70 * 1024, 240 * 1024};
// Voice (doc/guide.md, Push-to-talk voice): what a VoiceStart may announce, and the longest
// transmission a clip holds.
constexpr uint32_t kVoiceSampleRate = 48'000;
constexpr uint32_t kVoiceMinBitrate = 8'000;
constexpr uint32_t kVoiceMaxBitrate = 64'000;
constexpr size_t kVoiceKeySize = 32;
constexpr uint64_t kMaxExpiryMs = uint64_t{10} * 366 * 24 * 3600 * 1000;  // ten years
constexpr uint32_t kVoiceMaxFrames = 60'000 / 10;                         // 60 s of 10 ms frames

Result<Bytes> encode_content(wire::Content content);
// Corruption with a short reason when the plaintext is not acceptable Content.
Result<wire::Content> decode_content(ByteView plaintext);

// What a member signs with a new sender key of its own (sotto.proto, SenderKey.signature).
Bytes sender_key_signing_input(const wire::SenderKey& key);
// What a user signs to name its mailbox (sotto.proto, MailboxRecord.signature).
Bytes mailbox_record_signing_input(const wire::MailboxRecord& record);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace sotto::net
