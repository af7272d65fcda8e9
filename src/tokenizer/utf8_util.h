#pragma once
// Small UTF-8 helpers the tokenizers share: how many bytes a sequence's lead
// byte announces (with llama.cpp's lenient rule for stray bytes), encoding a
// code point, and finding an incomplete sequence at the end of a buffer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ridge::tokenizer {

// Bytes in the sequence that `lead` starts. Continuation bytes and invalid
// lead bytes count as 1 (0xF8..0xFF as 4), as llama.cpp splits text into
// symbols; callers clamp to the bytes actually left.
inline size_t utf8_sequence_length(unsigned char lead) {
  static constexpr uint8_t kByHighNibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kByHighNibble[lead >> 4];
}

// Appends the UTF-8 encoding of `cp` (which must be <= 0x10FFFF) to `out`.
inline void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Number of bytes at the end of `s` that begin a valid multi-byte sequence
// but lack its continuation bytes (0 when `s` ends on a boundary, or when the
// tail is malformed and waiting would not help).
inline size_t utf8_incomplete_tail(std::string_view s) {
  const size_t n = s.size();
  // A lead byte can be at most 3 bytes back from the end of an incomplete sequence.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = 0;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    else return 0;  // ASCII or an invalid lead: nothing to wait for
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace ridge::tokenizer
