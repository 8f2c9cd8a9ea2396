#include "storage/wal_write_buffer.h"

#include <sqlcipher/sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace sotto::storage {
namespace {

constexpr const char* kVfsName = "sotto-wal-write-buffer";
// The WAL format (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte file header,
// then frames of a 24-byte header and a page. A frame header's bytes 4..7 hold, big-endian, the
// database's size in pages after the commit for the frame that ends a commit, and 0 otherwise.
constexpr sqlite3_int64 kWalHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;
// Past this, the buffer is written out even mid-transaction. Also the most handed down in one
// write: the unix VFS keeps only the low 17 bits of a write's length (SQLite itself never
// writes more than a 64 KiB page at once).
constexpr size_t kMaxPendingBytes = 64 * 1024;
// A log that grows is extended this far ahead with zeros. Appending makes every fdatasync write
// the file's new size through the file system's journal too; overwriting written blocks does
// not (on ext4 here: 386 vs 212 us per 20 KiB commit, p50). Preallocating (fallocate) does not
// help: the first write to an unwritten extent is a metadata change as well. Zeros beyond the
// last frame are nothing to SQLite (not a valid frame: recovery stops there).
constexpr sqlite3_int64 kGrowBytes = 64 * 1024;

// SQLite allocates szOsFile bytes for each open file and hands them to xOpen uninitialised:
// ours at the front, the underlying VFS's file right after.
struct File {
  sqlite3_file base;  // first: SQLite sees this
  sqlite3_file* real;
  std::vector<unsigned char>* pending;  // only for the log; null for every other file
  sqlite3_int64 pending_offset;
  sqlite3_int64 written_end;  // the file's size: up to here, blocks are allocated and written
  bool commit_frame;  // the last write was the header of a commit frame: its page ends the commit
};
constexpr size_t kFileBytes = (sizeof(File) + 7) & ~size_t{7};

sqlite3_vfs* lower_vfs = nullptr;

File* of(sqlite3_file* file) {
  return reinterpret_cast<File*>(file);
}
const sqlite3_io_methods* real_methods(File* f) {
  return f->real->pMethods;
}

// Writes `size` bytes from `data` (zeros when null) at `offset`, in writes the VFS takes whole.
int write_out(File* f, const unsigned char* data, size_t size, sqlite3_int64 offset) {
  static const unsigned char kZeros[kMaxPendingBytes] = {};
  int rc = SQLITE_OK;
  for (size_t done = 0; done < size && rc == SQLITE_OK;) {
    const size_t chunk = std::min(kMaxPendingBytes, size - done);
    rc =
        real_methods(f)->xWrite(f->real, data != nullptr ? data + done : kZeros,
                                static_cast<int>(chunk), offset + static_cast<sqlite3_int64>(done));
    done += chunk;
  }
  return rc;
}

int flush(File* f) {
  if (f->pending == nullptr || f->pending->empty()) return SQLITE_OK;
  const sqlite3_int64 end = f->pending_offset + static_cast<sqlite3_int64>(f->pending->size());
  int rc = write_out(f, f->pending->data(), f->pending->size(), f->pending_offset);
  f->pending->clear();
  if (rc == SQLITE_OK && end > f->written_end) {
    const sqlite3_int64 ahead = (end + kGrowBytes - 1) / kGrowBytes * kGrowBytes;
    rc = write_out(f, nullptr, static_cast<size_t>(ahead - end), end);
    if (rc == SQLITE_OK) f->written_end = ahead;
  }
  return rc;
}

bool is_commit_frame_header(const void* data, int amount, sqlite3_int64 offset) {
  if (amount != kFrameHeaderBytes || offset < kWalHeaderBytes) return false;
  const auto* bytes = static_cast<const unsigned char*>(data);
  return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

int buffered_write(File* f, const void* data, int amount, sqlite3_int64 offset) {
  std::vector<unsigned char>& pending = *f->pending;
  if (!pending.empty() &&
      offset != f->pending_offset + static_cast<sqlite3_int64>(pending.size())) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (pending.empty()) f->pending_offset = offset;
  const bool ends_commit = std::exchange(f->commit_frame, false);
  f->commit_frame = is_commit_frame_header(data, amount, offset);
  const auto* bytes = static_cast<const unsigned char*>(data);
  try {
    pending.insert(pending.end(), bytes, bytes + amount);
  } catch (const std::bad_alloc&) {
    // No memory to gather: what is gathered goes out, then this write on its own.
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    const int rc = real_methods(f)->xWrite(f->real, data, amount, offset);
    if (rc == SQLITE_OK) f->written_end = std::max(f->written_end, offset + amount);
    return rc;
  }
  if (ends_commit || pending.size() >= kMaxPendingBytes) return flush(f);
  return SQLITE_OK;
}

int x_close(sqlite3_file* file) {
  File* f = of(file);
  const int flushed = flush(f);
  delete f->pending;
  f->pending = nullptr;
  const int rc = real_methods(f)->xClose(f->real);
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_read(sqlite3_file* file, void* data, int amount, sqlite3_int64 offset) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xRead(f->real, data, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = of(file);
  if (f->pending == nullptr) return real_methods(f)->xWrite(f->real, data, amount, offset);
  return buffered_write(f, data, amount, offset);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  f->written_end = std::min(f->written_end, size);
  return real_methods(f)->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  File* f = of(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_methods(f)->xFileSize(f->real, size);
}

// The rest go straight through.
int x_lock(sqlite3_file* file, int lock) {
  return real_methods(of(file))->xLock(of(file)->real, lock);
}
int x_unlock(sqlite3_file* file, int lock) {
  return real_methods(of(file))->xUnlock(of(file)->real, lock);
}
int x_check_reserved_lock(sqlite3_file* file, int* out) {
  return real_methods(of(file))->xCheckReservedLock(of(file)->real, out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
  return real_methods(of(file))->xFileControl(of(file)->real, op, arg);
}
int x_sector_size(sqlite3_file* file) {
  return real_methods(of(file))->xSectorSize(of(file)->real);
}
int x_device_characteristics(sqlite3_file* file) {
  return real_methods(of(file))->xDeviceCharacteristics(of(file)->real);
}
int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  const sqlite3_io_methods* m = real_methods(of(file));
  if (m->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return m->xShmMap(of(file)->real, region, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  const sqlite3_io_methods* m = real_methods(of(file));
  if (m->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return m->xShmLock(of(file)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
  const sqlite3_io_methods* m = real_methods(of(file));
  if (m->iVersion >= 2) m->xShmBarrier(of(file)->real);
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  const sqlite3_io_methods* m = real_methods(of(file));
  if (m->iVersion < 2) return SQLITE_OK;
  return m->xShmUnmap(of(file)->real, delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  const sqlite3_io_methods* m = real_methods(of(file));
  *out = nullptr;
  if (m->iVersion < 3 || of(file)->pending != nullptr) return SQLITE_OK;  // read it instead
  return m->xFetch(of(file)->real, offset, amount, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  const sqlite3_io_methods* m = real_methods(of(file));
  if (m->iVersion < 3 || of(file)->pending != nullptr) return SQLITE_OK;
  return m->xUnfetch(of(file)->real, offset, page);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = of(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kFileBytes);
  f->pending = nullptr;
  f->pending_offset = 0;
  f->written_end = 0;
  f->commit_frame = false;
  const int rc = lower_vfs->xOpen(lower_vfs, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  if (f->real->pMethods == nullptr) return SQLITE_CANTOPEN;
  // Without a buffer, the log is written through like any other file.
  if (flags & SQLITE_OPEN_WAL) {
    sqlite3_int64 size = 0;
    if (f->real->pMethods->xFileSize(f->real, &size) == SQLITE_OK) {
      f->written_end = size;
      f->pending = new (std::nothrow) std::vector<unsigned char>();
    }
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

sqlite3_vfs vfs;

}  // namespace

const char* wal_write_buffer_vfs() {
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] {
    lower_vfs = sqlite3_vfs_find(nullptr);
    if (lower_vfs == nullptr) return;
    // Everything but opening a file is the default VFS's own: a copy of it, with the same
    // pAppData, answers them.
    vfs = *lower_vfs;
    vfs.pNext = nullptr;
    vfs.zName = kVfsName;
    vfs.szOsFile = static_cast<int>(kFileBytes) + lower_vfs->szOsFile;
    vfs.xOpen = x_open;
    registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
  });
  return registered ? kVfsName : nullptr;
}

}  // namespace sotto::storage
