#pragma once
// Keys of the prefix cache: a 64-bit hash of one full block of token ids
// chained with the hash of the block before it, so equal keys mean (up to a
// hash collision, which the cache rules out by comparing tokens) equal
// prefixes from position 0, not just equal blocks.
#include <cstdint>
#include <span>

namespace ridge::kv {

// The chain's starting value (the "previous block" of block 0).
inline constexpr uint64_t kPrefixRootHash = 0x6a09e667f3bcc908ull;

uint64_t chain_block_hash(uint64_t parent, std::span<const int32_t> tokens);

}  // namespace ridge::kv
