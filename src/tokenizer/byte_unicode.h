#pragma once
// GPT-2's reversible byte <-> Unicode mapping used by byte-level BPE
// vocabularies: every byte is stored in token texts as one printable code
// point (printable Latin-1 bytes as themselves, the rest as U+0100 onwards).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ridge::tokenizer {

// The code point that stands for byte `b`.
uint32_t byte_to_codepoint(uint8_t b);

// The byte a code point stands for, or nullopt when it is not one of the 256.
std::optional<uint8_t> codepoint_to_byte(uint32_t cp);

// Maps every byte of `raw` to its code point, UTF-8 encoded: the form merges
// and token texts use.
std::string byte_level_encode(std::string_view raw);

// The inverse: token text back to raw bytes. Code points outside the mapping
// (text that was never byte-encoded) are kept as their own UTF-8, and
// malformed UTF-8 bytes are passed through unchanged.
std::string byte_level_decode(std::string_view encoded);

}  // namespace ridge::tokenizer
