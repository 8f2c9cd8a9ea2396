// Reads a SQLCipher database the way an attacker who has the key would: every page of the main
// file and of its write-ahead log, decrypted, whatever SQLite thinks of it (free pages, old page
// images in the WAL, slack space inside pages). What the archive has forgotten must not be in
// there; SQL cannot show that, since it only sees live rows.
//
// The layout is SQLCipher 3's, with the page size the profile sets (storage/database.cpp):
// AES-256-CBC per page under the raw key; each page ends in a reserve of 48 bytes whose first 16
// are the page's IV (the rest is its HMAC); page 1 begins with the 16-byte salt in place of
// "SQLite format 3", which is not encrypted. A WAL file is a 32-byte header, then frames of a
// 24-byte header and one page.
#pragma once

#include <string>

#include "sotto/base/bytes.h"

namespace sotto::test {

struct DecryptedFile {
  Bytes plaintext;  // every page decrypted, in file order
  size_t pages = 0;
  bool header_ok = false;  // page 1 of a main file decrypted to the SQLite header (the key fits)
};

constexpr size_t kSqlcipherPageSize = 1024;

// `key` is the 32-byte raw database key. A missing file gives an empty result.
DecryptedFile decrypt_database_file(const std::string& path, ByteView key);
DecryptedFile decrypt_wal_file(const std::string& path, ByteView key);

// How often `needle` occurs in the decrypted main file and WAL of database `db_path`, as is and
// in lower case (how the full-text index keeps its terms). REQUIRES: the key opens page 1.
size_t occurrences_in_database(const std::string& db_path, ByteView key, const std::string& needle);

}  // namespace sotto::test
