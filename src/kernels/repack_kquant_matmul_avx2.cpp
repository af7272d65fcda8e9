// The GEMM over packed Q4_K and Q6_K weights (layouts in repack_kquant.h) for
// AVX2 (flags from CMakeLists.txt by file name), for CPUs without AVX-512. A
// tile is one panel of 16 rows by up to kMaxTokens tokens, taken as two halves
// of 8 rows (one 32-bit lane per row in a ymm register): for one token both
// halves in one pass over the panel, with more one after the other (the second
// pass finds the panel in the cache). Level vectors meet broadcast 4-byte
// activation groups in vpmaddubsw (u8 x s8, adjacent pairs summed into int16);
// as many products as int16 holds are summed there (Q4_K: a sub-block's 8, at
// most 8 x 2 x 15 x 127 = 30480; Q6_K: 2 of its 4) and widened with vpmaddwd,
// then multiplied by the rows' sub-block scales into one int32 sum per
// super-block. Q4_K's mins meet the activation sums per 32 in vpmaddwd; Q6_K's
// offset of 32 starts each sub-block sum at -32 * (sum of its activation
// levels). Then, per super-block and token, acc += float(S) * (d * dx)
// [- float(M) * (dmin * dx) for Q4_K]: the same integers and float operations
// as the AVX-512 tiles, so the same bits. Every token goes through the same
// instructions in the same order whatever the tile width.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/repack_kquant_kernels.h"

#if !(defined(__AVX2__) && defined(__FMA__) && defined(__F16C__))
#error "repack_kquant_matmul_avx2.cpp needs -mavx2 -mfma -mf16c (see CMakeLists.txt)"
#endif

namespace ridge::kernels::isa {
namespace {

#include "kernels/repack_kquant_matmul_body.h"

#include "kernels/repack_avx2_helpers.h"

inline __m128i load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

template <int T>
void tile_q4k(const PackedKQuantMatmulTask& task, int64_t panel, const uint8_t* xp0, float* y, int64_t y_stride) {
  constexpr auto F = PackedKQuantFormat::Q4_K;
  constexpr int H = T == 1 ? 2 : 1;  // halves of the panel per pass
  constexpr int64_t kBytes = Format<F>::kBlockBytes, kStride = tile_stride<F>(T);
  const int64_t nsb = task.super_blocks;
  const uint8_t* rec = task.data + panel * nsb * kBytes;
  const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  for_halves<H, T>(task, panel, y, y_stride, [&](int half0, __m256 (&acc)[H][T]) {
    const uint8_t* xp = xp0;
    for (int64_t s = 0; s < nsb; ++s, xp += kStride) {
      const uint8_t* blk = rec + s * kBytes;
      prefetch_pages_ahead(blk, kBytes);
      __m256i S[H][T];
      for (int h = 0; h < H; ++h)
        for (int t = 0; t < T; ++t) S[h][t] = _mm256_setzero_si256();
      // Pair p: sub-block 2p in the low nibbles (groups 16p..), 2p + 1 in the high ones (16p + 8..).
      for (int j = 0; j < 8; ++j) {
        if constexpr (T == 1)  // decode, an eighth of the record at a time (prefetch.h)
          prefetch_lines_part(blk, kBytes, j, 8);
        const int p = j / 2, g0 = 16 * p + 8 * (j % 2);
        const bool high = j % 2 != 0;
        __m256i sum16[H][T];
        for (int h = 0; h < H; ++h)
          for (int t = 0; t < T; ++t) sum16[h][t] = _mm256_setzero_si256();
        for (int v = 0; v < 8; ++v)
          for (int h = 0; h < H; ++h) {
            const __m256i packed =
                _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 320 + 512 * p + 64 * v + 32 * (half0 + h)));
            const __m256i u = _mm256_and_si256(high ? _mm256_srli_epi16(packed, 4) : packed, low_nibbles);
            for (int t = 0; t < T; ++t)
              sum16[h][t] =
                  _mm256_add_epi16(sum16[h][t], _mm256_maddubs_epi16(u, bcast_i32(xp + ((g0 + v) * T + t) * 4)));
          }
        for (int h = 0; h < H; ++h) {
          const __m256i sc = _mm256_cvtepu8_epi32(
              _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 64 + 16 * j + 8 * (half0 + h))));
          for (int t = 0; t < T; ++t)
            S[h][t] = _mm256_add_epi32(S[h][t], _mm256_mullo_epi32(_mm256_madd_epi16(sum16[h][t], ones), sc));
        }
      }
      for (int h = 0; h < H; ++h) {
        const int half = half0 + h;
        const __m256 d = _mm256_cvtph_ps(load128(blk + 16 * half));
        const __m256 dmin = _mm256_cvtph_ps(load128(blk + 32 + 16 * half));
        for (int t = 0; t < T; ++t) {
          __m256i M = _mm256_setzero_si256();
          for (int k = 0; k < 4; ++k) {
            const __m256i mins = _mm256_cvtepu8_epi16(load128(blk + 192 + 32 * k + 16 * half));
            M = _mm256_add_epi32(M, _mm256_madd_epi16(mins, bcast_i32(xp + 260 * T + (k * T + t) * 4)));
          }
          const __m256 dx = bcast_f32(xp + 256 * T + 4 * t);
          acc[h][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(S[h][t]), _mm256_mul_ps(d, dx), acc[h][t]);
          acc[h][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(M), _mm256_mul_ps(dmin, dx), acc[h][t]);
        }
      }
    }
  });
}

