#pragma once
// The chat page served at GET /: one self-contained HTML file (vanilla JS, no
// build step) compiled into the binary. Its editable source is web/index.html;
// web_page.cpp holds the same text as a raw string literal, and a test checks
// the two are identical so they cannot drift.
#include <string_view>

namespace ridge::server {

std::string_view chat_page_html();

}  // namespace ridge::server
