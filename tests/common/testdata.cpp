#include "common/testdata.h"

#include <cstdlib>
#include <unistd.h>

namespace ridge::test {

std::optional<std::filesystem::path> testdata_dir() {
  if (const char* env = std::getenv("RIDGE_TEST_DATA"); env && *env) {
    std::filesystem::path p(env);
    if (std::filesystem::is_directory(p)) return p;
    return std::nullopt;
  }
  std::filesystem::path p = std::filesystem::path(RIDGE_SOURCE_DIR) / ".." / "shared" / "testdata";
  if (std::filesystem::is_directory(p)) return std::filesystem::weakly_canonical(p);
  return std::nullopt;
}

std::optional<std::filesystem::path> testdata_file(const std::string& rel) {
  auto dir = testdata_dir();
  if (!dir) return std::nullopt;
  auto p = *dir / rel;
  if (!std::filesystem::exists(p)) return std::nullopt;
  return p;
}

std::filesystem::path source_dir() { return std::filesystem::path(RIDGE_SOURCE_DIR); }

std::filesystem::path scratch_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("ridge-test-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace ridge::test
