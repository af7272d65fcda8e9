#!/usr/bin/env bash
# Regenerates src/server/web_page.cpp from web/index.html (the page is compiled
# into the binary as a raw string literal; tests/server/web_page_test.cpp
# fails when the two differ). Run after editing the page.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
page="$root/web/index.html"
out="$root/src/server/web_page.cpp"
if grep -q ')ridge_page"' "$page"; then
  echo "web/index.html contains the raw-string delimiter )ridge_page\"; change the delimiter" >&2
  exit 1
fi
{
  echo '// Generated from web/index.html by web/embed.sh; edit the page there, then rerun the script.'
  echo '#include "server/web_page.h"'
  echo
  echo 'namespace ridge::server {'
  echo
  echo 'namespace {'
  printf 'constexpr char kChatPage[] = R"ridge_page('
  cat "$page"
  echo ')ridge_page";'
  echo '}  // namespace'
  echo
  echo 'std::string_view chat_page_html() { return {kChatPage, sizeof(kChatPage) - 1}; }'
  echo
  echo '}  // namespace ridge::server'
} > "$out"
