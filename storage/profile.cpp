#include "sotto/storage/profile.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "storage/file_util.h"
#include "storage/migrations.h"
#include "storage/profile_header.h"
#include "storage/profile_lock.h"

namespace sotto::storage {
namespace {

constexpr const char* kPendingHeaderFile = "sotto.hdr.new";
constexpr size_t kKeySize = 32;

Status init_sodium() {
  if (sodium_init() < 0) return Status::internal("libsodium failed to initialise");
  return Status::ok();
}

// The directory must exist, be a directory, and be private to its owner.
Status check_directory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return status_from_errno(errno, "profile directory " + dir);
  if (!S_ISDIR(st.st_mode)) return Status::invalid_argument(dir + " is not a directory");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return Status::permission_denied("profile directory " + dir +
                                     " is accessible by group or others (mode " + mode +
                                     "); run: chmod 700 " + dir);
  }
  return Status::ok();
}

Status make_private_directory(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::path path(dir);
  if (path.has_parent_path() && !path.parent_path().empty()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
      return Status::io_error("creating " + path.parent_path().string() + ": " + ec.message());
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return status_from_errno(errno, "creating profile directory " + dir);
  }
  return check_directory(dir);
}

void remove_database_files(const std::string& db_path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((db_path + suffix).c_str());
  }
}

}  // namespace

