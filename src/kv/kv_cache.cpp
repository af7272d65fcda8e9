#include "kv/kv_cache.h"

#include <string>

namespace ridge::kv {

KvCache::KvCache(const KvCacheConfig& cfg) : cfg_(cfg) {
  if (cfg.n_layers <= 0 || cfg.n_kv_heads <= 0 || cfg.head_dim <= 0 || cfg.block_size <= 0 || cfg.n_blocks <= 0)
    throw std::invalid_argument("KV cache: layers, kv heads, head dim, block size and block count must be positive");
  row_floats_ = static_cast<int64_t>(cfg.n_kv_heads) * cfg.head_dim;
  block_floats_ = row_floats_ * cfg.block_size;
  const size_t total = static_cast<size_t>(cfg.n_layers) * cfg.n_blocks * block_floats_;
  k_.assign(total, 0.f);
  v_.assign(total, 0.f);
  free_.reserve(cfg.n_blocks);
  for (int64_t b = cfg.n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

float* KvCache::block_base(bool is_v, int layer, int64_t block) {
  auto& store = is_v ? v_ : k_;
  return store.data() + (static_cast<size_t>(layer) * cfg_.n_blocks + block) * block_floats_;
}

KvCache::Table& KvCache::table(int32_t seq) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) throw std::out_of_range("KV cache: unknown sequence " + std::to_string(seq));
  return it->second;
}

void KvCache::reserve(int32_t seq, int64_t n_positions) {
  auto& t = tables_[seq];
  if (t.k_ptrs.empty()) {
    t.k_ptrs.resize(cfg_.n_layers);
    t.v_ptrs.resize(cfg_.n_layers);
  }
  const int64_t need = (n_positions + cfg_.block_size - 1) / cfg_.block_size;
  const int64_t extra = need - static_cast<int64_t>(t.blocks.size());
  if (extra <= 0) return;
  if (extra > n_free_blocks()) {
    if (t.blocks.empty()) tables_.erase(seq);
    throw KvCacheFull("KV cache full: sequence " + std::to_string(seq) + " needs " + std::to_string(extra) +
                      " more blocks, " + std::to_string(n_free_blocks()) + " free");
  }
  for (int64_t i = 0; i < extra; ++i) {
    const int64_t b = free_.back();
    free_.pop_back();
    t.blocks.push_back(b);
    for (int l = 0; l < cfg_.n_layers; ++l) {
      t.k_ptrs[l].push_back(block_base(false, l, b));
      t.v_ptrs[l].push_back(block_base(true, l, b));
    }
  }
}

int64_t KvCache::capacity(int32_t seq) const {
  auto it = tables_.find(seq);
  return it == tables_.end() ? 0 : static_cast<int64_t>(it->second.blocks.size()) * cfg_.block_size;
}

void KvCache::release(int32_t seq) {
  auto it = tables_.find(seq);
  if (it == tables_.end()) return;
  for (auto b : it->second.blocks) free_.push_back(b);
  tables_.erase(it);
}

float* KvCache::k_row(int layer, int32_t seq, int64_t pos) {
  auto& t = table(seq);
  return block_base(false, layer, t.blocks.at(pos / cfg_.block_size)) + (pos % cfg_.block_size) * row_floats_;
}

float* KvCache::v_row(int layer, int32_t seq, int64_t pos) {
  auto& t = table(seq);
  return block_base(true, layer, t.blocks.at(pos / cfg_.block_size)) + (pos % cfg_.block_size) * row_floats_;
}

kernels::PagedRows KvCache::k_view(int layer, int32_t seq) {
  auto& t = table(seq);
  return {t.k_ptrs[layer].data(), cfg_.block_size, row_floats_};
}

kernels::PagedRows KvCache::v_view(int layer, int32_t seq) {
  auto& t = table(seq);
  return {t.v_ptrs[layer].data(), cfg_.block_size, row_floats_};
}

}  // namespace ridge::kv
