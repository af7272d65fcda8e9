#pragma once
// Weights repacked at load time into the interleaved layout the prefill GEMM
// wants: rows are taken 16 at a time ("panels"), and within a panel each block
// of 32 elements is stored as vectors whose 32-bit lane i holds 4 consecutive
// weight levels of row i. One vpdpbusd then multiplies 16 rows by 4 columns
// against a broadcast group of 4 activation bytes, and the per-block scales of
// the 16 rows sit together, so rescaling to float is one vector FMA per block
// for 16 rows (instead of a shuffle-and-reduce per row per token). Rows past
// the end of the matrix are zero-padded to fill the last panel.
//
// Formats (per panel, per block b, at levels + (panel * blocks + b) * bytes):
//  - Q4_0: 4 vectors of 64 bytes; lane i of vector g holds row i's quant bytes
//    qs[4g..4g+3] unchanged, so the low nibbles are elements 4g..4g+3 and the
//    high nibbles elements 16+4g..16+4g+3 (levels 0..15, offset 8).
//  - Q8_0: 8 vectors of 64 bytes; lane i of vector g holds row i's levels
//    q[4g..4g+3] + 128 (levels 0..255, offset 128).
//  scales + (panel * blocks + b) * 16 holds the 16 rows' f16 block scales.
// The packed copy takes exactly as many bytes as the original rows (plus the
// padding of the last panel).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "gguf/types.h"
#include "kernels/cpu_features.h"

namespace ridge::kernels {

struct WeightMatrix;
class ThreadPool;

inline constexpr int64_t kPanelRows = 16;

// Deleter of PackedWeights::storage.
struct UnmapPackedStorage {
  size_t bytes;
  void operator()(uint8_t* p) const;
};

struct PackedWeights {
  GgmlType type = GgmlType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t panels = 0;          // ceil(rows / 16)
  int64_t blocks = 0;          // blocks of 32 per row
  size_t block_bytes = 0;      // level bytes per (panel, block): 256 for Q4_0, 512 for Q8_0
  const uint8_t* levels = nullptr;
  const uint16_t* scales = nullptr;

  size_t bytes() const { return storage_bytes; }

  // Owns both arrays (one page-aligned anonymous mapping); callers only read
  // through the pointers above.
  std::unique_ptr<uint8_t, UnmapPackedStorage> storage;
  size_t storage_bytes = 0;
};

// Whether `type` has a packed layout at all (Q4_0, Q8_0).
bool can_pack(GgmlType type);

// Whether matmul on `path` uses the packed copy of weights of `type` when a
// WeightMatrix carries one (so packing pays only where this is true).
bool packed_matmul_supported(GgmlType type, KernelPath path);

// Builds the packed copy of `w` (its rows must be readable). With a pool, the
// panels are spread over its threads. Throws std::invalid_argument for a type
// without a packed layout or a width that is not whole blocks.
std::unique_ptr<PackedWeights> pack_weights(const WeightMatrix& w, ThreadPool* pool = nullptr);

}  // namespace ridge::kernels
