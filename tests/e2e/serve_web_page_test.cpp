// The chat page end to end: headless Chromium (Debian's, driven by npm
// playwright-core) types a message into the page served by the real
// `ridge serve` and sees the reply stream in.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/process.h"
#include "common/testdata.h"
#include "e2e/serve_harness.h"


TEST(ServeWebPage, MessageTypedInChromiumStreamsTheReply) {
  const std::string node = ridge::test::find_program("node");
  if (node.empty()) GTEST_SKIP() << "node is not installed (scripts/setup-node.sh installs it)";
  const auto js = ridge::test::source_dir() / "tests" / "js";
  if (!std::filesystem::exists(js / "node_modules" / "playwright-core" / "package.json"))
    GTEST_SKIP() << "npm package playwright-core missing in tests/js (run scripts/setup-node.sh)";
  if (!std::filesystem::exists("/usr/bin/chromium"))
    GTEST_SKIP() << "Debian's chromium is not installed (scripts/setup-node.sh installs it)";
  ridge::test::ServeProcess server({"-m", ridge::test::serve_test_model().string()});
  auto r = ridge::test::run_process({node, (js / "web_page_test.mjs").string(), server.base_url()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok:"), std::string::npos) << r.out;
}
