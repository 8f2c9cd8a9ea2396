// The one Catch2 test binary: every unit and integration test links into it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
