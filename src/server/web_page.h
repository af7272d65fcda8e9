#pragma once
// The chat page served at GET /: one self-contained HTML file (vanilla JS, no
// build step) compiled into the binary. Its source is web/index.html, which
// CMake turns into a raw string literal (web_page.cpp.in) at configure time.
#include <string_view>

namespace ridge::server {

std::string_view chat_page_html();

}  // namespace ridge::server
