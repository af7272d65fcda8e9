#include "kv/kv_cache.h"

#include <algorithm>
#include <string>

#include "kernels/huge_pages.h"
#include "kv/block_hash.h"

namespace ridge::kv {

KvCache::KvCache(const KvCacheConfig& cfg) : cfg_(cfg) {
  if (cfg.n_layers <= 0 || cfg.n_kv_heads <= 0 || cfg.head_dim <= 0 || cfg.block_size <= 0 || cfg.n_blocks <= 0)
    throw std::invalid_argument("KV cache: layers, kv heads, head dim, block size and block count must be positive");
  shape_ = {cfg.block_size, cfg.n_kv_heads, cfg.head_dim, cfg.kv_type};
  kernels::validate_kv_block_shape(shape_);
  block_bytes_ = static_cast<size_t>(kernels::kv_block_elements(shape_)) * kernels::kv_element_bytes(shape_);
  const size_t total = static_cast<size_t>(cfg.n_layers) * cfg.n_blocks * block_bytes_;
  // Zeroed, and faulted in now rather than at each block's first write.
  k_ = kernels::allocate_huge_pages(total, /*populate=*/true);
  v_ = kernels::allocate_huge_pages(total, /*populate=*/true);
  meta_.resize(cfg.n_blocks);
  free_.reserve(cfg.n_blocks);
  for (int64_t b = cfg.n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

std::byte* KvCache::block_base(bool is_v, int layer, int64_t block) {
  return reinterpret_cast<std::byte*>((is_v ? v_ : k_).get()) +
         (static_cast<size_t>(layer) * cfg_.n_blocks + block) * block_bytes_;
}

const std::byte* KvCache::block_base(bool is_v, int layer, int64_t block) const {
  return reinterpret_cast<const std::byte*>((is_v ? v_ : k_).get()) +
         (static_cast<size_t>(layer) * cfg_.n_blocks + block) * block_bytes_;
}

KvCache::Table& KvCache::table(int32_t seq) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) throw std::out_of_range("KV cache: unknown sequence " + std::to_string(seq));
  return it->second;
}

const KvCache::Table& KvCache::table(int32_t seq) const {
  auto it = tables_.find(seq);
  if (it == tables_.end()) throw std::out_of_range("KV cache: unknown sequence " + std::to_string(seq));
  return it->second;
}

int64_t KvCache::block_of(int layer, int32_t seq, int64_t pos, int* slot) const {
  const auto& t = table(seq);
  if (layer < 0 || layer >= cfg_.n_layers)
    throw std::out_of_range("KV cache: layer " + std::to_string(layer) + " of " + std::to_string(cfg_.n_layers));
  if (pos < 0 || pos >= static_cast<int64_t>(t.blocks.size()) * cfg_.block_size)
    throw std::out_of_range("KV cache: position " + std::to_string(pos) + " of sequence " + std::to_string(seq) +
                            " is not reserved");
  *slot = static_cast<int>(pos % cfg_.block_size);
  return t.blocks[static_cast<size_t>(pos / cfg_.block_size)];
}

KvCache::Table& KvCache::new_or_existing_table(int32_t seq) {
  auto& t = tables_[seq];
  if (t.k_ptrs.empty()) {
    t.k_ptrs.resize(cfg_.n_layers);
    t.v_ptrs.resize(cfg_.n_layers);
  }
  return t;
}

void KvCache::append_block(Table& t, int64_t b) {
  ++meta_[b].refs;
  t.blocks.push_back(b);
  for (int l = 0; l < cfg_.n_layers; ++l) {
    t.k_ptrs[l].push_back(block_base(false, l, b));
    t.v_ptrs[l].push_back(block_base(true, l, b));
  }
}

void KvCache::uncache(int64_t b) {
  auto& m = meta_[b];
  if (!m.cached) return;
  cached_by_hash_.erase(m.hash);
  if (m.refs == 0) evictable_.erase(m.lru);
  m.cached = false;
  m.tokens.clear();
  m.tokens.shrink_to_fit();
}

int64_t KvCache::take_block() {
  if (!free_.empty()) {
    const int64_t b = free_.back();
    free_.pop_back();
    return b;
  }
  // The free list is empty: reclaim the cached-free block released longest ago.
  const int64_t b = evictable_.front();
  uncache(b);
  return b;
}

void KvCache::reserve(int32_t seq, int64_t n_positions) {
  auto& t = new_or_existing_table(seq);
  const int64_t need = (n_positions + cfg_.block_size - 1) / cfg_.block_size;
  const int64_t extra = need - static_cast<int64_t>(t.blocks.size());
  if (extra <= 0) return;
  if (extra > n_available_blocks()) {
    if (t.blocks.empty()) tables_.erase(seq);
    throw KvCacheFull("KV cache full: sequence " + std::to_string(seq) + " needs " + std::to_string(extra) +
                      " more blocks, " + std::to_string(n_available_blocks()) + " free");
  }
  for (int64_t i = 0; i < extra; ++i) append_block(t, take_block());
}

int64_t KvCache::capacity(int32_t seq) const {
  auto it = tables_.find(seq);
  return it == tables_.end() ? 0 : static_cast<int64_t>(it->second.blocks.size()) * cfg_.block_size;
}

const std::vector<int64_t>& KvCache::block_table(int32_t seq) const {
  static const std::vector<int64_t> kNone;
  auto it = tables_.find(seq);
  return it == tables_.end() ? kNone : it->second.blocks;
}

void KvCache::release(int32_t seq) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) return;
  // Last block first, so that among blocks released together the deeper ones of a
  // chain are evicted before the ones they hang off.
  const auto& blocks = it->second.blocks;
  for (auto r = blocks.rbegin(); r != blocks.rend(); ++r) {
    auto& m = meta_[*r];
    if (--m.refs > 0) continue;
    if (m.cached) {
      evictable_.push_back(*r);
      m.lru = std::prev(evictable_.end());
    } else {
      free_.push_back(*r);
    }
  }
  tables_.erase(it);
}

