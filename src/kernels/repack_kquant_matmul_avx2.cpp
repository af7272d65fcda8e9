// The GEMM over packed Q4_K weights (layout in repack_kquant.h) for AVX2
// (flags from CMakeLists.txt by file name), for CPUs without AVX-512. A tile
// is one panel of 16 rows by up to kMaxTokens tokens, taken as two halves of 8
// rows (one 32-bit lane per row in a ymm register): for one token both halves
// in one pass over the panel, with more one after the other (the second pass
// finds the panel in the cache). Per sub-block of 32 columns, each of its 8
// nibble vectors (levels 0..15) meets a broadcast 4-byte activation group in
// vpmaddubsw; the sub-block's 8 products per row stay within int16 (8 x 2 x 15
// x 127 = 30480), so they are summed there, widened with vpmaddwd and
// multiplied by the rows' sub-block scales into one int32 sum per
// super-block. The mins meet the activation sums per 32 in vpmaddwd. Then, per
// super-block and token, acc += float(S) * (d * dx) - float(M) * (dmin * dx):
// the same integers and float operations as the AVX-512 tile, so the same bits.
//
// Q6_K has no kernel here yet (its matrices use the unpacked row kernels on
// AVX2). Every token goes through the same instructions in the same order
// whatever the tile width.
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

inline __m256i bcast_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

inline __m256 bcast_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_ps(v);
}

inline __m128i load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

struct Tiles {
  // Per token a float accumulator, the int32 super-block sum and the int16
  // sub-block sum, plus the level vectors and constants: 16 ymm registers.
  static constexpr int kMaxTokens = 3;
  static constexpr int kLayout = 1;

  template <PackedKQuantFormat F, int T>
  static void tile(const PackedKQuantMatmulTask& task, int64_t panel, const uint8_t* xp0, float* y,
                   int64_t y_stride) {
    static_assert(F == PackedKQuantFormat::Q4_K, "AVX2 has no packed Q6_K kernel");
    constexpr int H = T == 1 ? 2 : 1;  // halves of the panel per pass
    constexpr int64_t kBytes = Format<F>::kBlockBytes, kStride = tile_stride<F>(T);
    const int64_t nsb = task.super_blocks;
    const uint8_t* rec = task.data + panel * nsb * kBytes;
    const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int half0 = 0; half0 < 2; half0 += H) {
      if (task.rows - (panel * kPanel + 8 * half0) <= 0) break;
      __m256 acc[H][T];
      for (int h = 0; h < H; ++h)
        for (int t = 0; t < T; ++t) acc[h][t] = _mm256_setzero_ps();
      const uint8_t* xp = xp0;
      for (int64_t s = 0; s < nsb; ++s, xp += kStride) {
        const uint8_t* blk = rec + s * kBytes;
        __m256i S[H][T];
        for (int h = 0; h < H; ++h)
          for (int t = 0; t < T; ++t) S[h][t] = _mm256_setzero_si256();
        // Pair p: sub-block 2p in the low nibbles (groups 16p..), 2p + 1 in the high ones (16p + 8..).
        for (int j = 0; j < 8; ++j) {
          const int p = j / 2, g0 = 16 * p + 8 * (j % 2);
          const bool high = j % 2 != 0;
          __m256i sum16[H][T];
          for (int h = 0; h < H; ++h)
            for (int t = 0; t < T; ++t) sum16[h][t] = _mm256_setzero_si256();
          for (int v = 0; v < 8; ++v)
            for (int h = 0; h < H; ++h) {
              const __m256i packed = _mm256_load_si256(
                  reinterpret_cast<const __m256i*>(blk + 320 + 512 * p + 64 * v + 32 * (half0 + h)));
              const __m256i u = _mm256_and_si256(high ? _mm256_srli_epi16(packed, 4) : packed, low_nibbles);
              for (int t = 0; t < T; ++t)
                sum16[h][t] =
                    _mm256_add_epi16(sum16[h][t], _mm256_maddubs_epi16(u, bcast_i32(xp + ((g0 + v) * T + t) * 4)));
            }
          for (int h = 0; h < H; ++h) {
            const __m256i sc = _mm256_cvtepu8_epi32(_mm_loadl_epi64(
                reinterpret_cast<const __m128i*>(blk + 64 + 16 * j + 8 * (half0 + h))));
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
      for (int h = 0; h < H; ++h) {
        const int64_t row0 = panel * kPanel + 8 * (half0 + h);
        const int64_t left = task.rows - row0;
        if (left <= 0) break;
        for (int t = 0; t < T; ++t) {
          float* out = y + t * y_stride + row0;
          if (left >= 8) {
            _mm256_storeu_ps(out, acc[h][t]);
          } else {
            alignas(32) float tmp[8];
            _mm256_store_ps(tmp, acc[h][t]);
            for (int64_t i = 0; i < left; ++i) out[i] = tmp[i];
          }
        }
      }
    }
  }
};

}  // namespace

void packed_kquant_matmul_panels_avx2(const PackedKQuantMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  // Only Q4_K reaches this kernel (packed_matmul_supported).
  run_panels<Tiles, PackedKQuantFormat::Q4_K>(task, panel_begin, panel_end);
}

}  // namespace ridge::kernels::isa
