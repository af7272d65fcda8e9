// The GEMM over packed weights (repack.h) for AVX-512 VNNI (flags from
// CMakeLists.txt by file name). A tile is one chunk of a panel of 16 rows
// (repack.h) by up to kMaxTokens tokens: per block of 32 columns, the panel's
// 8 level vectors are loaded (and for Q4_0 split into nibbles) once and meet
// every token of the tile; each token's int32 sums for the 16 rows start at
// the weight offset's share (-offset * sum of the activation levels), take 8
// vpdpbusd (4 columns each, against a broadcast 4-byte activation group), and
// are rescaled into the token's float accumulators by one FMA with the 16
// rows' scales. Blocks go a pair at a time (see tile), and each page of the
// stream is touched a few pages early (prefetch_pages_ahead, prefetch.h);
// decode also asks for each line a few KiB early (prefetch_lines; Q8_0
// with the CPU's light-stream hint, none on Zen 5).
//
// The activations a tile reads are first copied into one interleaved run per
// block (see pack_tile), so the tile addresses all its tokens through a single
// pointer: with a pointer per token, 8 tokens' three arrays need more general
// registers than there are, and the spills cost as much as the arithmetic.
//
// A (row, token) result does not depend on which other tokens share the call
// or on the thread count: the integer sums are exact however they are formed
// (decode forms Q4_0's differently, see block_sums), and every token goes
// through the same float operations in the same order whatever the tile width.
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

#include "kernels/repack_matmul_body.h"

#include "kernels/repack_avx512_helpers.h"

// Tokens per tile: 2 * kMaxTokens accumulators (int and float) plus the level
// vectors stay within the 32 zmm registers.
constexpr int kMaxTokens = 8;

