// The profile header file (sotto.hdr): what it takes to turn a passphrase into the database key.
//
//   sotto-profile 1
//   kdf argon2id13 <preset name>
//   opslimit <decimal>
//   memlimit <decimal bytes>
//   salt <32 hex digits>
//   check <64 hex digits>        BLAKE2b-256 keyed with the database key over a constant
//   sum <64 hex digits>          BLAKE2b-256 of every line above, to tell damage from a bad
//   passphrase
//
// Plain text on purpose: it holds nothing secret, and a person can read what protects their data.
#pragma once

#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/storage/profile.h"

namespace sotto::storage {

struct ProfileHeader {
  static constexpr size_t kSaltSize = 16;
  static constexpr size_t kCheckSize = 32;

  KdfParams kdf;
  Bytes salt;
  Bytes check;

  // A fresh header: random salt, check value for `key` derived under that salt.
  static ProfileHeader fresh(const KdfParams& kdf);
  void set_check_for(const SecretBytes& key);
  // Constant-time comparison against the stored check value.
  bool key_matches(const SecretBytes& key) const;

  std::string serialize() const;
  // Corruption when the text is damaged; InvalidArgument for parameters outside sane bounds
  // (a hostile header must not make us allocate terabytes).
  static Result<ProfileHeader> parse(const std::string& text);
  static Result<ProfileHeader> read_file(const std::string& path);
  Status write_file(const std::string& path) const;
};

}  // namespace sotto::storage
