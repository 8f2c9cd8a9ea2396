// Profile: a user's directory holding the encrypted database and what is needed to open it.
//
//   DIR/                 mode 0700; refused when group or others have any access
//   DIR/sotto.hdr        plaintext header: KDF name and parameters, 16-byte salt, key check value
//   DIR/sotto.db         SQLCipher database (plus -wal/-shm while open)
//   DIR/sotto.lock       flock()ed by the process that has the profile open; holds its PID
//
// The database key is Argon2id(passphrase, salt) through libsodium. A wrong passphrase is detected
// against the header's check value before the database is touched, so a failed unlock leaves every
// file byte-for-byte as it was. Thread-safety: one owner thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

struct KdfParams {
  std::string name;  // interactive, moderate, sensitive (libsodium's presets) or custom
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;

  static KdfParams interactive();
  static KdfParams moderate();
  static KdfParams sensitive();
  static std::optional<KdfParams> by_name(std::string_view name);
};

// Argon2id(passphrase, salt) -> 32-byte key. REQUIRES: salt is 16 bytes.
Result<SecretBytes> derive_key(const SecretBytes& passphrase, ByteView salt, const KdfParams& kdf);

class ProfileLock;

class Profile {
 public:
  static constexpr const char* kHeaderFile = "sotto.hdr";
  static constexpr const char* kDatabaseFile = "sotto.db";
  static constexpr const char* kLockFile = "sotto.lock";

  // $XDG_DATA_HOME/sotto, or ~/.local/share/sotto.
  static std::string default_dir();
  // True when DIR holds a profile header (an initialised profile).
  static bool exists(const std::string& dir);

  // Creates DIR (0700) and a new empty, migrated database.
  // Errors: InvalidArgument if a profile already exists there or the passphrase is empty;
  // PermissionDenied for a directory others can access; Busy when another process holds it.
  static Result<std::unique_ptr<Profile>> create(const std::string& dir,
                                                 const SecretBytes& passphrase,
                                                 const KdfParams& kdf);
  // Errors: NotFound (no profile), AuthFailed ("wrong passphrase"), Corruption ("database
  // corrupt"), PermissionDenied (directory mode), Busy ("profile in use by PID N").
  static Result<std::unique_ptr<Profile>> open(const std::string& dir,
                                               const SecretBytes& passphrase);
  ~Profile();
  Profile(const Profile&) = delete;
  Profile& operator=(const Profile&) = delete;

  Database& db() { return *db_; }
  const std::string& dir() const { return dir_; }
  const KdfParams& kdf() const { return kdf_; }
  std::string path_of(const char* file) const { return dir_ + "/" + file; }

  // Destroys the profile in DIR irreversibly: every file is overwritten with random bytes and
  // synced (the header first: without its salt and parameters the database cannot be decrypted
  // even if a copy of it survives), then deleted, and the directory removed. No passphrase is
  // needed (whoever can read the files can delete them anyway). On SSDs and journaling or
  // copy-on-write file systems old blocks may survive an overwrite; the encryption is what
  // protects those. Errors: NotFound (no profile), Busy (a process has it open).
  static Status wipe(const std::string& dir);

  // Re-encrypts the database under a key from `new_passphrase` and a fresh salt. Crash-safe: the
  // new header is written aside first and put in place only after the re-key has committed.
  Status change_passphrase(const SecretBytes& new_passphrase);

 private:
  Profile(std::string dir, KdfParams kdf, std::unique_ptr<ProfileLock> lock,
          std::unique_ptr<Database> db);

  std::string dir_;
  KdfParams kdf_;
  std::unique_ptr<ProfileLock> lock_;
  std::unique_ptr<Database> db_;
};

// Keeps a profile in use without opening it: other processes get Busy ("profile in use by PID
// N") as if it were open. A locked node holds one, so that no second node or offline command
// takes the profile while its owner is away. Released on destruction (or exit, even by kill -9).
class ProfileHold {
 public:
  // Errors: NotFound (no profile), Busy (another process has it).
  static Result<std::unique_ptr<ProfileHold>> take(const std::string& dir);
  ~ProfileHold();
  ProfileHold(const ProfileHold&) = delete;
  ProfileHold& operator=(const ProfileHold&) = delete;

 private:
  explicit ProfileHold(std::unique_ptr<ProfileLock> lock);
  std::unique_ptr<ProfileLock> lock_;
};

}  // namespace sotto::storage
