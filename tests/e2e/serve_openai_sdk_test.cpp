// The official OpenAI SDK (npm `openai`, pinned in tests/js) runs unmodified
// against a live `ridge serve`: tests/js/openai_sdk_test.mjs makes the calls
// and exits non-zero on any failed check. Skips when Node or the package is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/process.h"
#include "e2e/serve_harness.h"


TEST(ServeOpenAiSdk, OfficialClientPassesEveryCheck) {
  const std::string node = ridge::test::find_program("node");
  if (node.empty()) GTEST_SKIP() << "node is not installed (scripts/setup-node.sh installs it)";
  const auto js = ridge::test::source_dir() / "tests" / "js";
  if (!std::filesystem::exists(js / "node_modules" / "openai" / "package.json"))
    GTEST_SKIP() << "npm package openai missing in tests/js (run scripts/setup-node.sh)";
  const std::string key = "sk-sdk-test";
  ridge::test::ServeProcess server({"-m", ridge::test::serve_test_model().string(), "-c", "256", "--parallel", "4",
                                    "-t", "2", "--api-key", key});
  auto r = ridge::test::run_process({node, (js / "openai_sdk_test.mjs").string(), server.base_url(), key});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\nserver stderr:\n" << server.stderr_text();
  EXPECT_NE(r.out.find("all OpenAI SDK checks passed"), std::string::npos) << r.out;
}
