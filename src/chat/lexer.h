#pragma once
// Splits template source into text and tag tokens the way Jinja2 does with
// trim_blocks and lstrip_blocks on: whitespace control (`{%-`, `-%}`, `{%+`),
// comments, raw blocks, and the expression tokens inside `{{ }}` and `{% %}`.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ridge::chat {

enum class TokenType { Text, BlockBegin, BlockEnd, VarBegin, VarEnd, Name, String, Int, Float, Op, Eof };

struct Token {
  TokenType type;
  std::string text;  // Text data, name, operator, or the decoded string literal
  int64_t int_value = 0;
  double float_value = 0;
  size_t offset = 0;  // byte offset in the normalized source, for error positions
};

// Jinja2 normalizes newlines (\r\n, \r -> \n) and drops one trailing newline
// before lexing; the parser reports positions in this normalized text.
std::string normalize_template_source(std::string_view source);

// "line L, column C" for an offset in `source`.
std::string describe_position(std::string_view source, size_t offset);

// Tokenizes normalized source; throws TemplateError naming line and column.
std::vector<Token> tokenize_template(std::string_view source);

}  // namespace ridge::chat