KdfParams KdfParams::interactive() {
  return {"interactive", crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
KdfParams KdfParams::moderate() {
  return {"moderate", crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}
KdfParams KdfParams::sensitive() {
  return {"sensitive", crypto_pwhash_OPSLIMIT_SENSITIVE, crypto_pwhash_MEMLIMIT_SENSITIVE};
}
std::optional<KdfParams> KdfParams::by_name(std::string_view name) {
  if (name == "interactive") return interactive();
  if (name == "moderate") return moderate();
  if (name == "sensitive") return sensitive();
  return std::nullopt;
}

Result<SecretBytes> derive_key(const SecretBytes& passphrase, ByteView salt, const KdfParams& kdf) {
  SOTTO_RETURN_IF_ERROR(init_sodium());
  if (salt.size() != crypto_pwhash_SALTBYTES)
    return Status::invalid_argument("salt must be 16 bytes");
  SecretBytes key(kKeySize);
  if (crypto_pwhash(key.data(), key.size(), reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), salt.data(), kdf.opslimit, kdf.memlimit,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::internal("key derivation ran out of memory (Argon2id needs " +
                            std::to_string(kdf.memlimit >> 20) + " MiB)");
  }
  return key;
}

std::string Profile::default_dir() {
  const char* data_home = std::getenv("XDG_DATA_HOME");
  if (data_home != nullptr && data_home[0] == '/') return std::string(data_home) + "/sotto";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.local/share/sotto";
}

bool Profile::exists(const std::string& dir) {
  return path_exists(dir + "/" + kHeaderFile);
}

Profile::Profile(std::string dir, KdfParams kdf, std::unique_ptr<ProfileLock> lock,
                 std::unique_ptr<Database> db)
    : dir_(std::move(dir)), kdf_(std::move(kdf)), lock_(std::move(lock)), db_(std::move(db)) {}

Profile::~Profile() {
  db_.reset();  // close the database before the lock is released
  lock_.reset();
}

Result<std::unique_ptr<Profile>> Profile::create(const std::string& dir,
                                                 const SecretBytes& passphrase,
                                                 const KdfParams& kdf) {
  SOTTO_RETURN_IF_ERROR(init_sodium());
  if (passphrase.empty()) return Status::invalid_argument("the passphrase must not be empty");
  if (exists(dir)) return Status::invalid_argument("a profile already exists in " + dir);
  SOTTO_RETURN_IF_ERROR(make_private_directory(dir));
  SOTTO_ASSIGN_OR_RETURN(auto lock, ProfileLock::acquire(dir + "/" + kLockFile));
  SOTTO_RETURN_IF_ERROR(lock->claim());
  if (exists(dir)) return Status::invalid_argument("a profile already exists in " + dir);

  ProfileHeader header = ProfileHeader::fresh(kdf);
  SOTTO_ASSIGN_OR_RETURN(SecretBytes key, derive_key(passphrase, header.salt, kdf));
  header.set_check_for(key);

  // Without a header nothing can open a database file, so one left here is from an interrupted
  // init and is replaced.
  const std::string db_path = dir + "/" + kDatabaseFile;
  remove_database_files(db_path);
  SOTTO_ASSIGN_OR_RETURN(auto db, Database::open(db_path, key, Database::Mode::kCreate));
  SOTTO_RETURN_IF_ERROR(migrate(*db));
  // The header goes last: its presence is what makes the profile exist.
  SOTTO_RETURN_IF_ERROR(header.write_file(dir + "/" + kHeaderFile));
  return std::unique_ptr<Profile>(new Profile(dir, kdf, std::move(lock), std::move(db)));
}

namespace {

// Overwrites a regular file's bytes with random data and syncs them to disk.
Status overwrite_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::io_error("opening " + path + ": " + std::strerror(errno));
  struct stat st {};
  Status status = Status::ok();
  if (::fstat(fd, &st) != 0) {
    status = Status::io_error("reading " + path + ": " + std::strerror(errno));
  } else {
    Bytes noise(64 * 1024);
    off_t done = 0;
    while (done < st.st_size && status.is_ok()) {
      const size_t n =
          static_cast<size_t>(std::min<off_t>(static_cast<off_t>(noise.size()), st.st_size - done));
      randombytes_buf(noise.data(), n);
      const ssize_t written = ::pwrite(fd, noise.data(), n, done);
      if (written <= 0) {
        status = Status::io_error("overwriting " + path + ": " + std::strerror(errno));
      } else {
        done += written;
      }
    }
    if (status.is_ok() && ::fsync(fd) != 0) {
      status = Status::io_error("syncing " + path + ": " + std::strerror(errno));
    }
  }
  ::close(fd);
  return status;
}

// Overwrites and deletes everything under `dir`, then `dir` itself.
Status destroy_tree(const std::string& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  std::vector<std::filesystem::path> dirs;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) {
      files.push_back(it->path());  // the link itself goes; never what it points to
    } else if (it->is_directory(ec)) {
      dirs.push_back(it->path());
    } else if (it->is_regular_file(ec)) {
      SOTTO_RETURN_IF_ERROR(overwrite_file(it->path().string()));
      files.push_back(it->path());
    } else {
      files.push_back(it->path());  // sockets (control.sock) and the like
    }
  }
  if (ec) return Status::io_error("listing " + dir + ": " + ec.message());
  for (const auto& f : files) std::filesystem::remove(f, ec);
  std::reverse(dirs.begin(), dirs.end());  // children before parents
  for (const auto& d : dirs) std::filesystem::remove(d, ec);
  if (!std::filesystem::remove(dir, ec) || ec) {
    return Status::io_error("removing " + dir + ": " + (ec ? ec.message() : "not empty"));
  }
  return Status::ok();
}

}  // namespace

Status Profile::wipe(const std::string& dir) {
  SOTTO_RETURN_IF_ERROR(init_sodium());
  if (!exists(dir)) return Status::not_found("no profile in " + dir);
  SOTTO_RETURN_IF_ERROR(check_directory(dir));
  // Held to the end: no process can open the profile while it is being destroyed.
  SOTTO_ASSIGN_OR_RETURN(auto lock, ProfileLock::acquire(dir + "/" + kLockFile));
  SOTTO_RETURN_IF_ERROR(overwrite_file(dir + "/" + kHeaderFile));
  const std::string db = dir + "/" + kDatabaseFile;
  for (const std::string& path : {db, db + "-wal", db + "-shm", db + "-journal"}) {
    if (std::filesystem::exists(path)) SOTTO_RETURN_IF_ERROR(overwrite_file(path));
  }
  return destroy_tree(dir);
}

