// Replays the checked-in fuzz corpus (tests/fuzz/corpus/<target>/) through the checks the
// libFuzzer targets run (tests/support/fuzz_targets.h), so every seed and every input that once
// crashed a parser is part of `make test`. Files named crash-* are kept crashing inputs: they must
// no longer break anything. Every other file is a seed and must still be accepted, or the fuzzer
// would start from inputs that stop at the first check.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/support/fuzz_targets.h"
#include "tests/support/source_tree.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
namespace fs = std::filesystem;

namespace {

fs::path corpus_root() {
  return test::source_path("tests/fuzz/corpus");
}

std::vector<fs::path> corpus_files(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("every checked-in fuzz input goes through its target's checks without breaking one",
          "[fuzz][adversarial]") {
  const fs::path root = corpus_root();
  for (const test::FuzzTarget& target : test::fuzz_targets()) {
    const auto files = corpus_files(root / target.name);
    INFO("corpus " << (root / target.name).string());
    CHECK(files.size() >= 3);
    for (const fs::path& file : files) {
      INFO("input " << file.string());
      const test::FuzzResult result = target.check(test::read_file(file.string()));
      CHECK(result.broken.empty());
      if (file.filename().string().rfind("crash-", 0) != 0) CHECK(result.accepted);
    }
  }
}

TEST_CASE("the fuzz seeds the encoders build are accepted and checked in", "[fuzz][adversarial]") {
  const fs::path root = corpus_root();
  for (const test::FuzzSeed& seed : test::fuzz_seeds()) {
    INFO(seed.target << "/" << seed.name);
    const test::FuzzTarget* target = nullptr;
    for (const auto& t : test::fuzz_targets()) {
      if (t.name == seed.target) target = &t;
    }
    REQUIRE(target != nullptr);
    const test::FuzzResult result = target->check(seed.input);
    CHECK(result.broken.empty());
    CHECK(result.accepted);
    // Not byte for byte: signatures are randomised, so a rebuilt seed differs from the file.
    CHECK(fs::is_regular_file(root / seed.target / seed.name));
  }
}

// `sotto-tests '[.fuzz-seeds]'` from the repository root rewrites the seeds after a wire change.
TEST_CASE("write the fuzz seed corpus", "[.fuzz-seeds]") {
  const fs::path root = corpus_root();
  for (const test::FuzzSeed& seed : test::fuzz_seeds()) {
    fs::create_directories(root / seed.target);
    test::write_file((root / seed.target / seed.name).string(), seed.input, 0644);
  }
}
