#include "chat/lexer.h"

#include <cmath>
#include <cstring>

#include "chat/template.h"
#include "chat/text_utils.h"

namespace ridge::chat {

std::string normalize_template_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (c == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

std::string describe_position(std::string_view source, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < source.size(); ++i) {
    if (source[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  std::vector<Token> run() {
    bool line_start = true;  // the previous tag's match ended a line (or this is the start)
    bool strip_next = false;
    while (pos_ <= src_.size()) {
      size_t tag = find_tag_start(pos_);
      std::string text(src_.substr(pos_, (tag == std::string_view::npos ? src_.size() : tag) - pos_));
      size_t text_offset = pos_;
      if (strip_next) {
        size_t k = 0;
        std::u32string cps = text::decode_utf8(text);
        while (k < cps.size() && text::is_python_space(cps[k])) ++k;
        std::string stripped = text::encode_utf8(std::u32string_view(cps).substr(k));
        text_offset += text.size() - stripped.size();
        text = std::move(stripped);
        strip_next = false;
      }
      if (tag == std::string_view::npos) {
        emit_text(std::move(text), text_offset);
        break;
      }
      char kind = src_[tag + 1];  // '{', '%' or '#'
      char modifier = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (modifier == '-') {
        text = text::strip(text, false, true);
      } else if (modifier != '+' && (kind == '%' || kind == '#')) {
        lstrip_line(text, line_start);
      }
      emit_text(std::move(text), text_offset);
      pos_ = tag + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
      bool trailing_strip = false;
      if (kind == '#') {
        size_t end = src_.find("#}", pos_);
        if (end == std::string_view::npos) fail(tag, "missing end of comment tag");
        trailing_strip = end > pos_ && src_[end - 1] == '-';
        pos_ = end + 2;
      } else {
        size_t first_token = tokens_.size();
        tokens_.push_back(Token{kind == '%' ? TokenType::BlockBegin : TokenType::VarBegin, {}, 0, 0, tag});
        trailing_strip = lex_tag_body(kind == '%', tag);
        if (kind == '%' && tokens_.size() == first_token + 3 && tokens_[first_token + 1].type == TokenType::Name &&
            tokens_[first_token + 1].text == "raw") {
          tokens_.resize(first_token);
          trailing_strip = lex_raw_body(tag, trailing_strip);
        }
      }
      line_start = false;
      if (trailing_strip) {
        strip_next = true;
        // Whether the stripped whitespace ends a line decides lstrip for the next tag.
        size_t k = pos_;
        while (k < src_.size() && is_ascii_space(src_[k])) ++k;
        line_start = k > pos_ && src_[k - 1] == '\n';
      } else if (kind != '{' && pos_ < src_.size() && src_[pos_] == '\n') {
        ++pos_;  // trim_blocks
        line_start = true;
      }
    }
    tokens_.push_back(Token{TokenType::Eof, {}, 0, 0, src_.size()});
    return std::move(tokens_);
  }

 private:
  std::string_view src_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;

  [[noreturn]] void fail(size_t offset, const std::string& what) {
    throw TemplateError("template syntax error at " + describe_position(src_, offset) + ": " + what);
  }

  size_t find_tag_start(size_t from) const {
    size_t i = src_.find('{', from);
    while (i != std::string_view::npos && i + 1 < src_.size()) {
      char c = src_[i + 1];
      if (c == '{' || c == '%' || c == '#') return i;
      i = src_.find('{', i + 1);
    }
    return std::string_view::npos;
  }

  // lstrip_blocks: whitespace between the start of the line and a block or
  // comment tag is removed.
  static void lstrip_line(std::string& text, bool line_start) {
    size_t nl = text.rfind('\n');
    size_t from = nl == std::string::npos ? 0 : nl + 1;
    if (nl == std::string::npos && !line_start) return;
    for (size_t k = from; k < text.size(); ++k)
      if (!is_ascii_space(text[k])) return;
    text.resize(from);
  }

  void emit_text(std::string text, size_t offset) {
    if (text.empty()) return;
    if (!tokens_.empty() && tokens_.back().type == TokenType::Text) {
      tokens_.back().text += text;
      return;
    }
    tokens_.push_back(Token{TokenType::Text, std::move(text), 0, 0, offset});
  }

  // Lexes expression tokens up to the tag's end; returns whether the end had '-'.
  bool lex_tag_body(bool block, size_t tag_offset) {
    int depth = 0;
    while (true) {
      while (pos_ < src_.size() && is_ascii_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) fail(tag_offset, block ? "missing end of block tag '%}'" : "missing end of '}}'");
      std::string_view rest = src_.substr(pos_);
      if (depth == 0) {
        std::string_view end = block ? "%}" : "}}";
        bool dash = rest.size() >= 3 && rest[0] == '-' && rest.substr(1, 2) == end;
        bool plus = rest.size() >= 3 && rest[0] == '+' && rest.substr(1, 2) == end && block;
        if (dash || plus || rest.substr(0, 2) == end) {
          tokens_.push_back(Token{block ? TokenType::BlockEnd : TokenType::VarEnd, {}, 0, 0, pos_});
          pos_ += (dash || plus) ? 3 : 2;
          return dash;
        }
      }
      char c = rest[0];
      if (is_name_start(c)) {
        size_t k = 1;
        while (k < rest.size() && (is_name_start(rest[k]) || is_digit(rest[k]))) ++k;
        tokens_.push_back(Token{TokenType::Name, std::string(rest.substr(0, k)), 0, 0, pos_});
        pos_ += k;
      } else if (is_digit(c)) {
        lex_number();
      } else if (c == '\'' || c == '"') {
        lex_string();
      } else {
        static const char* const kOps[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<",
                                           ">",  "=",  "(",  ")",  "[",  "]",  "{", "}", ",", ".", ":", "|"};
        bool matched = false;
        for (const char* op : kOps) {
          size_t n = std::strlen(op);
          if (rest.substr(0, n) == op) {
            if (n == 1 && (c == '(' || c == '[' || c == '{')) ++depth;
            if (n == 1 && (c == ')' || c == ']' || c == '}')) {
              if (depth == 0) fail(pos_, std::string("unexpected '") + c + "'");
              --depth;
            }
            tokens_.push_back(Token{TokenType::Op, op, 0, 0, pos_});
            pos_ += n;
            matched = true;
            break;
          }
        }
        if (!matched) fail(pos_, std::string("unexpected character '") + c + "'");
      }
    }
  }

  void lex_number() {
    size_t start = pos_;
    std::string digits;
    bool is_float = false;
    auto take_digits = [&] {
      while (pos_ < src_.size() && (is_digit(src_[pos_]) || (src_[pos_] == '_' && pos_ > start))) {
        if (src_[pos_] != '_') digits.push_back(src_[pos_]);
        ++pos_;
      }
    };
    take_digits();
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
      is_float = true;
      digits.push_back('.');
      ++pos_;
      take_digits();
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t k = pos_ + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        is_float = true;
        digits.append(src_.substr(pos_, k - pos_));
        pos_ = k;
        take_digits();
      }
    }
    Token t{is_float ? TokenType::Float : TokenType::Int, std::string(src_.substr(start, pos_ - start)), 0, 0, start};
    if (is_float) {
      t.float_value = std::strtod(digits.c_str(), nullptr);
    } else {
      int64_t v = 0;
      for (char d : digits) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d - '0', &v))
          fail(start, "integer literal too large");
      }
      t.int_value = v;
    }
    tokens_.push_back(std::move(t));
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // String literals decode escapes like Python's unicode-escape codec; an
  // unknown escape keeps its backslash.
  void lex_string() {
    size_t start = pos_;
    char quote = src_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) fail(start, "unterminated string literal");
      char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= src_.size()) fail(start, "unterminated string literal");
      char e = src_[pos_++];
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'v': out.push_back('\v'); break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            int h = pos_ < src_.size() ? hex_value(src_[pos_]) : -1;
            if (h < 0) fail(pos_, std::string("truncated \\") + e + " escape");
            cp = cp * 16 + static_cast<uint32_t>(h);
            ++pos_;
          }
          if (cp > 0x10FFFF) fail(pos_, "escape beyond U+10FFFF");
          text::append_utf8(out, cp);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k)
              cp = cp * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
            text::append_utf8(out, cp);
          } else {
            out.push_back('\\');
            out.push_back(e);
          }
      }
    }
    tokens_.push_back(Token{TokenType::String, std::move(out), 0, 0, start});
  }

  // After `{% raw %}`: everything up to `{% endraw %}` is text.
  bool lex_raw_body(size_t tag_offset, bool strip_start) {
    size_t search = pos_;
    while (true) {
      size_t t = src_.find("{%", search);
      if (t == std::string_view::npos) fail(tag_offset, "missing {% endraw %}");
      size_t k = t + 2;
      char mod = k < src_.size() ? src_[k] : '\0';
      if (mod == '-' || mod == '+') ++k;
      while (k < src_.size() && is_ascii_space(src_[k])) ++k;
      if (src_.substr(k, 6) != "endraw") {
        search = t + 2;
        continue;
      }
      k += 6;
      while (k < src_.size() && is_ascii_space(src_[k])) ++k;
      bool dash = k < src_.size() && src_[k] == '-';
      if (dash || (k < src_.size() && src_[k] == '+')) ++k;
      if (src_.substr(k, 2) != "%}") {
        search = t + 2;
        continue;
      }
      std::string body(src_.substr(pos_, t - pos_));
      if (strip_start) body = text::strip(body, true, false);
      if (mod == '-') body = text::strip(body, false, true);
      else if (mod != '+') lstrip_line(body, false);
      emit_text(std::move(body), pos_);
      pos_ = k + 2;
      return dash;
    }
  }
};

}  // namespace

std::vector<Token> tokenize_template(std::string_view source) { return Lexer(source).run(); }

}  // namespace ridge::chat
