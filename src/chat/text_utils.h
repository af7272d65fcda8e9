#pragma once
// Python-compatible text helpers for the template interpreter: UTF-8 code-point
// access, str.strip/split/upper/lower/title as Python defines them, float repr,
// string repr and json.dumps string escaping. Jinja2 runs on Python strings, so
// lengths, indices and slices count code points, not bytes.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ridge::chat::text {

// Decodes UTF-8 into code points. A byte that is not part of a valid sequence
// becomes kRawByteBase + byte, which encode_utf8 turns back into that byte, so
// invalid input round-trips unchanged.
constexpr char32_t kRawByteBase = 0x110000;
std::u32string decode_utf8(std::string_view s);
std::string encode_utf8(std::u32string_view cps);
void append_utf8(std::string& out, char32_t cp);
bool is_ascii(std::string_view s);
size_t codepoint_count(std::string_view s);

// Python str.isspace() for one code point.
bool is_python_space(char32_t c);
// Python str.splitlines() boundaries.
bool is_line_break(char32_t c);

std::string strip(std::string_view s, bool left, bool right);
// strip with an explicit set of characters (Python's str.strip(chars)).
std::string strip_chars(std::string_view s, std::string_view chars, bool left, bool right);
std::vector<std::string> split_whitespace(std::string_view s, long long maxsplit);
std::vector<std::string> split_sep(std::string_view s, std::string_view sep, long long maxsplit);
std::vector<std::string> rsplit_sep(std::string_view s, std::string_view sep, long long maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
std::string replace(std::string_view s, std::string_view from, std::string_view to, long long count);

std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
std::string python_title(std::string_view s);       // str.title()
std::string python_capitalize(std::string_view s);  // str.capitalize()
std::string jinja_title(std::string_view s);        // Jinja's |title filter
bool python_isupper(std::string_view s);
bool python_islower(std::string_view s);

// repr(float) as Python prints it: shortest round-trip digits, ".0" on integral
// values, exponent form below 1e-4 and from 1e16 on, "inf"/"nan".
std::string python_float_repr(double v);
// repr(str): single quotes unless the text holds ' and no ".
std::string python_string_repr(std::string_view s);
// The quoted JSON string json.dumps writes (ensure_ascii escapes non-ASCII as \uXXXX).
void append_json_string(std::string& out, std::string_view s, bool ensure_ascii);

}  // namespace ridge::chat::text

namespace ridge::chat::text {
// Python's str.isalpha / isdigit / isalnum for one code point (Unicode categories).
bool is_alpha_cp(char32_t c);
bool is_digit_cp(char32_t c);
}  // namespace ridge::chat::text
