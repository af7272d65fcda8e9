// The GEMM over packed Q4_0 and Q8_0 weights (repack.h) for AVX2 (flags from
// CMakeLists.txt by file name), for CPUs without AVX-512. A tile is one chunk
// of a panel of 16 rows (repack.h) by up to kMaxTokens tokens, taken as two halves of 8 rows (one
// 32-bit lane per row in a ymm register): with 1 or 2 tokens both halves in
// one pass over the panel, with more one after the other (the second pass
// finds the panel in the cache). Products are u8 x s8 with vpmaddubsw
// (adjacent pairs summed into int16) and widened with vpmaddwd:
//  - Q4_0: each level vector is split into its low and high nibbles (levels
//    0..15); a block's 8 products per row stay within int16 (8 x 2 x 15 x 127
//    = 30480), so they are summed there and widened once, and the int32 sum
//    starts at the weight offset's share (-8 * sum of the activation levels);
//  - Q8_0: the stored levels q + 128 would saturate vpmaddubsw, so they go
//    back to signed q and the kernel multiplies |q| by the activation carrying
//    q's sign (at most 2 x 128 x 127 per pair), widening every group.
// Each block's int32 sums are rescaled into the token's float accumulators by
// one FMA with the 8 rows' scales: the same integers and the same float
// operations as the AVX-512 tile, so the two kernels give the same bits.
// Every token goes through the same instructions in the same order whatever
// the tile width. Each page of the stream is touched a few pages early
// (prefetch_pages_ahead, prefetch.h), and decode asks for each line a few
// KiB early (prefetch_lines).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/repack_kernels.h"

#if !(defined(__AVX2__) && defined(__FMA__) && defined(__F16C__))
#error "repack_matmul_avx2.cpp needs -mavx2 -mfma -mf16c (see CMakeLists.txt)"
#endif

namespace ridge::kernels::isa {
namespace {

#include "kernels/repack_matmul_body.h"

#include "kernels/repack_avx2_helpers.h"

struct Tiles {
  // T float and T int16 accumulators, the level vectors and two constants
  // stay within the 16 ymm registers.
  static constexpr int kMaxTokens = 4;
  static constexpr int kLayout = 1;

  template <bool kQ8, int T>
  static void tile(const PackedMatmulTask& task, int64_t panel, const uint8_t* first_pair, int64_t nb,
                   const uint8_t* xp0, float* y, int64_t y_stride, bool accumulate) {
    // Halves of the panel per pass over its blocks: with few tokens both at
    // once (the panel is read from memory once), with more one at a time (the
    // registers hold one half's accumulators; the second pass finds the panel
    // in the cache).
    constexpr int H = T <= 2 ? 2 : 1;
    constexpr int64_t kBlockBytes = kQ8 ? 512 : 256;
    constexpr int64_t kStride = tile_stride(T);
    constexpr int64_t kPairBytes = 2 * kBlockBytes + 2 * kPanel * 2;  // packed_pair_bytes (repack.h)
    const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i sign_bits = _mm256_set1_epi8(static_cast<char>(0x80));
    for_halves<H, T>(task, panel, y, y_stride, [&](int half0, __m256 (&acc)[H][T]) {
      const uint8_t* xp = xp0;
      for (int64_t b = 0; b < nb; ++b, xp += kStride) {
        const uint8_t* pair = first_pair + (b >> 1) * kPairBytes;
        const uint8_t* blk = pair + (b & 1) * kBlockBytes + 32 * half0;
        const uint8_t* sc = pair + 2 * kBlockBytes + (b & 1) * (kPanel * 2) + 16 * half0;
        if ((b & 1) == 0) {
          prefetch_pages_ahead(pair, kPairBytes);
          if constexpr (T == 1) prefetch_lines(pair, kPairBytes);  // decode, Q4_0 and Q8_0 (prefetch.h)
        }
        // Each row's integer dot product for the block: the int32 lanes of isum.
        __m256i isum[H][T];
        if constexpr (kQ8) {
          // Levels are stored as q + 128: back to signed q, then |q| times
          // the activation with q's sign (x is at most 127 in magnitude, so
          // the sign never overflows, and a pair sums to at most 2 * 128 * 127).
          for (int h = 0; h < H; ++h)
            for (int t = 0; t < T; ++t) isum[h][t] = _mm256_setzero_si256();
          for (int g = 0; g < 8; ++g)
            for (int h = 0; h < H; ++h) {
              const __m256i q = _mm256_xor_si256(
                  _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 64 * g + 32 * h)), sign_bits);
              const __m256i aq = _mm256_abs_epi8(q);
              for (int t = 0; t < T; ++t) {
                const __m256i sx = _mm256_sign_epi8(bcast_i32(xp + (g * T + t) * 4), q);
                isum[h][t] = _mm256_add_epi32(isum[h][t], _mm256_madd_epi16(_mm256_maddubs_epi16(aq, sx), ones));
              }
            }
        } else {
          __m256i sum16[H][T];
          for (int h = 0; h < H; ++h)
            for (int t = 0; t < T; ++t) sum16[h][t] = _mm256_setzero_si256();
          // Group g: columns 4g..4g+3 (low nibbles) and 16+4g..16+4g+3 (high).
          for (int g = 0; g < 4; ++g)
            for (int h = 0; h < H; ++h) {
              const __m256i packed = _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 64 * g + 32 * h));
              const __m256i lo = _mm256_and_si256(packed, low_nibbles);
              const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
              for (int t = 0; t < T; ++t)
                sum16[h][t] = _mm256_add_epi16(sum16[h][t], _mm256_maddubs_epi16(lo, bcast_i32(xp + (g * T + t) * 4)));
              for (int t = 0; t < T; ++t)
                sum16[h][t] =
                    _mm256_add_epi16(sum16[h][t], _mm256_maddubs_epi16(hi, bcast_i32(xp + ((g + 4) * T + t) * 4)));
            }
          // The weight offset's share: -8 * sum of the activation levels.
          for (int h = 0; h < H; ++h)
            for (int t = 0; t < T; ++t)
              isum[h][t] = _mm256_add_epi32(bcast_i32(xp + 36 * T + 4 * t), _mm256_madd_epi16(sum16[h][t], ones));
        }
        for (int h = 0; h < H; ++h) {
          const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc + 16 * h)));
          for (int t = 0; t < T; ++t)
            acc[h][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[h][t]),
                                        _mm256_mul_ps(dw, bcast_f32(xp + 32 * T + 4 * t)), acc[h][t]);
        }
      }
    }, accumulate);
  }
};

}  // namespace

void packed_matmul_panels_avx2(const PackedMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  if (task.format == PackedFormat::Q8_0) run_panels<Tiles, true>(task, panel_begin, panel_end);
  else run_panels<Tiles, false>(task, panel_begin, panel_end);
}

}  // namespace ridge::kernels::isa