template <bool kQ8, int T>
void tile(const PackedMatmulTask& task, int64_t panel, const uint8_t* first_pair, int64_t nb, const uint8_t* xp,
          float* y, int64_t y_stride, bool accumulate) {
  constexpr int64_t kBlockBytes = kQ8 ? 512 : 256;
  constexpr int64_t kStride = tile_stride(T);
  constexpr int64_t kPairBytes = 2 * kBlockBytes + 2 * kPanel * 2;  // packed_pair_bytes (repack.h)
  // With few tokens, one chain of 8 dependent vpdpbusd per block would bound
  // the loop by their latency: split the groups over kChains independent
  // sums (integer addition is exact, so the result is the same bits).
  constexpr int kChains = T == 1 ? 4 : (T == 2 ? 2 : 1);
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
  const int64_t row0 = panel * kPanel;
  const int64_t left = task.rows - row0;
  const __mmask16 keep = left >= kPanel ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
  __m512 acc[T];
  for (int t = 0; t < T; ++t)
    acc[t] = accumulate ? _mm512_maskz_loadu_ps(keep, y + t * y_stride + row0) : _mm512_setzero_ps();

  // One block's int32 sums (16 rows, T tokens; xb: its packed activations).
  auto block_sums = [&](const uint8_t* blk, const uint8_t* xb, __m512i (&sums)[T]) {
    if constexpr (!kQ8 && T <= 2) {
      // Decode: the high nibbles are used in place, as 16 x level (at most
      // 240, still an unsigned byte), in sums of their own; a right shift by 4
      // then divides those exactly (every term is a multiple of 16). One AND
      // per nibble vector instead of AND, shift, AND; the low and high sums
      // are the two independent chains. Same integers, so the same bits
      // (tg128 +1.9% against the shift, alternating binaries, 8 pairs).
      const __m512i high_nibbles = _mm512_set1_epi8(static_cast<char>(0xf0));
      __m512i lo[T], hi[T];
      for (int t = 0; t < T; ++t) {
        lo[t] = bcast_i32(xb + 36 * T + 4 * t);
        hi[t] = _mm512_setzero_si512();
      }
      for (int g = 0; g < 4; ++g) {  // columns 4g..4g+3 (low nibbles) and 16+4g.. (high)
        const __m512i packed = load_line(blk + 64 * g);
        const __m512i l = _mm512_and_si512(packed, low_nibbles), h = _mm512_and_si512(packed, high_nibbles);
        for (int t = 0; t < T; ++t) {
          lo[t] = _mm512_dpbusd_epi32(lo[t], l, bcast_i32(xb + (g * T + t) * 4));
          hi[t] = _mm512_dpbusd_epi32(hi[t], h, bcast_i32(xb + ((g + 4) * T + t) * 4));
        }
      }
      for (int t = 0; t < T; ++t) sums[t] = _mm512_add_epi32(lo[t], _mm512_srai_epi32(hi[t], 4));
      return;
    }
    __m512i isum[kChains][T];
    for (int t = 0; t < T; ++t) {
      isum[0][t] = bcast_i32(xb + 36 * T + 4 * t);
      for (int c = 1; c < kChains; ++c) isum[c][t] = _mm512_setzero_si512();
    }
    // Group g covers columns 4g..4g+3 of the block.
    auto group = [&](int g, __m512i w) {
      for (int t = 0; t < T; ++t)
        isum[g % kChains][t] = _mm512_dpbusd_epi32(isum[g % kChains][t], w, bcast_i32(xb + (g * T + t) * 4));
    };
    if constexpr (kQ8) {
      for (int g = 0; g < 8; ++g) group(g, load_line(blk + 64 * g));
    } else {
      for (int g = 0; g < 4; ++g) {
        const __m512i packed = load_line(blk + 64 * g);
        group(g, _mm512_and_si512(packed, low_nibbles));
        group(g + 4, _mm512_and_si512(_mm512_srli_epi16(packed, 4), low_nibbles));
      }
    }
    for (int t = 0; t < T; ++t) {
      for (int c = 1; c < kChains; ++c) isum[0][t] = _mm512_add_epi32(isum[0][t], isum[c][t]);
      sums[t] = isum[0][t];
    }
  };
  // Into the float accumulators: one FMA per token with the 16 rows' scales.
  auto rescale = [&](const __m512i (&sums)[T], __m256i scales, const uint8_t* xb) {
    const __m512 dw = _mm512_cvtph_ps(scales);
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums[t]), _mm512_mul_ps(dw, bcast_f32(xb + 32 * T + 4 * t)), acc[t]);
  };

  // A pair at a time: both blocks' sums, then the pair's scales (the line
  // after its levels), so the chunk is read strictly in address order.
  const uint8_t* pair = first_pair;
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2, pair += kPairBytes, xp += 2 * kStride) {
    prefetch_pages_ahead(pair, kPairBytes);
    if constexpr (T == 1) prefetch_lines(pair, kPairBytes, kQ8 ? g_lines_hint_light : g_lines_hint);  // decode (prefetch.h)
    __m512i s0[T], s1[T];
    block_sums(pair, xp, s0);
    block_sums(pair + kBlockBytes, xp + kStride, s1);
    const __m512i scales = load_line(pair + 2 * kBlockBytes);
    rescale(s0, _mm512_castsi512_si256(scales), xp);
    rescale(s1, _mm512_extracti64x4_epi64(scales, 1), xp + kStride);
  }
  if (b < nb) {  // an odd last block: the first half of a pair
    __m512i s0[T];
    block_sums(pair, xp, s0);
    rescale(s0, _mm256_load_si256(reinterpret_cast<const __m256i*>(pair + 2 * kBlockBytes)), xp);
  }

  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * y_stride + row0, keep, acc[t]);
}

struct Tiles {
  static constexpr int kMaxTokens = isa::kMaxTokens;
  static constexpr int kLayout = 0;  // this file's activation copies (see run_panels)
  template <bool kQ8, int T>
  static void tile(const PackedMatmulTask& task, int64_t panel, const uint8_t* chunk, int64_t n_blocks,
                   const uint8_t* xp, float* y, int64_t y_stride, bool accumulate) {
    isa::tile<kQ8, T>(task, panel, chunk, n_blocks, xp, y, y_stride, accumulate);
  }
};

}  // namespace

void packed_matmul_panels_avx512(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  if (task.format == PackedFormat::Q8_0) run_panels<Tiles, true>(task, panel_begin, panel_end);
  else run_panels<Tiles, false>(task, panel_begin, panel_end);
}

}  // namespace ridge::kernels::isa
