// RecentTable: per-source state under a cap; a full table forgets the entry used longest ago.
#include "src/core/recent_table.h"

#include <catch2/catch.hpp>
#include <string>

using sotto::core::RecentTable;

TEST_CASE("a full recent table forgets the entry used longest ago, and a use refreshes an entry",
          "[core][discovery]") {
  RecentTable<std::string, int> table(3);
  auto zero = [] { return 0; };
  table.use("a", 1, zero) = 1;
  table.use("b", 2, zero) = 2;
  table.use("c", 3, zero) = 3;
  CHECK(table.use("a", 4, zero) == 1);  // a is the newest now
  table.use("d", 5, zero) = 4;          // b goes
  CHECK(table.size() == 3);
  CHECK(table.find("b") == nullptr);
  REQUIRE(table.find("a") != nullptr);
  CHECK(*table.find("a") == 1);
  table.erase("c");
  table.use("e", 6, zero);
  table.use("f", 7, zero);  // a goes: d, e and f were used since
  CHECK(table.find("a") == nullptr);
  CHECK(table.find("d") != nullptr);
  CHECK(table.find("e") != nullptr);
  CHECK(table.find("f") != nullptr);

  // A flood of new keys through a full table keeps it at its cap, each new key staying.
  RecentTable<std::string, int> flooded(64);
  for (int i = 0; i < 10'000; ++i) {
    flooded.use("k" + std::to_string(i), i, zero);
    REQUIRE(flooded.find("k" + std::to_string(i)) != nullptr);
  }
  CHECK(flooded.size() == 64);
  CHECK(flooded.find("k9936") != nullptr);
  CHECK(flooded.find("k9935") == nullptr);
}
