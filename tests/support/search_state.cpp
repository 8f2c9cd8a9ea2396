#include "tests/support/search_state.h"

#include <catch2/catch.hpp>

namespace sotto::test {

int64_t unindexed_messages(storage::Database& db) {
  auto stmt = db.prepare(
      "SELECT (SELECT max(id) FROM messages) - indexed_through FROM message_search_state");
  REQUIRE(stmt.is_ok());
  REQUIRE(stmt.value()->step().value());
  const int64_t n = stmt.value()->column_int64(0);
  stmt.value()->reset();
  return n;
}

}  // namespace sotto::test
