#include "chat/text_utils.h"

#include "common/utf8.h"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace ridge::chat::text {

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int len = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    char32_t cp = len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = len != 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) {
      unsigned char c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
    if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
               (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF))
      ok = false;
    if (ok) {
      out.push_back(cp);
      i += len;
    } else {
      out.push_back(kRawByteBase + b);
      ++i;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp >= kRawByteBase) {
    out.push_back(static_cast<char>(cp - kRawByteBase));
  } else {
    utf8::append(out, static_cast<uint32_t>(cp));
  }
}

std::string encode_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

size_t codepoint_count(std::string_view s) {
  if (is_ascii(s)) return s.size();
  return decode_utf8(s).size();
}

bool is_python_space(char32_t c) {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E: case 0x1F:
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

bool is_line_break(char32_t c) {
  switch (c) {
    case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E: case 0x85: case 0x2028:
    case 0x2029:
      return true;
    default:
      return false;
  }
}

std::string strip(std::string_view s, bool left, bool right) {
  std::u32string cps = decode_utf8(s);
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && is_python_space(cps[b])) ++b;
  if (right)
    while (e > b && is_python_space(cps[e - 1])) --e;
  return encode_utf8(std::u32string_view(cps).substr(b, e - b));
}

std::string strip_chars(std::string_view s, std::string_view chars, bool left, bool right) {
  std::u32string cps = decode_utf8(s);
  std::u32string set = decode_utf8(chars);
  auto in_set = [&](char32_t c) { return set.find(c) != std::u32string::npos; };
  size_t b = 0, e = cps.size();
  if (left)
    while (b < e && in_set(cps[b])) ++b;
  if (right)
    while (e > b && in_set(cps[e - 1])) --e;
  return encode_utf8(std::u32string_view(cps).substr(b, e - b));
}

std::vector<std::string> split_whitespace(std::string_view s, long long maxsplit) {
  std::u32string cps = decode_utf8(s);
  std::vector<std::string> out;
  size_t i = 0, n = cps.size();
  while (true) {
    while (i < n && is_python_space(cps[i])) ++i;
    if (i >= n) break;
    if (maxsplit >= 0 && static_cast<long long>(out.size()) == maxsplit) {
      // Python keeps the remainder as is, trailing whitespace stripped only by the loop above.
      size_t e = n;
      out.push_back(encode_utf8(std::u32string_view(cps).substr(i, e - i)));
      // The remainder keeps its trailing whitespace in CPython: "a b  ".split(None, 1) == ['a', 'b  '].
      break;
    }
    size_t j = i;
    while (j < n && !is_python_space(cps[j])) ++j;
    out.push_back(encode_utf8(std::u32string_view(cps).substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<std::string> split_sep(std::string_view s, std::string_view sep, long long maxsplit) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<long long>(out.size()) < maxsplit) {
    size_t f = s.find(sep, pos);
    if (f == std::string_view::npos) break;
    out.emplace_back(s.substr(pos, f - pos));
    pos = f + sep.size();
  }
  out.emplace_back(s.substr(pos));
  return out;
}

std::vector<std::string> rsplit_sep(std::string_view s, std::string_view sep, long long maxsplit) {
  std::vector<std::string> out;
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<long long>(out.size()) < maxsplit) {
    if (end < sep.size()) break;
    size_t f = s.rfind(sep, end - sep.size());
    if (f == std::string_view::npos) break;
    out.emplace_back(s.substr(f + sep.size(), end - f - sep.size()));
    end = f;
  }
  out.emplace_back(s.substr(0, end));
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
  std::u32string cps = decode_utf8(s);
  std::vector<std::string> out;
  size_t i = 0, start = 0, n = cps.size();
  while (i < n) {
    if (is_line_break(cps[i])) {
      size_t eol = i + 1;
      if (cps[i] == '\r' && i + 1 < n && cps[i + 1] == '\n') ++eol;
      out.push_back(encode_utf8(std::u32string_view(cps).substr(start, (keepends ? eol : i) - start)));
      start = i = eol;
    } else {
      ++i;
    }
  }
  if (start < n) out.push_back(encode_utf8(std::u32string_view(cps).substr(start)));
  return out;
}

std::string replace(std::string_view s, std::string_view from, std::string_view to, long long count) {
  std::string out;
  if (from.empty()) {
    // Python inserts `to` before every code point and at the end.
    std::u32string cps = decode_utf8(s);
    long long done = 0;
    for (char32_t c : cps) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      append_utf8(out, c);
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t pos = 0;
  long long done = 0;
  while (count < 0 || done < count) {
    size_t f = s.find(from, pos);
    if (f == std::string_view::npos) break;
    out.append(s.substr(pos, f - pos));
    out.append(to);
    pos = f + from.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

namespace {

char32_t upper_cp(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c >= kRawByteBase) return c;
  return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
}
char32_t lower_cp(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= kRawByteBase) return c;
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
}
char32_t title_cp(char32_t c) {
  if (c < 0x80) return upper_cp(c);
  if (c >= kRawByteBase) return c;
  return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
}
bool is_cased(char32_t c) { return upper_cp(c) != c || lower_cp(c) != c; }
bool is_upper_cp(char32_t c) { return lower_cp(c) != c; }
bool is_lower_cp(char32_t c) { return upper_cp(c) != c; }

template <class F>
std::string map_cps(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : decode_utf8(s)) append_utf8(out, f(c));
  return out;
}

}  // namespace

std::string to_upper(std::string_view s) { return map_cps(s, upper_cp); }
std::string to_lower(std::string_view s) { return map_cps(s, lower_cp); }

std::string python_title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : decode_utf8(s)) {
    append_utf8(out, prev_cased ? lower_cp(c) : title_cp(c));
    prev_cased = is_cased(c);
  }
  return out;
}

