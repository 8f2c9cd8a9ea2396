// A VFS over SQLite's default one that gathers a transaction's writes to the write-ahead log
// and hands them to the file system as one write.
//
// SQLite writes every WAL frame as two pwrite calls (its 24-byte header, then the page), so a
// commit of 20 pages makes 40 system calls; on this project's machines a system call costs
// several microseconds, and that was most of what a message's commit cost beyond its fsync.
// Buffered writes reach the file before anything that could observe them: before every sync,
// read, size query, truncation and close of the log, and at the end of every commit frame, so
// even a commit without an fsync (synchronous=NORMAL) is in the file system when COMMIT returns,
// as a killed process needs. Only the log is buffered; the database file and everything else
// go straight through.
#pragma once

namespace sotto::storage {

// The VFS's name for sqlite3_open_v2, registered on first use; nullptr (SQLite's default VFS)
// when it could not be registered.
const char* wal_write_buffer_vfs();

}  // namespace sotto::storage
