#pragma once
// The boundary between baseline code and the packed-weight GEMM kernels
// compiled for one instruction set (repack_matmul_avx512.cpp, repack_matmul_avx2.cpp). Like
// isa_kernels.h, only a plain struct of raw pointers and plain functions cross
// it, so no inline code compiled with AVX-512 flags can leak into other files.
// Callers check packed_matmul_supported() (repack.h) first.
#include <cstdint>

namespace ridge::kernels::isa {

// Layouts of repack.h.
enum class PackedFormat : int { Q4_0 = 0, Q8_0 = 1 };

// One matmul over packed weights: y[t * rows + r] for every token t and row r
// of the panels given to the call.
struct PackedMatmulTask {
  PackedFormat format = PackedFormat::Q4_0;
  const uint8_t* levels = nullptr;   // [panel][pair of blocks]: levels, then scales (repack.h)
  int64_t rows = 0;
  int64_t blocks = 0;                // per row (cols / 32)
  int64_t n_tokens = 0;
  const int8_t* xq = nullptr;        // [token][cols] activation levels
  const float* xd = nullptr;         // [token][block] activation scales
  const int32_t* x_offset = nullptr; // [token][block] -offset * sum(levels): the weight offset's share
  uint64_t x_id = 0;                 // names the activations' content (see packed_activation_scratch); 0: unnamed
  float* y = nullptr;
};

// Per calling thread, reused across calls: a buffer of at least `bytes` for a
// kernel's interleaved copy of a chunk of activations. `id` (non-zero) and
// `layout` name what the caller is about to copy there; returns whether the
// buffer already holds exactly that, i.e. this thread's previous call copied
// the same activations in the same layout and size, so a fan-out that hands
// one thread several runs of rows copies its activations once. Valid until
// the thread's next call. Lives in baseline code (repack.cpp) so no container
// code is compiled with AVX-512 flags.
bool packed_activation_scratch(size_t bytes, uint64_t id, int layout, uint8_t** buffer);

// A fresh activation id for the tasks above: unique within the process.
uint64_t next_activation_id();

// Computes panels [panel_begin, panel_end) for every token (AVX-512 VNNI, or
// AVX2 + FMA + F16C).
void packed_matmul_panels_avx512(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end);
void packed_matmul_panels_avx2(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end);

}  // namespace ridge::kernels::isa