std::string python_capitalize(std::string_view s) {
  std::string out;
  bool first = true;
  for (char32_t c : decode_utf8(s)) {
    append_utf8(out, first ? title_cp(c) : lower_cp(c));
    first = false;
  }
  return out;
}

std::string jinja_title(std::string_view s) {
  // Jinja splits on runs of [-\s({\[<] and upper-cases the first character of
  // each other piece, lower-casing the rest.
  auto is_sep = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_python_space(c);
  };
  std::string out;
  bool at_start = true;
  for (char32_t c : decode_utf8(s)) {
    if (is_sep(c)) {
      append_utf8(out, c);
      at_start = true;
    } else {
      append_utf8(out, at_start ? upper_cp(c) : lower_cp(c));
      at_start = false;
    }
  }
  return out;
}

bool python_isupper(std::string_view s) {
  bool any = false;
  for (char32_t c : decode_utf8(s)) {
    if (is_lower_cp(c)) return false;
    if (is_upper_cp(c)) any = true;
  }
  return any;
}

bool python_islower(std::string_view s) {
  bool any = false;
  for (char32_t c : decode_utf8(s)) {
    if (is_upper_cp(c)) return false;
    if (is_lower_cp(c)) any = true;
  }
  return any;
}

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // Shortest round-trip digits in scientific form, then laid out as Python's repr does.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t e = sci.find('e');
  int exp10 = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits.push_back(c);
  std::string out = neg ? "-" : "";
  if (exp10 < -4 || exp10 >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    out += eb;
  } else if (exp10 < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp10 - 1), '0');
    out += digits;
  } else {
    size_t int_len = static_cast<size_t>(exp10) + 1;
    if (digits.size() <= int_len) {
      out += digits + std::string(int_len - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
  }
  return out;
}

namespace {
bool repr_printable(char32_t c) {
  if (c >= kRawByteBase) return false;
  if (c < 0x20 || c == 0x7F) return false;
  if (c >= 0x80 && c <= 0xA0) return false;
  if (c == 0xAD || c == 0x1680 || c == 0x3000 || c == 0xFEFF) return false;
  if (c >= 0x2000 && c <= 0x200F) return false;
  if (c >= 0x2028 && c <= 0x202F) return false;
  if (c >= 0x205F && c <= 0x206F) return false;
  if (c >= 0xE000 && c <= 0xF8FF) return false;  // private use
  return true;
}
}  // namespace

std::string python_string_repr(std::string_view s) {
  char quote = '\'';
  if (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) quote = '"';
  std::string out(1, quote);
  char buf[16];
  for (char32_t c : decode_utf8(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (repr_printable(c)) {
      append_utf8(out, c);
    } else {
      // Bytes that were not valid UTF-8 show the way Python's surrogateescape would.
      char32_t v = c >= kRawByteBase ? 0xDC00 + (c - kRawByteBase) : c;
      if (v < 0x100)
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(v));
      else if (v < 0x10000)
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(v));
      else
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(v));
      out += buf;
    }
  }
  out.push_back(quote);
  return out;
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  char buf[16];
  auto escape_unit = [&](unsigned v) {
    std::snprintf(buf, sizeof buf, "\\u%04x", v);
    out += buf;
  };
  auto plain = [&](char32_t c) {
    switch (c) {
      case '"': out += "\\\""; return true;
      case '\\': out += "\\\\"; return true;
      case '\n': out += "\\n"; return true;
      case '\r': out += "\\r"; return true;
      case '\t': out += "\\t"; return true;
      case '\b': out += "\\b"; return true;
      case '\f': out += "\\f"; return true;
      default: break;
    }
    if (c < 0x20) {
      escape_unit(static_cast<unsigned>(c));
      return true;
    }
    return false;
  };
  if (!ensure_ascii) {
    for (char ch : s) {
      unsigned char b = static_cast<unsigned char>(ch);
      if (b >= 0x80 || !plain(b)) out.push_back(ch);
    }
  } else {
    for (char32_t c : decode_utf8(s)) {
      if (c < 0x80) {
        if (!plain(c)) out.push_back(static_cast<char>(c));
      } else if (c >= kRawByteBase) {
        escape_unit(0xDC00 + (c - kRawByteBase));
      } else if (c < 0x10000) {
        escape_unit(static_cast<unsigned>(c));
      } else {
        char32_t v = c - 0x10000;
        escape_unit(0xD800 + (v >> 10));
        escape_unit(0xDC00 + (v & 0x3FF));
      }
    }
  }
  out.push_back('"');
}

}  // namespace ridge::chat::text

namespace ridge::chat::text {

bool is_alpha_cp(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c >= kRawByteBase) return false;
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT ||
         cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_LO;
}

bool is_digit_cp(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  if (c >= kRawByteBase) return false;
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
}

}  // namespace ridge::chat::text