// Q6_K: per pair p (columns 64p..64p+63) sub-blocks j = 4p + 2 * kHalf + kQ of
// 16 columns: nibble vectors 4kQ..4kQ+3 (kHalf: their high nibbles) joined
// with field f = 2kQ + kHalf of the pair's top-bit vectors into levels 0..63.
// Two products per row sum to at most 2 x 2 x 63 x 127 = 32004 in int16, so a
// sub-block's four are widened in two pairs; its int32 sum starts at
// -32 * (sum of its 16 activation levels).
template <int T>
void tile_q6k(const PackedKQuantMatmulTask& task, int64_t panel, const uint8_t* xp0, float* y, int64_t y_stride) {
  constexpr auto F = PackedKQuantFormat::Q6_K;
  constexpr int H = T == 1 ? 2 : 1;
  constexpr int64_t kBytes = Format<F>::kBlockBytes, kStride = tile_stride<F>(T);
  const int64_t nsb = task.super_blocks;
  const uint8_t* rec = task.data + panel * nsb * kBytes;
  const __m256i low_nibbles = _mm256_set1_epi8(0x0f), top_bits = _mm256_set1_epi8(0x30);
  const __m256i ones = _mm256_set1_epi16(1);
  for_halves<H, T>(task, panel, y, y_stride, [&](int half0, __m256 (&acc)[H][T]) {
    const uint8_t* xp = xp0;
    for (int64_t s = 0; s < nsb; ++s, xp += kStride) {
      const uint8_t* blk = rec + s * kBytes;
      prefetch_pages_ahead(blk, kBytes);
      __m256i S[H][T];
      for (int h = 0; h < H; ++h)
        for (int t = 0; t < T; ++t) S[h][t] = _mm256_setzero_si256();
      for (int p = 0; p < 4; ++p) {
        if constexpr (T == 1) prefetch_lines_part(blk, kBytes, p, 4);  // decode, a quarter at a time (prefetch.h)
        const uint8_t* pair = blk + 320 + 768 * p;
        for (int k = 0; k < 4; ++k) {
          const int half_nib = k / 2, q = k % 2, f = 2 * q + half_nib, j = 4 * p + k;
          const int g0 = 16 * p + 8 * half_nib;
          for (int h = 0; h < H; ++h) {
            __m256i sum16[2][T];
            for (int t = 0; t < T; ++t) sum16[0][t] = sum16[1][t] = _mm256_setzero_si256();
            for (int w = 0; w < 4; ++w) {
              const int v = 4 * q + w;
              const __m256i packed = _mm256_load_si256(reinterpret_cast<const __m256i*>(pair + 64 * v + 32 * (half0 + h)));
              const __m256i nib = _mm256_and_si256(half_nib ? _mm256_srli_epi16(packed, 4) : packed, low_nibbles);
              const __m256i top =
                  _mm256_load_si256(reinterpret_cast<const __m256i*>(pair + 512 + 64 * w + 32 * (half0 + h)));
              // Field f (bits 2f..2f+1) to bits 4..5; the mask drops what crossed bytes.
              const __m256i shifted = f == 0   ? _mm256_slli_epi16(top, 4)
                                      : f == 1 ? _mm256_slli_epi16(top, 2)
                                      : f == 2 ? top
                                               : _mm256_srli_epi16(top, 2);
              const __m256i u = _mm256_or_si256(nib, _mm256_and_si256(shifted, top_bits));
              for (int t = 0; t < T; ++t)
                sum16[w / 2][t] = _mm256_add_epi16(sum16[w / 2][t],
                                                   _mm256_maddubs_epi16(u, bcast_i32(xp + ((g0 + v) * T + t) * 4)));
            }
            const __m256i sc = _mm256_cvtepi8_epi32(
                _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 64 + 16 * j + 8 * (half0 + h))));
            for (int t = 0; t < T; ++t) {
              const __m256i dot = _mm256_add_epi32(
                  bcast_i32(xp + 260 * T + (j * T + t) * 4),
                  _mm256_add_epi32(_mm256_madd_epi16(sum16[0][t], ones), _mm256_madd_epi16(sum16[1][t], ones)));
              S[h][t] = _mm256_add_epi32(S[h][t], _mm256_mullo_epi32(dot, sc));
            }
          }
        }
      }
      for (int h = 0; h < H; ++h) {
        const __m256 d = _mm256_loadu_ps(reinterpret_cast<const float*>(blk) + 8 * (half0 + h));
        for (int t = 0; t < T; ++t)
          acc[h][t] =
              _mm256_fmadd_ps(_mm256_cvtepi32_ps(S[h][t]), _mm256_mul_ps(d, bcast_f32(xp + 256 * T + 4 * t)), acc[h][t]);
      }
    }
  });
}

struct Tiles {
  // Per token a float accumulator, the int32 super-block sum and the int16
  // sub-block sums, plus the level vectors and constants: 16 ymm registers.
  static constexpr int kMaxTokens = 3;
  static constexpr int kLayout = 1;

  template <PackedKQuantFormat F, int T>
  static void tile(const PackedKQuantMatmulTask& task, int64_t panel, const uint8_t* xp, float* y, int64_t y_stride) {
    if constexpr (F == PackedKQuantFormat::Q4_K)
      tile_q4k<T>(task, panel, xp, y, y_stride);
    else
      tile_q6k<T>(task, panel, xp, y, y_stride);
  }
};

}  // namespace

void packed_kquant_matmul_panels_avx2(const PackedKQuantMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  if (task.format == PackedKQuantFormat::Q4_K) run_panels<Tiles, PackedKQuantFormat::Q4_K>(task, panel_begin, panel_end);
  else run_panels<Tiles, PackedKQuantFormat::Q6_K>(task, panel_begin, panel_end);
}

}  // namespace ridge::kernels::isa
