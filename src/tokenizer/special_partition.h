#pragma once
// Splits input text on the texts of special tokens before the main tokenizer
// runs, as llama.cpp's tokenizer_st_partition does: special tokens are taken
// one at a time, longest first, and every occurrence in the remaining text is
// cut out. CONTROL and UNKNOWN tokens are matched only when parsing special
// text; USER_DEFINED tokens always are.
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace ridge::tokenizer {

struct Fragment {
  int32_t token = -1;  // a special token's id, or -1 for raw text
  size_t offset = 0;   // raw text: the span of the input it covers
  size_t length = 0;
};

std::vector<Fragment> partition_special(const Vocab& vocab, std::string_view text, bool parse_special);

}  // namespace ridge::tokenizer
