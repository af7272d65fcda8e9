#pragma once
// Locates the shared test data (real models, vocabularies, test vectors) that the
// project may read but never ship: $RIDGE_TEST_DATA, else ../shared/testdata beside
// the source tree. Tests that need it skip with a reason when it is missing.
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace ridge::test {

// The test-data root, or nullopt when neither location exists.
std::optional<std::filesystem::path> testdata_dir();

// Full path of `rel` inside the test data, or nullopt when it is not there.
std::optional<std::filesystem::path> testdata_file(const std::string& rel);

// The project's source tree (to find tests/js, web/, fixtures).
std::filesystem::path source_dir();

// A fresh empty directory for one test's scratch files (under the build tree's tmp).
std::filesystem::path scratch_dir(const std::string& name);

}  // namespace ridge::test

// Binds `var` to the path of `rel` in the test data, or skips the test saying what is missing.
#define RIDGE_TESTDATA_OR_SKIP(var, rel)                                                      \
  auto var##_opt_ = ::ridge::test::testdata_file(rel);                                        \
  if (!var##_opt_) GTEST_SKIP() << "test data missing: " << (rel)                             \
                                << " (set RIDGE_TEST_DATA or provide ../shared/testdata)"; \
  const std::filesystem::path var = *var##_opt_
