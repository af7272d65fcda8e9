// The page compiled into the binary is exactly web/index.html (CMake embeds
// it at configure time; this catches a substitution that mangles the text),
// and it has what the e2e browser test drives.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/testdata.h"
#include "server/web_page.h"

TEST(WebPage, EmbeddedCopyEqualsWebIndexHtml) {
  const auto path = ridge::test::source_dir() / "web" / "index.html";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::ostringstream s;
  s << in.rdbuf();
  EXPECT_TRUE(s.str() == ridge::server::chat_page_html())
      << "the embedded page differs from web/index.html: re-run cmake, and check the page for '@VAR@' text";
}

TEST(WebPage, StreamsFromTheChatEndpoint) {
  const std::string page(ridge::server::chat_page_html());
  EXPECT_EQ(page.rfind("<!doctype html>", 0), 0u);
  for (const char* needle : {"/v1/chat/completions", "stream: true", "getReader()", "id=\"input\"", "id=\"send\"",
                             "id=\"stop\"", "AbortController", "[DONE]"})
    EXPECT_NE(page.find(needle), std::string::npos) << needle;
}