void KvCache::write(int layer, int32_t seq, int64_t pos, const float* k, const float* v) {
  int slot = 0;
  const int64_t b = block_of(layer, seq, pos, &slot);
  kernels::store_kv_slot(shape_, k, v, slot, block_base(false, layer, b), block_base(true, layer, b));
}

void KvCache::read(int layer, int32_t seq, int64_t pos, float* k, float* v) const {
  int slot = 0;
  const int64_t b = block_of(layer, seq, pos, &slot);
  kernels::load_kv_slot(shape_, block_base(false, layer, b), block_base(true, layer, b), slot, k, v);
}

kernels::PagedKv KvCache::view(int layer, int32_t seq) const {
  const auto& t = table(seq);
  if (layer < 0 || layer >= cfg_.n_layers)
    throw std::out_of_range("KV cache: layer " + std::to_string(layer) + " of " + std::to_string(cfg_.n_layers));
  return {t.k_ptrs[layer].data(), t.v_ptrs[layer].data(), shape_};
}

std::vector<int64_t> KvCache::find_chain(std::span<const int32_t> tokens, int64_t max_blocks) const {
  std::vector<int64_t> chain;
  const int64_t bs = cfg_.block_size;
  const int64_t n = std::min<int64_t>(max_blocks, static_cast<int64_t>(tokens.size()) / bs);
  uint64_t h = kPrefixRootHash;
  for (int64_t i = 0; i < n; ++i) {
    const auto block_tokens = tokens.subspan(i * bs, bs);
    const uint64_t parent = h;
    h = chain_block_hash(parent, block_tokens);
    auto it = cached_by_hash_.find(h);
    if (it == cached_by_hash_.end()) break;
    const auto& m = meta_[it->second];
    if (m.parent != parent || !std::equal(block_tokens.begin(), block_tokens.end(), m.tokens.begin(), m.tokens.end()))
      break;
    chain.push_back(it->second);
  }
  return chain;
}

int64_t KvCache::match_prefix(std::span<const int32_t> tokens, int64_t max_blocks) const {
  return static_cast<int64_t>(find_chain(tokens, max_blocks).size());
}

int64_t KvCache::attach_prefix(int32_t seq, std::span<const int32_t> tokens, int64_t max_blocks) {
  if (capacity(seq) != 0)
    throw std::logic_error("KV cache: attach_prefix on sequence " + std::to_string(seq) + ", which already holds blocks");
  const auto chain = find_chain(tokens, max_blocks);
  if (chain.empty()) return 0;
  auto& t = new_or_existing_table(seq);
  for (int64_t b : chain) {
    auto& m = meta_[b];
    if (m.refs == 0) evictable_.erase(m.lru);
    append_block(t, b);
  }
  return static_cast<int64_t>(chain.size()) * cfg_.block_size;
}

void KvCache::register_prefix(int32_t seq, std::span<const int32_t> tokens) {
  const auto& blocks = table(seq).blocks;
  const int64_t bs = cfg_.block_size;
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(tokens.size()) / bs, static_cast<int64_t>(blocks.size()));
  uint64_t h = kPrefixRootHash;
  for (int64_t i = 0; i < n; ++i) {
    const auto block_tokens = tokens.subspan(i * bs, bs);
    const uint64_t parent = h;
    h = chain_block_hash(parent, block_tokens);
    auto& m = meta_[blocks[i]];
    // Already remembered (attached from the cache, or registered before), or
    // another block holds the same prefix (two requests computed it at once):
    // lookups go by chained hash, so later blocks stay reachable either way.
    if (m.cached || cached_by_hash_.count(h)) continue;
    m.cached = true;
    m.hash = h;
    m.parent = parent;
    m.tokens.assign(block_tokens.begin(), block_tokens.end());
    cached_by_hash_.emplace(h, blocks[i]);
  }
}

void KvCache::clear_prefix_cache() {
  for (int64_t b = 0; b < cfg_.n_blocks; ++b) {
    auto& m = meta_[b];
    if (!m.cached) continue;
    const bool was_free = m.refs == 0;
    uncache(b);
    if (was_free) free_.push_back(b);
  }
}

}  // namespace ridge::kv
