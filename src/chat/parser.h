#pragma once
// Builds the syntax tree from template tokens: Jinja2's statement and
// expression grammar (precedence, filters, tests, slices, calls). Unknown
// filters and tests are refused here, as Jinja2 refuses them at compile time.
#include <string_view>
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"

namespace ridge::chat {

// Nesting bound for statements and expressions, so hostile templates cannot
// exhaust the stack while parsing or rendering.
constexpr int kMaxParseDepth = 100;

// Parses tokens of `source` (normalized). Throws TemplateError naming line/column.
Body parse_template_tokens(std::string_view source, const std::vector<Token>& tokens);

}  // namespace ridge::chat
