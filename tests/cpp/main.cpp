// The Catch2 runner; compiled once and linked with every tests/cpp/test_*.cpp.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
