// Looks for byte strings in another process's memory: every readable mapping of /proc/PID/mem,
// with the process stopped (SIGSTOP) meanwhile so that what is read is one moment's picture.
// Reading another process's memory takes root or ptrace rights over it; the tests run as root.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "sotto/base/bytes.h"

namespace sotto::test {

struct MemoryScan {
  std::vector<size_t> hits;  // per needle, how often it occurs
  // Per needle, how often it occurs in memory that is locked into RAM and left out of core
  // dumps (VmFlags "lo" and "dd" in /proc/PID/smaps): where SecretBytes keeps keys. Under
  // AddressSanitizer, which makes mlock a no-op, "dd" alone.
  std::vector<size_t> locked_hits;
  size_t bytes_read = 0;  // how much memory was searched (a scan that read nothing proves nothing)
  std::string error;      // set when /proc/PID/smaps or mem could not be opened
};

MemoryScan scan_memory(pid_t pid, const std::vector<Bytes>& needles);

// What unlocking a profile puts into a node's memory, read offline with the profile's
// passphrase: for searching a node's memory for them.
struct ProfileSecrets {
  Bytes database_key;  // raw, 32 bytes
  Bytes private_key;   // the identity key's scalar (its last 32 bytes)
  Bytes passphrase;

  // The needles, by index: the raw database key, the private key, the passphrase, and the
  // database key as SQLCipher's key text holds it, in lower and in upper case hex.
  enum Needle { kDatabaseKey, kPrivateKey, kPassphrase, kDatabaseKeyHex, kDatabaseKeyHexUpper };
  std::vector<Bytes> needles() const;
};
// REQUIRES: no node runs on `profile_dir`, and `passphrase` opens it (the test fails otherwise).
ProfileSecrets profile_secrets(const std::string& profile_dir, const std::string& passphrase);

}  // namespace sotto::test
