// GPT-2 byte-level mapping (see byte_unicode.h). The table is computed, not
// stored: bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF are printable and map to
// themselves; the other 68 bytes take U+0100.. in increasing byte order.
#include "tokenizer/byte_unicode.h"

#include <array>

#include "tokenizer/utf8_util.h"

namespace ridge::tokenizer {
namespace {

bool is_printable_byte(uint8_t b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
}

struct ByteTable {
  std::array<uint32_t, 256> to_cp{};
  std::array<std::string, 256> to_utf8{};
  ByteTable() {
    uint32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = is_printable_byte(static_cast<uint8_t>(b)) ? static_cast<uint32_t>(b) : next++;
      append_utf8(to_utf8[b], to_cp[b]);
    }
  }
};

const ByteTable& table() {
  static const ByteTable t;  // immutable after construction
  return t;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t b) { return table().to_cp[b]; }

std::optional<uint8_t> codepoint_to_byte(uint32_t cp) {
  if (cp < 0x100) {
    if (is_printable_byte(static_cast<uint8_t>(cp))) return static_cast<uint8_t>(cp);
    return std::nullopt;
  }
  if (cp >= 0x100 + 68) return std::nullopt;
  // The n-th non-printable byte (in byte order) maps to U+0100 + n.
  uint32_t n = cp - 0x100;
  for (int b = 0; b < 256; ++b) {
    if (is_printable_byte(static_cast<uint8_t>(b))) continue;
    if (n == 0) return static_cast<uint8_t>(b);
    --n;
  }
  return std::nullopt;
}

std::string byte_level_encode(std::string_view raw) {
  const ByteTable& t = table();
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) out += t.to_utf8[static_cast<uint8_t>(c)];
  return out;
}

std::string byte_level_decode(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  size_t i = 0;
  while (i < encoded.size()) {
    const auto lead = static_cast<unsigned char>(encoded[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (lead < 0x80) len = 1, cp = lead;
    else if ((lead & 0xE0) == 0xC0) len = 2, cp = lead & 0x1F;
    else if ((lead & 0xF0) == 0xE0) len = 3, cp = lead & 0x0F;
    else if ((lead & 0xF8) == 0xF0) len = 4, cp = lead & 0x07;
    bool ok = len > 0 && i + len <= encoded.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(encoded[i + k]);
      if ((c & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (!ok) {  // malformed: pass the byte through
      out += encoded[i];
      ++i;
      continue;
    }
    if (auto b = codepoint_to_byte(cp)) out += static_cast<char>(*b);
    else out.append(encoded.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace ridge::tokenizer
