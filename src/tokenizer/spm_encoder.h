#pragma once
// SentencePiece-style BPE over scores (llama.cpp's "llama" / SPM tokenizer):
// start from UTF-8 characters, repeatedly merge the adjacent pair whose
// concatenation is a token with the best score (leftmost on ties), then fall
// back to byte tokens for what never became a token.
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace ridge::tokenizer {

// Appends the ids of `text` to `out`. `text` is already escaped (spaces are
// "▁") and prefixed as the caller wants. Throws Error when a byte has neither
// a byte token nor an unknown token to fall back to.
void spm_encode(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

}  // namespace ridge::tokenizer
