#pragma once
// UTF-8 encoding shared by the layers that build text (tokenizer, chat).
// Header-only: it belongs to no layer and depends on nothing.
#include <cstdint>
#include <string>

namespace ridge::utf8 {

inline constexpr uint32_t kReplacementCharacter = 0xFFFD;

// Appends the UTF-8 bytes of code point `cp`; values past U+10FFFF become U+FFFD.
inline void append(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF) cp = kReplacementCharacter;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace ridge::utf8