Result<std::unique_ptr<Profile>> Profile::open(const std::string& dir,
                                               const SecretBytes& passphrase) {
  SOTTO_RETURN_IF_ERROR(init_sodium());
  if (!exists(dir)) {
    return Status::not_found("no profile in " + dir + "; create one with: sotto init --name NAME");
  }
  SOTTO_RETURN_IF_ERROR(check_directory(dir));
  // Nothing below writes to the profile until the passphrase has been accepted.
  SOTTO_ASSIGN_OR_RETURN(auto lock, ProfileLock::acquire(dir + "/" + kLockFile));

  const std::string header_path = dir + "/" + kHeaderFile;
  const std::string pending_path = dir + "/" + kPendingHeaderFile;
  SOTTO_ASSIGN_OR_RETURN(ProfileHeader header, ProfileHeader::read_file(header_path));
  SOTTO_ASSIGN_OR_RETURN(SecretBytes key, derive_key(passphrase, header.salt, header.kdf));
  bool from_pending = false;
  if (!header.key_matches(key)) {
    // A passphrase change may have been interrupted after its re-key committed: then the pending
    // header holds the salt for the new passphrase.
    std::optional<ProfileHeader> pending;
    if (path_exists(pending_path)) {
      auto read = ProfileHeader::read_file(pending_path);
      if (read.is_ok()) pending = std::move(read).value();
    }
    if (!pending) return Status::auth_failed("wrong passphrase");
    SOTTO_ASSIGN_OR_RETURN(key, derive_key(passphrase, pending->salt, pending->kdf));
    if (!pending->key_matches(key)) return Status::auth_failed("wrong passphrase");
    header = std::move(*pending);
    from_pending = true;
  }

  SOTTO_RETURN_IF_ERROR(lock->claim());
  auto opened = Database::open(dir + "/" + kDatabaseFile, key, Database::Mode::kOpenExisting,
                               profile_open_check());
  if (!opened.is_ok() && opened.status().code() == StatusCode::kCorruption) {
    if (from_pending) return Status::auth_failed("wrong passphrase");  // its re-key never ran
    if (path_exists(pending_path)) {
      // The old passphrase matched the old header, but the re-key had already committed.
      return Status::auth_failed(
          "wrong passphrase: a passphrase change was interrupted; use the new passphrase");
    }
  }
  SOTTO_ASSIGN_OR_RETURN(auto db, std::move(opened));
  if (from_pending) {
    SOTTO_RETURN_IF_ERROR(rename_durably(pending_path, header_path));
  } else if (path_exists(pending_path)) {
    ::unlink(pending_path.c_str());  // the interrupted change never re-keyed; the old key holds
  }
  SOTTO_RETURN_IF_ERROR(migrate(*db));
  return std::unique_ptr<Profile>(new Profile(dir, header.kdf, std::move(lock), std::move(db)));
}

Status Profile::change_passphrase(const SecretBytes& new_passphrase) {
  if (new_passphrase.empty()) return Status::invalid_argument("the passphrase must not be empty");
  ProfileHeader header = ProfileHeader::fresh(kdf_);
  SOTTO_ASSIGN_OR_RETURN(SecretBytes key, derive_key(new_passphrase, header.salt, kdf_));
  header.set_check_for(key);
  const std::string pending_path = dir_ + "/" + kPendingHeaderFile;
  SOTTO_RETURN_IF_ERROR(header.write_file(pending_path));
  Status rekeyed = db_->rekey(key);
  if (!rekeyed.is_ok()) {
    ::unlink(pending_path.c_str());
    return rekeyed;
  }
  return rename_durably(pending_path, dir_ + "/" + kHeaderFile);
}

ProfileHold::ProfileHold(std::unique_ptr<ProfileLock> lock) : lock_(std::move(lock)) {}
ProfileHold::~ProfileHold() = default;

Result<std::unique_ptr<ProfileHold>> ProfileHold::take(const std::string& dir) {
  if (!Profile::exists(dir)) {
    return Status::not_found("no profile in " + dir + "; create one with: sotto init --name NAME");
  }
  SOTTO_ASSIGN_OR_RETURN(auto lock, ProfileLock::acquire(dir + "/" + Profile::kLockFile));
  SOTTO_RETURN_IF_ERROR(lock->claim());
  return std::unique_ptr<ProfileHold>(new ProfileHold(std::move(lock)));
}

}  // namespace sotto::storage
