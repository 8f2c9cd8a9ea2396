#include "storage/profile_header.h"

#include <sodium.h>

#include <charconv>
#include <sstream>
#include <vector>

#include "storage/file_util.h"

namespace sotto::storage {
namespace {

constexpr std::string_view kMagicLine = "sotto-profile 1";
constexpr std::string_view kAlgorithm = "argon2id13";
constexpr std::string_view kCheckContext = "sotto profile key check v1";
constexpr size_t kMaxHeaderSize = 4096;
// Bounds for parameters read from disk: libsodium's own limits, and no more than 4 GiB of memory.
constexpr uint64_t kMaxMemlimit = uint64_t{4} << 30;
constexpr uint64_t kMaxOpslimit = 64;

Bytes blake2b(ByteView data, const uint8_t* key, size_t key_size) {
  Bytes out(crypto_generichash_BYTES);
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), key, key_size);
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// "key value" -> value, when the line starts with `key ` exactly.
std::optional<std::string> field(const std::string& line, std::string_view key) {
  if (line.size() <= key.size() + 1 || line.compare(0, key.size(), key) != 0 ||
      line[key.size()] != ' ') {
    return std::nullopt;
  }
  return line.substr(key.size() + 1);
}

std::optional<uint64_t> parse_u64(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

ProfileHeader ProfileHeader::fresh(const KdfParams& kdf) {
  ProfileHeader header;
  header.kdf = kdf;
  header.salt.resize(kSaltSize);
  randombytes_buf(header.salt.data(), header.salt.size());
  return header;
}

void ProfileHeader::set_check_for(const SecretBytes& key) {
  check = blake2b(as_bytes(kCheckContext), key.data(), key.size());
}

bool ProfileHeader::key_matches(const SecretBytes& key) const {
  const Bytes expected = blake2b(as_bytes(kCheckContext), key.data(), key.size());
  return equal_constant_time(expected, check);
}

std::string ProfileHeader::serialize() const {
  std::string body;
  body += std::string(kMagicLine) + "\n";
  body += "kdf " + std::string(kAlgorithm) + " " + kdf.name + "\n";
  body += "opslimit " + std::to_string(kdf.opslimit) + "\n";
  body += "memlimit " + std::to_string(kdf.memlimit) + "\n";
  body += "salt " + to_hex(salt) + "\n";
  body += "check " + to_hex(check) + "\n";
  return body + "sum " + to_hex(blake2b(as_bytes(body), nullptr, 0)) + "\n";
}

Result<ProfileHeader> ProfileHeader::parse(const std::string& text) {
  const Status damaged =
      Status::corruption("database corrupt: the profile header sotto.hdr is damaged");
  const auto sum_pos = text.rfind("sum ");
  if (sum_pos == std::string::npos || (sum_pos > 0 && text[sum_pos - 1] != '\n')) return damaged;
  const std::string body = text.substr(0, sum_pos);
  std::vector<std::string> lines = split_lines(text);
  if (lines.size() != 7 || lines[0] != kMagicLine) return damaged;

  auto sum = field(lines[6], "sum");
  auto sum_bytes = sum ? from_hex(*sum) : std::nullopt;
  if (!sum_bytes || !equal_constant_time(*sum_bytes, blake2b(as_bytes(body), nullptr, 0))) {
    return damaged;
  }

  ProfileHeader header;
  auto kdf_line = field(lines[1], "kdf");
  if (!kdf_line || kdf_line->rfind(std::string(kAlgorithm) + " ", 0) != 0) {
    return Status::invalid_argument("profile header names an unknown key derivation");
  }
  header.kdf.name = kdf_line->substr(kAlgorithm.size() + 1);
  auto ops = field(lines[2], "opslimit");
  auto mem = field(lines[3], "memlimit");
  auto opslimit = ops ? parse_u64(*ops) : std::nullopt;
  auto memlimit = mem ? parse_u64(*mem) : std::nullopt;
  if (!opslimit || !memlimit) return damaged;
  if (*opslimit < crypto_pwhash_OPSLIMIT_MIN || *opslimit > kMaxOpslimit ||
      *memlimit < crypto_pwhash_MEMLIMIT_MIN || *memlimit > kMaxMemlimit) {
    return Status::invalid_argument("profile header has key derivation parameters out of range");
  }
  header.kdf.opslimit = *opslimit;
  header.kdf.memlimit = *memlimit;

  auto salt = field(lines[4], "salt");
  auto check = field(lines[5], "check");
  auto salt_bytes = salt ? from_hex(*salt) : std::nullopt;
  auto check_bytes = check ? from_hex(*check) : std::nullopt;
  if (!salt_bytes || salt_bytes->size() != kSaltSize || !check_bytes ||
      check_bytes->size() != kCheckSize) {
    return damaged;
  }
  header.salt = std::move(*salt_bytes);
  header.check = std::move(*check_bytes);
  return header;
}

Result<ProfileHeader> ProfileHeader::read_file(const std::string& path) {
  SOTTO_ASSIGN_OR_RETURN(std::string text, read_small_file(path, kMaxHeaderSize));
  return parse(text);
}

Status ProfileHeader::write_file(const std::string& path) const {
  return write_file_atomically(path, serialize());
}

}  // namespace sotto::storage
