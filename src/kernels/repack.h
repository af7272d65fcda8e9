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
// Formats. Q4_0 and Q8_0 store the blocks of a panel in pairs, each pair's
// scales right after its levels, so a tile reads one sequential stream (a
// separate scale array is a second stream, which costs decode more than its
// bytes). A pair (blocks 2k and 2k + 1 of a panel) is
//  [levels of block 2k][levels of block 2k + 1][16 f16 scales of block 2k]
//  [16 f16 scales of block 2k + 1]; with an odd number of blocks the last
//  pair's second half is zeros.
// Long rows are cut into chunks of chunk_blocks blocks (about 18 KiB of a
// panel: 64 blocks of Q4_0, 32 of Q8_0), and the panels are taken in groups
// of 8 (kGroupPanels): a group stores chunk 0 of each of its panels, then
// chunk 1 of each, and so on (packed_chunk_offset in repack_kernels.h gives
// the addresses). A decode step walks the copy in exactly that order, so it
// still reads one sequential stream, while the activations of a chunk stay in
// L1 for all 8 panels of a group: walking a whole long row per panel (down's
// 5632 columns are 50 KiB of Q4_0 per panel) pushed them out of L1 before the
// next panel came back to them, which cost Q4_0 down 15-20% of its speed.
// A row of at most one chunk keeps the plain order: panel after panel.
// The levels of one block (block_bytes):
//  - Q4_0: 4 vectors of 64 bytes; lane i of vector g holds row i's quant bytes
//    qs[4g..4g+3] unchanged, so the low nibbles are elements 4g..4g+3 and the
//    high nibbles elements 16+4g..16+4g+3 (levels 0..15, offset 8).
//  - Q8_0: 8 vectors of 64 bytes; lane i of vector g holds row i's levels
//    q[4g..4g+3] + 128 (levels 0..255, offset 128).
// pair_bytes = 2 * block_bytes + 64 (576 or 1088: whole cache lines). The
// packed copy takes as many bytes as the original rows, plus the padding of
// the last panel (and of an odd last pair).
//  - Q4_K, Q6_K: one record per (panel, super-block of 256) at levels +
//    (panel * blocks + s) * block_bytes holding levels, pre-decoded sub-block
//    scales and the super-block scales together (layouts in repack_kquant.h);
//    `blocks` counts super-blocks.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "gguf/types.h"
#include "kernels/cpu_features.h"

namespace ridge::kernels {

struct WeightMatrix;
class ThreadPool;

inline constexpr int64_t kPanelRows = 16;

// Q4_0 / Q8_0: bytes of one pair of blocks (levels of both, then their scales).
inline constexpr size_t packed_pair_bytes(size_t block_bytes) { return 2 * block_bytes + 2 * kPanelRows * 2; }

struct PackedWeights {
  GgmlType type = GgmlType::F32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t panels = 0;          // ceil(rows / 16)
  int64_t blocks = 0;          // blocks of 32 per row (K types: super-blocks of 256)
  size_t block_bytes = 0;      // level bytes per (panel, block): 256 for Q4_0, 512 for Q8_0 (K types: the record)
  int64_t chunk_blocks = 0;    // Q4_0 / Q8_0: blocks per chunk (see Formats); K types: 0
  const uint8_t* levels = nullptr;  // the whole packed copy (see Formats)

  // Bytes of this matrix's packed copy.
  size_t bytes() const { return storage_bytes; }

  // Keeps the arrays alive: one page-aligned anonymous mapping, shared by all
  // the matrices packed in one call (see pack_weights_all); callers only read
  // through the pointers above.
  std::shared_ptr<const uint8_t> storage;
  size_t storage_bytes = 0;
};

// Copies the `n` source bytes that `at` (a pointer into a matrix's rows)
// stands for into `dst`, without having to read `at` itself: e.g. pread()
// from the file a read-only mapping shows. Called from several threads at
// once; may throw.
using SourceReader = std::function<void(const uint8_t* at, size_t n, uint8_t* dst)>;

// Whether `type` has a packed layout at all (Q4_0, Q8_0, Q4_K, Q6_K).
bool can_pack(GgmlType type);

// Whether matmul on `path` uses the packed copy of weights of `type` when a
// WeightMatrix carries one (so packing pays only where this is true).
bool packed_matmul_supported(GgmlType type, KernelPath path);

// Builds the packed copy of `w` (its rows must be readable). With a pool, the
// panels are spread over its threads. Throws std::invalid_argument for a type
// without a packed layout or a width that is not whole blocks.
std::unique_ptr<PackedWeights> pack_weights(const WeightMatrix& w, ThreadPool* pool = nullptr);

// Packs every matrix of `ws` (all checked first, as above) into one shared
// allocation, in one fan-out over `pool` (its work items are runs of panels
// of any matrix): a model's load pays one mapping and one hand-off instead of
// one per matrix. Returns one PackedWeights per matrix, in order, each byte-
// identical to what pack_weights(*ws[i]) builds. With `read`, source rows come
// through it, a few hundred KiB at a time into a per-thread buffer, and `ws`'
// rows are never read directly; without it they are read in place.
std::vector<std::unique_ptr<PackedWeights>> pack_weights_all(const std::vector<const WeightMatrix*>& ws,
                                                             ThreadPool* pool = nullptr,
                                                             const SourceReader* read = nullptr);

}  // namespace ridge::kernels
