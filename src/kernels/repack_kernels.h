#pragma once
// The boundary between baseline code and the packed-weight GEMM kernels
// compiled for one instruction set (repack_matmul_avx512.cpp, repack_matmul_avx2.cpp). Like
// isa_kernels.h, only a plain struct of raw pointers and plain functions cross
// it, so no inline code compiled with AVX-512 flags can leak into other files
// (the helpers defined here, packed_chunk_offset and for_each_panel_chunk,
// have internal linkage, as has prefetch_pages_ahead in prefetch.h).
// Callers check packed_matmul_supported() (repack.h) first.
#include <cstdint>

#include "kernels/prefetch.h"

namespace ridge::kernels::isa {

// Layouts of repack.h.
enum class PackedFormat : int { Q4_0 = 0, Q8_0 = 1 };

// One matmul over packed weights: y[t * rows + r] for every token t and row r
// of the panels given to the call.
struct PackedMatmulTask {
  PackedFormat format = PackedFormat::Q4_0;
  const uint8_t* levels = nullptr;   // the packed copy: chunks of pairs of blocks (repack.h)
  int64_t rows = 0;
  int64_t panels = 0;                // ceil(rows / 16)
  int64_t blocks = 0;                // per row (cols / 32)
  int64_t chunk_blocks = 0;          // blocks per chunk (packed_chunk_offset)
  int64_t n_tokens = 0;
  const int8_t* xq = nullptr;        // [token][cols] activation levels
  const float* xd = nullptr;         // [token][block] activation scales
  const int32_t* x_offset = nullptr; // [token][block] -offset * sum(levels): the weight offset's share
  uint64_t x_id = 0;                 // names the activations' content (see packed_activation_scratch); 0: unnamed
  float* y = nullptr;
};

// Panels per group of the packed Q4_0 / Q8_0 layout (repack.h).
constexpr int64_t kGroupPanels = 8;

// Where chunk c of panel p (its blocks [c * chunk_blocks, c * chunk_blocks +
// chunk_blocks), the last chunk possibly shorter) starts in a packed Q4_0 /
// Q8_0 copy, in bytes: each group of kGroupPanels panels (the last one
// possibly smaller) stores chunk 0 of each of its panels, then chunk 1 of
// each, and so on; a chunk is its blocks in pairs of pair_bytes. chunk_blocks
// is even unless it covers the whole row. Internal linkage, so each kernel
// file keeps its own copy (see above).
static inline int64_t packed_chunk_offset(int64_t panels, int64_t blocks, int64_t chunk_blocks, int64_t pair_bytes,
                                          int64_t p, int64_t c) {
  const int64_t p0 = p - p % kGroupPanels;
  const int64_t group_panels = panels - p0 < kGroupPanels ? panels - p0 : kGroupPanels;
  const int64_t b0 = c * chunk_blocks;
  const int64_t chunk_pairs = ((blocks - b0 < chunk_blocks ? blocks - b0 : chunk_blocks) + 1) / 2;
  return (p0 * ((blocks + 1) / 2) + group_panels * (b0 / 2) + (p - p0) * chunk_pairs) * pair_bytes;
}

// Walks panels [panel_begin, panel_end) of a packed Q4_0 / Q8_0 copy in its
// layout's order (repack.h): group by group, chunk by chunk, panel by panel,
// calling fn(panel, chunk index, first block, blocks in the chunk, chunk
// address) for each (panel, chunk). Internal linkage, as packed_chunk_offset.
template <class Fn>
static inline void for_each_panel_chunk(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end,
                                        int64_t pair_bytes, Fn&& fn) {
  const int64_t nb = task.blocks, cb = task.chunk_blocks;
  for (int64_t g0 = panel_begin - panel_begin % kGroupPanels; g0 < panel_end; g0 += kGroupPanels) {
    const int64_t p_lo = g0 > panel_begin ? g0 : panel_begin;
    const int64_t p_hi = g0 + kGroupPanels < panel_end ? g0 + kGroupPanels : panel_end;
    for (int64_t c = 0, b0 = 0; b0 < nb; ++c, b0 += cb) {
      const int64_t n_blocks = nb - b0 < cb ? nb - b0 : cb;
      for (int64_t p = p_lo; p < p_hi; ++p)
        fn(p, c, b0, n_blocks, task.levels + packed_chunk_offset(task.panels, nb, cb, pair_bytes, p, c));
    }
  }
}

// Per calling thread, reused across calls: a buffer of at least `bytes` for a
// kernel's interleaved copy of a chunk of activations. `id` (non-zero) and
// `layout` name what the caller is about to copy there; returns whether the
// buffer already holds exactly that, i.e. this thread's previous call copied
// the same activations in the same layout and size, so a fan-out that hands
// one thread several runs of rows copies its activations once. Valid until
// the thread's next call. Lives in baseline code (repack.cpp) so no container
// code is compiled with AVX-512 flags.
bool packed_activation_scratch(size_t bytes, uint64_t id, int layout, uint8_t** buffer);

// A fan-out's packed activations on the calling thread, chunk of tokens by
// chunk (packed_activation_scratch underneath): up to kWholePackTokens
// tokens, one buffer holds every chunk, named by the activations' id, so the
// thread's next run of rows of the same fan-out finds them all made (packing
// them again for each run cost a pp512 several percent); past that, one
// chunk at a time, packed for each run. Plain data and out-of-line functions
// (repack.cpp), so nothing inline crosses instruction sets.
constexpr int64_t kWholePackTokens = 1024;
struct ActivationCopies {
  uint8_t* whole = nullptr;  // every chunk's copy, per_token bytes a token; null past kWholePackTokens
  bool ready = false;        // `whole` already holds them
  int layout = 0;
  int64_t per_token = 0;
};
ActivationCopies activation_copies(int64_t n_tokens, uint64_t id, int layout, int64_t per_token);
// Where the copy of tokens [tc, tc_end) goes (tc a multiple of the kernel's
// token chunk); returns whether it is already made.
bool activation_chunk(const ActivationCopies& copies, int64_t tc, int64_t tc_end, uint8_t** out);

// A fresh activation id for the tasks above: unique within the process.
uint64_t next_activation_id();

// Computes panels [panel_begin, panel_end) for every token (AVX-512 VNNI, or
// AVX2 + FMA + F16C).
void packed_matmul_panels_avx512(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end);
void packed_matmul_panels_avx2(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end);
// The same on Intel AMX (repack_matmul_amx.cpp), with the same bits as the
// AVX-512 one; only where amx_int8_usable() (cpu_features.h).
void packed_matmul_panels_amx(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end);

}  // namespace ridge::kernels::isa
