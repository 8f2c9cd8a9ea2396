#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/process.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"

using namespace sotto;

TEST_CASE("hex and Z85 round-trip and reject malformed text", "[base][bytes]") {
  const Bytes data = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
  CHECK(to_hex(data) == "864fd26fb559f75b");
  CHECK(from_hex("864FD26FB559F75B") == data);
  CHECK(to_z85(data) == "HelloWorld");  // the example of ZeroMQ RFC 32
  CHECK(from_z85("HelloWorld") == data);
  CHECK_FALSE(from_hex("abc").has_value());
  CHECK_FALSE(from_hex("zz").has_value());
  CHECK_FALSE(from_z85("Hell").has_value());
  CHECK_FALSE(from_z85("Hell~").has_value());
  CHECK_FALSE(from_z85("%%%%%").has_value());  // above 2^32
}

TEST_CASE("constant-time comparison tells equal from different and different lengths",
          "[base][bytes]") {
  const Bytes a = {1, 2, 3};
  CHECK(equal_constant_time(a, Bytes{1, 2, 3}));
  CHECK_FALSE(equal_constant_time(a, Bytes{1, 2, 4}));
  CHECK_FALSE(equal_constant_time(a, Bytes{1, 2}));
}

TEST_CASE("secret bytes are kept out of core dumps, locked, and wiped when shrunk",
          "[base][secret]") {
  SecretBytes secret = SecretBytes::copy_of(std::string_view("passphrase\n"));
  CHECK(secret.locked());
  secret.shrink_by(1);
  CHECK(secret.chars() == "passphrase");
  CHECK(secret.data()[10] == 0);  // the dropped newline was overwritten
  SecretBytes moved = std::move(secret);
  CHECK(moved.chars() == "passphrase");
  CHECK(secret.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  // The mapping is marked "dd" (do not dump) in smaps.
  std::ifstream smaps("/proc/self/smaps");
  std::string line, mapping;
  bool found_dd = false;
  char address[32];
  std::snprintf(address, sizeof address, "%lx-", reinterpret_cast<unsigned long>(moved.data()));
  bool in_mapping = false;
  while (std::getline(smaps, line)) {
    if (line.find('-') != std::string::npos && line.find(' ') > line.find('-') &&
        std::isxdigit(static_cast<unsigned char>(line[0]))) {
      in_mapping = line.rfind(address, 0) == 0;
    } else if (in_mapping && line.rfind("VmFlags:", 0) == 0) {
      found_dd = line.find(" dd") != std::string::npos;
    }
  }
  CHECK(found_dd);
}

TEST_CASE("a hardened process cannot dump core and is not dumpable", "[base][process]") {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    harden_process();
    struct rlimit core {};
    getrlimit(RLIMIT_CORE, &core);
    const bool ok = prctl(PR_GET_DUMPABLE) == 0 && core.rlim_cur == 0 && core.rlim_max == 0;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a Result carries either a value or a failed status", "[base][status]") {
  Result<int> good = 7;
  Result<int> bad = Status::not_found("nothing here");
  CHECK(good.is_ok());
  CHECK(good.value() == 7);
  CHECK_FALSE(bad.is_ok());
  CHECK(bad.status().code() == StatusCode::kNotFound);
  CHECK(bad.status().with_context("looking").message() == "looking: nothing here");
  Result<int> not_really = Status::ok();
  CHECK_FALSE(not_really.is_ok());  // an ok status without a value is a bug, not a success
}
