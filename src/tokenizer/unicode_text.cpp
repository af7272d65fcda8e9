#include "tokenizer/unicode_text.h"

#include "common/utf8.h"

#include <utf8proc.h>

namespace ridge::tokenizer::unicode {

namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Length of the sequence a lead byte announces, 0 when it cannot start one.
// Mirrors llama.cpp: only the high bits are looked at, so F5..F7 still start a
// four-byte form (giving values past U+10FFFF) and C0/C1 start overlong forms.
size_t announced_length(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b & 0x40) == 0) return 0;  // a stray continuation byte
  if ((b & 0x20) == 0) return 2;
  if ((b & 0x10) == 0) return 3;
  if ((b & 0x08) == 0) return 4;
  return 0;  // F8..FF
}

}  // namespace

DecodedText decode_utf8_lenient(std::string_view text) {
  DecodedText out;
  out.codepoints.reserve(text.size());
  out.offsets.reserve(text.size() + 1);
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t len = announced_length(lead);
    bool ok = len != 0 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) ok = is_continuation(static_cast<unsigned char>(text[i + k]));
    out.offsets.push_back(i);
    if (!ok) {
      out.codepoints.push_back(kReplacementCharacter);
      i += 1;
      continue;
    }
    uint32_t cp = 0;
    switch (len) {
      case 1: cp = lead; break;
      case 2: cp = lead & 0x1Fu; break;
      case 3: cp = lead & 0x0Fu; break;
      default: cp = lead & 0x07u; break;
    }
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
    out.codepoints.push_back(cp);
    i += len;
  }
  out.offsets.push_back(text.size());
  return out;
}

uint16_t category_bits(uint32_t cp) {
  if (cp > 0x10FFFF) return kCatC;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: return kCatLu;
    case UTF8PROC_CATEGORY_LL: return kCatLl;
    case UTF8PROC_CATEGORY_LT: return kCatLt;
    case UTF8PROC_CATEGORY_LM: return kCatLm;
    case UTF8PROC_CATEGORY_LO: return kCatLo;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME: return kCatM;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: return kCatN;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: return kCatP;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO: return kCatS;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: return kCatZ;
    default: return kCatC;  // Cc, Cf, Cs, Co, Cn
  }
}

bool is_white_space(uint32_t cp) {
  // The Unicode White_Space property; a fixed list since Unicode 6.3.
  if (cp >= 0x09 && cp <= 0x0D) return true;
  if (cp >= 0x2000 && cp <= 0x200A) return true;
  switch (cp) {
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return false;
  }
}

uint32_t to_lower(uint32_t cp) {
  if (cp > 0x10FFFF) return cp;
  return static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

uint32_t to_upper(uint32_t cp) {
  if (cp > 0x10FFFF) return cp;
  return static_cast<uint32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(cp)));
}

void append_utf8(std::string& out, uint32_t cp) { utf8::append(out, cp); }

}  // namespace ridge::tokenizer::unicode
