// The GEMM over packed weights (repack.h) for AVX-512 VNNI (flags from
// CMakeLists.txt by file name). A tile is one panel of 16 rows by up to
// kMaxTokens tokens: per block of 32 columns, the panel's 8 level vectors are
// loaded (and for Q4_0 split into nibbles) once and meet every token of the
// tile; each token's int32 sums for the 16 rows start at the weight offset's
// share (-offset * sum of the activation levels), take 8 vpdpbusd (4 columns
// each, against a broadcast 4-byte activation group), and are rescaled into
// the token's float accumulators by one FMA with the 16 rows' scales.
//
// Every token goes through the same instructions in the same order whatever
// the tile width, so a (row, token) result does not depend on which other
// tokens share the call or on the thread count.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/repack_kernels.h"

#if !(defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512VNNI__))
#error "repack_matmul_avx512.cpp needs -mavx512f -mavx512vl -mavx512bw -mavx512vnni (see CMakeLists.txt)"
#endif

namespace ridge::kernels::isa {
namespace {

constexpr int kPanel = 16;
// Tokens per tile: 2 * kMaxTokens accumulators (int and float) plus the level
// vectors stay within the 32 zmm registers.
constexpr int kMaxTokens = 8;
// Tokens are processed in chunks so a chunk's activations stay in L2 while
// each panel (read once per chunk from memory) meets all of them.
constexpr int64_t kTokenChunk = 64;

inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <bool kQ8, int T>
void tile(const PackedMatmulTask& task, int64_t panel, int64_t token) {
  constexpr int64_t kBlockBytes = kQ8 ? 512 : 256;
  const int64_t nb = task.blocks;
  const int64_t cols = nb * 32;
  const uint8_t* lv = task.levels + panel * nb * kBlockBytes;
  const uint16_t* sc = task.scales + panel * nb * kPanel;
  const int8_t* xq[T];
  const float* xd[T];
  const int32_t* xo[T];
  for (int t = 0; t < T; ++t) {
    xq[t] = task.xq + (token + t) * cols;
    xd[t] = task.xd + (token + t) * nb;
    xo[t] = task.x_offset + (token + t) * nb;
  }
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();

  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = lv + b * kBlockBytes;
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm512_set1_epi32(xo[t][b]);
    // Group g covers columns 4g..4g+3 of the block.
    auto group = [&](int g, __m512i w) {
      for (int t = 0; t < T; ++t)
        isum[t] = _mm512_dpbusd_epi32(isum[t], w, _mm512_set1_epi32(load_i32(xq[t] + b * 32 + 4 * g)));
    };
    if constexpr (kQ8) {
      for (int g = 0; g < 8; ++g) group(g, _mm512_load_si512(blk + 64 * g));
    } else {
      for (int g = 0; g < 4; ++g) {
        const __m512i packed = _mm512_load_si512(blk + 64 * g);
        group(g, _mm512_and_si512(packed, low_nibbles));
        group(g + 4, _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(sc + b * kPanel)));
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(dw, _mm512_set1_ps(xd[t][b])), acc[t]);
  }

  const int64_t row0 = panel * kPanel;
  const int64_t left = task.rows - row0;
  const __mmask16 keep = left >= kPanel ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(task.y + (token + t) * task.rows + row0, keep, acc[t]);
}

using TileFn = void (*)(const PackedMatmulTask&, int64_t panel, int64_t token);

template <bool kQ8, int T>
TileFn tile_for_tokens(int64_t nt) {
  if constexpr (T == 1) {
    return &tile<kQ8, 1>;
  } else {
    return nt == T ? &tile<kQ8, T> : tile_for_tokens<kQ8, T - 1>(nt);
  }
}

template <bool kQ8>
void run_panels(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  for (int64_t tc = 0; tc < task.n_tokens; tc += kTokenChunk) {
    const int64_t tc_end = tc + kTokenChunk < task.n_tokens ? tc + kTokenChunk : task.n_tokens;
    for (int64_t p = panel_begin; p < panel_end; ++p)
      for (int64_t t = tc; t < tc_end; t += kMaxTokens) {
        const int64_t nt = tc_end - t < kMaxTokens ? tc_end - t : kMaxTokens;
        tile_for_tokens<kQ8, kMaxTokens>(nt)(task, p, t);
      }
  }
}

}  // namespace

void packed_matmul_panels_avx512(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  if (task.format == PackedFormat::Q8_0) run_panels<true>(task, panel_begin, panel_end);
  else run_panels<false>(task, panel_begin, panel_end);
}

}  // namespace ridge::kernels::isa
