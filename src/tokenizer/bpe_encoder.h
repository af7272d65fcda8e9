#pragma once
// Byte-level BPE by merge rank (llama.cpp's "gpt2" / BPE tokenizer) for one
// pre-tokenized piece: map its bytes through the GPT-2 byte table, start from
// those characters and repeatedly merge the adjacent pair with the lowest merge
// rank (leftmost on ties).
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace ridge::tokenizer {

// Appends the ids of one raw piece (bytes as in the input text) to `out`.
void bpe_encode_piece(const Vocab& vocab, std::string_view raw_piece, std::vector<int32_t>& out);

}  // namespace ridge::tokenizer
