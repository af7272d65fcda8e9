#pragma once
// UTF-8 text as llama.cpp's pre-tokenizers see it: a lenient decoder that turns
// every undecodable byte into its own U+FFFD unit (so invalid input splits the
// same way and never throws), Unicode general categories (from utf8proc) as bit
// sets, and the White_Space set that llama.cpp's tables call `\s`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ridge::tokenizer::unicode {

inline constexpr uint32_t kReplacementCharacter = 0xFFFD;

// Codepoints of a text with the byte offset where each starts; offsets has one
// extra entry (the text size) so unit i spans bytes [offsets[i], offsets[i+1]).
struct DecodedText {
  std::vector<uint32_t> codepoints;
  std::vector<size_t> offsets;
};

// Decodes like llama.cpp's unicode_cpts_from_utf8: a lead byte followed by the
// right number of continuation bytes is one codepoint (overlong forms,
// surrogates and values past U+10FFFF included, as llama.cpp does); any other
// byte becomes U+FFFD covering exactly that one byte.
DecodedText decode_utf8_lenient(std::string_view text);

// One bit per general category; the letter subcategories are separate so that
// \p{Lu} and friends can be told apart, and \p{L} is their union.
enum CategoryBit : uint16_t {
  kCatLu = 1u << 0,
  kCatLl = 1u << 1,
  kCatLt = 1u << 2,
  kCatLm = 1u << 3,
  kCatLo = 1u << 4,
  kCatM = 1u << 5,
  kCatN = 1u << 6,
  kCatP = 1u << 7,
  kCatS = 1u << 8,
  kCatZ = 1u << 9,
  kCatC = 1u << 10,
};
inline constexpr uint16_t kCatL = kCatLu | kCatLl | kCatLt | kCatLm | kCatLo;

// The category bit of a codepoint; unassigned, surrogates and values past
// U+10FFFF are "other" (C), as in llama.cpp's tables.
uint16_t category_bits(uint32_t cp);

// Unicode White_Space (what llama.cpp's generated table holds for `\s`).
bool is_white_space(uint32_t cp);

// Simple one-to-one case mappings (identity where there is none).
uint32_t to_lower(uint32_t cp);
uint32_t to_upper(uint32_t cp);

// Appends the UTF-8 encoding of a codepoint (U+FFFD for values past U+10FFFF).
void append_utf8(std::string& out, uint32_t cp);

}  // namespace ridge::tokenizer::unicode
