#pragma once
// The boundary between baseline code and the GEMM over packed K-quant weights
// (Q4_K, Q6_K; layouts in repack_kquant.h) compiled for AVX-512 VNNI
// (repack_kquant_matmul_avx512.cpp). As in repack_kernels.h, only a plain
// struct of raw pointers and a plain function cross it, so no inline code
// compiled with AVX-512 flags can leak into other files. Callers check
// packed_matmul_supported() (repack.h) first.
#include <cstddef>
#include <cstdint>

#include "kernels/repack_kernels.h"

namespace ridge::kernels::isa {

enum class PackedKQuantFormat : int { Q4_K = 0, Q6_K = 1 };

// One matmul over packed K-quant weights: y[t * rows + r] for every token t
// and row r of the panels given to the call. Activations are quantized per
// super-block of 256 (activation_quant.h).
struct PackedKQuantMatmulTask {
  PackedKQuantFormat format = PackedKQuantFormat::Q4_K;
  const uint8_t* data = nullptr;  // [panel][super-block][block_bytes]
  int64_t rows = 0;
  int64_t super_blocks = 0;       // per row (cols / 256)
  int64_t n_tokens = 0;
  const int8_t* xq = nullptr;      // [token][cols] activation levels
  const float* xd = nullptr;       // [token][super-block] activation scales
  const int16_t* bsum16 = nullptr; // [token][super-block][16] sums of 16 levels (Q6_K)
  const int16_t* bsum32 = nullptr; // [token][super-block][8] sums of 32 levels (Q4_K)
  uint64_t x_id = 0;               // names the activations' content (repack_kernels.h); 0: unnamed
  float* y = nullptr;
};

// Computes panels [panel_begin, panel_end) for every token.
void packed_kquant_matmul_panels_avx512(const PackedKQuantMatmulTask& task, int64_t panel_begin, int64_t panel_end);
// AVX2 + FMA + F16C.
void packed_kquant_matmul_panels_avx2(const PackedKQuantMatmulTask& task, int64_t panel_begin, int64_t panel_end);
// Intel AMX for Q4_K (repack_matmul_amx.cpp), the same bits as the AVX-512
// kernel (which it hands Q6_K to); only where amx_int8_usable() (cpu_features.h).
void packed_kquant_matmul_panels_amx(const PackedKQuantMatmulTask& task, int64_t panel_begin, int64_t panel_end);


}  // namespace ridge::kernels::isa
