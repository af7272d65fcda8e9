#pragma once
// The SIMD matmul and vector kernels, written once and compiled twice: by
// matmul_avx2.cpp (AVX2 + FMA + F16C) and by matmul_avx512.cpp (which adds
// AVX-512 VL/BW and VNNI: 32 vector registers, dpbusd/dpwssd, masked loads).
// Include it ONLY from those two files. Everything here sits in an anonymous
// namespace (internal linkage), so the two compilations never meet at link
// time; the files export it through the plain functions of isa_kernels.h.
//
// Integer dot products: weight levels are brought to unsigned bytes u (Q4_0
// keeps 0..15 and subtracts 8 * sum(x) afterwards, and so on), activations are
// signed bytes, and u8 x s8 products are summed four at a time into int32
// (vpdpbusd, or vpmaddubsw + vpmaddwd without VNNI). Each (row, token) pair
// has its own accumulators and goes through the same instructions whatever
// tile it lands in, so results do not depend on batch composition or threads.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/exp_f32x8.h"
#include "kernels/isa_kernels.h"
#include "kernels/prefetch.h"

namespace ridge::kernels::isa {
namespace {

// The including file says which variant it compiles (0: AVX2, 1: AVX-512).
#if !defined(RIDGE_ISA_AVX512)
#error "define RIDGE_ISA_AVX512 (0 or 1) before including matmul_isa_body.h"
#elif RIDGE_ISA_AVX512 && !(defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512BW__) && \
                            defined(__AVX512VNNI__))
#error "the AVX-512 variant needs -mavx512f -mavx512vl -mavx512bw -mavx512vnni (see CMakeLists.txt)"
#endif

// ---------------------------------------------------------------- helpers

inline float load_half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}

inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// a * b + c, always fused: left to the compiler, the contraction could differ
// between tile shapes and break the bitwise batch independence.
inline float fma_scalar(float a, float b, float c) {
  return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

// acc + sum of u8 x s8 products, four adjacent bytes per int32 lane.
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if RIDGE_ISA_AVX512
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// acc + sum of int16 x int16 products, two adjacent per int32 lane.
inline __m256i dot_i16(__m256i acc, __m256i a, __m256i b) {
#if RIDGE_ISA_AVX512
  return _mm256_dpwssd_epi32(acc, a, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

// Byte e of the result is 0x10 where bit e of `bits` is set, else 0.
inline __m256i bits_to_0x10(uint32_t bits) {
#if RIDGE_ISA_AVX512
  return _mm256_maskz_mov_epi8(bits, _mm256_set1_epi8(0x10));
#else
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i select = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
#endif
}

// Low nibbles of 16 bytes in the low half, high nibbles in the high half.
inline __m256i nibbles(const uint8_t* p) {
  const __m128i q = load128(p);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
}

using TileFn = void (*)(const MatmulTask&, int64_t row, int64_t token);

// The tile function for `nt` tokens (1..T) of a kernel with R rows.
template <class Kernel, int R, int T>
TileFn tile_for_tokens(int64_t nt) {
  if constexpr (T == 1) {
    return &Kernel::template tile<R, 1>;
  } else {
    return nt == T ? &Kernel::template tile<R, T> : tile_for_tokens<Kernel, R, T - 1>(nt);
  }
}

// Tokens are processed in chunks so a chunk's activations stay in L2 while
// each group of weight rows (in L1) meets every token of the chunk.
constexpr int64_t kTokenChunk = 64;

// Whether decode asks for each weight line a few KiB early (prefetch.h,
// prefetch_row_steps): it does for every type on AVX-512 (tg with alternating binaries, TinyLlama
// shape: Q5_0 +81%, Q5_K +54%, F16 +15%) and for the quantized types on AVX2
// (Q5_0 +76%, Q5_K +29%), but made AVX2 F16 9% slower, so float rows there
// do without.
#if defined(__AVX512F__)
constexpr bool kFloatLineRequests = true;
#else
constexpr bool kFloatLineRequests = false;
#endif

// Decode's requests for the lines of a tile's R row streams (prefetch.h),
// made inside the tile's loop a step at a time: for each row, the lines of
// [off, off + bytes) moved kLinesAhead on. Asking for a whole group of rows'
// lines at once before the tile (up to 90 requests) took every line fill
// buffer on the Intel Xeon and stalled the tile (see prefetch_lines_part).
template <int R, int T>
inline void prefetch_row_steps(const MatmulTask& task, const uint8_t* const (&wr)[R], int64_t off, int64_t bytes) {
  if constexpr (T == 1) {
    if (task.n_tokens == 1)
      for (int r = 0; r < R; ++r) prefetch_lines(wr[r] + off, bytes);
  }
}

template <class Kernel>
void run_rows(const MatmulTask& task, int64_t row_begin, int64_t row_end) {
  constexpr int R = Kernel::kRows, T = Kernel::kTokens;
  for (int64_t tc = 0; tc < task.n_tokens; tc += kTokenChunk) {
    const int64_t tc_end = tc + kTokenChunk < task.n_tokens ? tc + kTokenChunk : task.n_tokens;
    for (int64_t r = row_begin; r < row_end; r += R) {
      const int64_t nr = row_end - r < R ? row_end - r : R;
      // The rows are one stream: touch its pages a few pages early (prefetch.h).
      prefetch_pages_ahead(task.w + static_cast<size_t>(r) * task.row_bytes, nr * static_cast<int64_t>(task.row_bytes));
      for (int64_t t = tc; t < tc_end; t += T) {
        const int64_t nt = tc_end - t < T ? tc_end - t : T;
        if (nr == R) {
          tile_for_tokens<Kernel, R, T>(nt)(task, r, t);
        } else {
          const TileFn one_row = tile_for_tokens<Kernel, 1, T>(nt);
          for (int64_t i = 0; i < nr; ++i) one_row(task, r + i, t);
        }
      }
    }
  }
}

// ------------------------------------------------- 32-element block types

// Each decoder yields a block's 32 levels as bytes in element order, its scale
// d, and how levels map to values: value = d * (u - kOffset) (+ min).
struct DecodeQ4_0 {
  static constexpr int kBytes = 18, kOffset = 8;
  static constexpr bool kHasMin = false, kSignedLevels = false;
  static float scale(const uint8_t* b) { return load_half(b); }
  static float min(const uint8_t*) { return 0.f; }
  static __m256i levels(const uint8_t* b) { return nibbles(b + 2); }
};

struct DecodeQ4_1 {
  static constexpr int kBytes = 20, kOffset = 0;
  static constexpr bool kHasMin = true, kSignedLevels = false;
  static float scale(const uint8_t* b) { return load_half(b); }
  static float min(const uint8_t* b) { return load_half(b + 2); }
  static __m256i levels(const uint8_t* b) { return nibbles(b + 4); }
};

struct DecodeQ5_0 {
  static constexpr int kBytes = 22, kOffset = 16;
  static constexpr bool kHasMin = false, kSignedLevels = false;
  static float scale(const uint8_t* b) { return load_half(b); }
  static float min(const uint8_t*) { return 0.f; }
  static __m256i levels(const uint8_t* b) { return _mm256_or_si256(nibbles(b + 6), bits_to_0x10(load_u32(b + 2))); }
};

struct DecodeQ5_1 {
  static constexpr int kBytes = 24, kOffset = 0;
  static constexpr bool kHasMin = true, kSignedLevels = false;
  static float scale(const uint8_t* b) { return load_half(b); }
  static float min(const uint8_t* b) { return load_half(b + 2); }
  static __m256i levels(const uint8_t* b) { return _mm256_or_si256(nibbles(b + 8), bits_to_0x10(load_u32(b + 4))); }
};

// Q8_0 levels are signed. With VNNI they become q + 128 (no saturation in
// dpbusd); without it maddubs would saturate at 255 * 127 * 2, so the levels
// stay signed and the kernel moves their sign onto the activations.
struct DecodeQ8_0 {
  static constexpr int kBytes = 34, kOffset = RIDGE_ISA_AVX512 ? 128 : 0;
  static constexpr bool kHasMin = false, kSignedLevels = !RIDGE_ISA_AVX512;
  static float scale(const uint8_t* b) { return load_half(b); }
  static float min(const uint8_t*) { return 0.f; }
  static __m256i levels(const uint8_t* b) {
    const __m256i q = load256(b + 2);
    return RIDGE_ISA_AVX512 ? _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80))) : q;
  }
};

template <class Decode>
struct Blocks32Kernel {
#if RIDGE_ISA_AVX512
  static constexpr int kRows = 4, kTokens = 4;
#else
  static constexpr int kRows = 4, kTokens = 2;
#endif

  template <int R, int T>
  static void tile(const MatmulTask& task, int64_t row, int64_t token) {
    const int64_t nb = task.cols / 32;
    const QuantizedActivations& qx = task.qx;
    const uint8_t* wr[R];
    for (int r = 0; r < R; ++r) wr[r] = task.w + static_cast<size_t>(row + r) * task.row_bytes;
    const int8_t* xq[T];
    const float* xd[T];
    const int32_t* xs[T];
    const float* xds[T];
    for (int t = 0; t < T; ++t) {
      xq[t] = qx.q + (token + t) * task.cols;
      xd[t] = qx.d + (token + t) * nb;
      xs[t] = qx.sum + (token + t) * nb;
      xds[t] = qx.dsum + (token + t) * nb;
    }
    __m256 acc[R][T];
    float min_acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps(), min_acc[r][t] = 0.f;

    for (int64_t b = 0; b < nb; ++b) {
      prefetch_row_steps<R, T>(task, wr, b * Decode::kBytes, Decode::kBytes);
      __m256i u[R];
      __m256 dw[R];
      float mw[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = wr[r] + b * Decode::kBytes;
        u[r] = Decode::levels(blk);
        dw[r] = _mm256_set1_ps(Decode::scale(blk));
        mw[r] = Decode::min(blk);
      }
      for (int t = 0; t < T; ++t) {
        const __m256i x = load256(xq[t] + b * 32);
        const __m256 dx = _mm256_set1_ps(xd[t][b]);
        const __m256i bias =
            Decode::kOffset != 0 ? _mm256_zextsi128_si256(_mm_cvtsi32_si128(-Decode::kOffset * xs[t][b]))
                                 : _mm256_setzero_si256();
        for (int r = 0; r < R; ++r) {
          __m256i dot;
          if constexpr (Decode::kSignedLevels) {
            dot = dot_u8s8(_mm256_setzero_si256(), _mm256_sign_epi8(u[r], u[r]), _mm256_sign_epi8(x, u[r]));
          } else {
            dot = dot_u8s8(bias, u[r], x);
          }
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[r], dx), acc[r][t]);
          if constexpr (Decode::kHasMin) min_acc[r][t] = fma_scalar(mw[r], xds[t][b], min_acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) task.y[(token + t) * task.rows + row + r] = hsum(acc[r][t]) + min_acc[r][t];
  }
};

#if RIDGE_ISA_AVX512
// Two consecutive blocks per 512-bit register: half the instructions per
// multiply-add of the 256-bit kernel above (Zen 4 splits each 512-bit op in
// two, so the gain is in decode and issue, where this kernel is bound). An odd
// last block runs with a zero upper half, which adds exact zeros.
inline __m512 halves_ps(float lo, float hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(lo)), _mm256_set1_ps(hi), 1);
}
inline __m512i lane0_pair(int lo, int hi) {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(_mm256_zextsi128_si256(_mm_cvtsi32_si128(lo))),
                            _mm256_zextsi128_si256(_mm_cvtsi32_si128(hi)), 1);
}
inline float hsum512(__m512 v) {
  return hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

template <class Decode>
struct Blocks32PairKernel {
  static_assert(!Decode::kSignedLevels, "the VNNI build keeps every level unsigned");
  static constexpr int kRows = 4, kTokens = 4;

  template <int R, int T>
  static void tile(const MatmulTask& task, int64_t row, int64_t token) {
    const int64_t nb = task.cols / 32;
    const QuantizedActivations& qx = task.qx;
    const uint8_t* wr[R];
    for (int r = 0; r < R; ++r) wr[r] = task.w + static_cast<size_t>(row + r) * task.row_bytes;
    const int8_t* xq[T];
    const float* xd[T];
    const int32_t* xs[T];
    const float* xds[T];
    for (int t = 0; t < T; ++t) {
      xq[t] = qx.q + (token + t) * task.cols;
      xd[t] = qx.d + (token + t) * nb;
      xs[t] = qx.sum + (token + t) * nb;
      xds[t] = qx.dsum + (token + t) * nb;
    }
    __m512 acc[R][T];
    float min_acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps(), min_acc[r][t] = 0.f;

    for (int64_t b = 0; b < nb; b += 2) {
      prefetch_row_steps<R, T>(task, wr, b * Decode::kBytes, 2 * Decode::kBytes);
      const bool pair = b + 1 < nb;
      __m512i u[R];
      __m512 dw[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = wr[r] + b * Decode::kBytes;
        const __m256i lo = Decode::levels(blk);
        const __m256i hi = pair ? Decode::levels(blk + Decode::kBytes) : _mm256_setzero_si256();
        u[r] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        dw[r] = halves_ps(Decode::scale(blk), pair ? Decode::scale(blk + Decode::kBytes) : 0.f);
        if constexpr (Decode::kHasMin) {
          for (int t = 0; t < T; ++t) {
            min_acc[r][t] = fma_scalar(Decode::min(blk), xds[t][b], min_acc[r][t]);
            if (pair) min_acc[r][t] = fma_scalar(Decode::min(blk + Decode::kBytes), xds[t][b + 1], min_acc[r][t]);
          }
        }
      }
      for (int t = 0; t < T; ++t) {
        const __m512i x = pair ? _mm512_loadu_si512(xq[t] + b * 32)
                               : _mm512_maskz_loadu_epi8(0xffffffffull, xq[t] + b * 32);
        const __m512 dx = halves_ps(xd[t][b], pair ? xd[t][b + 1] : 0.f);
        const __m512i bias = lane0_pair(-Decode::kOffset * xs[t][b], pair ? -Decode::kOffset * xs[t][b + 1] : 0);
        for (int r = 0; r < R; ++r) {
          const __m512i dot = _mm512_dpbusd_epi32(bias, u[r], x);
          acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[r], dx), acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) task.y[(token + t) * task.rows + row + r] = hsum512(acc[r][t]) + min_acc[r][t];
  }
};
template <class Decode>
using Blocks32Best = Blocks32PairKernel<Decode>;
#else
template <class Decode>
using Blocks32Best = Blocks32Kernel<Decode>;
#endif

// ------------------------------------------------- 256-element K types

// Eight 6-bit scales and eight 6-bit mins from Q4_K/Q5_K's 12 packed bytes:
// sub-blocks 0..3 use the low 6 bits of bytes 0..3 (scales) and 4..7 (mins);
// 4..7 take their low 4 bits from bytes 8..11 and the top 2 from the spare
// bits 6..7 of bytes 0..3 (scales) and 4..7 (mins).
inline void unpack_scales_mins(const uint8_t* p, uint8_t scales[8], uint8_t mins[8]) {
  const uint32_t w0 = load_u32(p), w1 = load_u32(p + 4), w2 = load_u32(p + 8);
  const uint32_t s_lo = w0 & 0x3f3f3f3fu, m_lo = w1 & 0x3f3f3f3fu;
  const uint32_t s_hi = (w2 & 0x0f0f0f0fu) | (((w0 >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((w2 >> 4) & 0x0f0f0f0fu) | (((w1 >> 6) & 0x03030303u) << 4);
  std::memcpy(scales, &s_lo, 4);
  std::memcpy(scales + 4, &s_hi, 4);
  std::memcpy(mins, &m_lo, 4);
  std::memcpy(mins + 4, &m_hi, 4);
}

// Q4_K (kFifthBit false) and Q5_K (true): x = d * scale_j * u - dmin * min_j per
// sub-block j of 32; u is a nibble of qs[32 * (j / 2) + l] (low for even j),
// plus 16 * bit j of qh[l] for Q5_K.
template <bool kFifthBit>
struct Q45KKernel {
  static constexpr int kBlockBytes = kFifthBit ? 176 : 144;
  static constexpr int kQsOffset = kFifthBit ? 48 : 16;
#if RIDGE_ISA_AVX512
  static constexpr int kRows = 2, kTokens = 4;
#else
  static constexpr int kRows = 2, kTokens = 2;
#endif

  template <int R, int T>
  static void tile(const MatmulTask& task, int64_t row, int64_t token) {
    const int64_t nsb = task.cols / 256;
    const QuantizedActivations& qx = task.qx;
    const uint8_t* wr[R];
    for (int r = 0; r < R; ++r) wr[r] = task.w + static_cast<size_t>(row + r) * task.row_bytes;
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();

    for (int64_t s = 0; s < nsb; ++s) {
      prefetch_row_steps<R, T>(task, wr, s * kBlockBytes, kBlockBytes);
      uint8_t sc[R][8], mn[R][8];
      __m256i mins16[R];
      float d[R], dmin[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = wr[r] + s * kBlockBytes;
        d[r] = load_half(blk);
        dmin[r] = load_half(blk + 2);
        unpack_scales_mins(blk + 4, sc[r], mn[r]);
        uint64_t m8;
        std::memcpy(&m8, mn[r], 8);
        mins16[r] = _mm256_zextsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(m8))));
      }
      __m256i isum[R][T];
      for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t) isum[r][t] = _mm256_setzero_si256();
      for (int j = 0; j < 8; ++j) {
        __m256i u[R], sv[R];
        for (int r = 0; r < R; ++r) {
          const uint8_t* blk = wr[r] + s * kBlockBytes;
          const __m256i q = load256(blk + kQsOffset + 32 * (j / 2));
          u[r] = _mm256_and_si256((j & 1) ? _mm256_srli_epi16(q, 4) : q, _mm256_set1_epi8(0x0f));
          if constexpr (kFifthBit) {
            const __m256i qh = load256(blk + 16);
            // Move bit j of each byte to bit 4 (16-bit shifts; the mask drops bits that crossed bytes).
            const __m256i hb = j <= 4 ? _mm256_slli_epi16(qh, 4 - j) : _mm256_srli_epi16(qh, j - 4);
            u[r] = _mm256_or_si256(u[r], _mm256_and_si256(hb, _mm256_set1_epi8(0x10)));
          }
          sv[r] = _mm256_set1_epi16(sc[r][j]);
        }
        for (int t = 0; t < T; ++t) {
          const __m256i x = load256(qx.q + (token + t) * task.cols + s * 256 + 32 * j);
          for (int r = 0; r < R; ++r) isum[r][t] = dot_i16(isum[r][t], _mm256_maddubs_epi16(u[r], x), sv[r]);
        }
      }
      for (int t = 0; t < T; ++t) {
        const int64_t sb = (token + t) * nsb + s;
        const float dx = qx.d[sb];
        const __m256i bs32 = _mm256_zextsi128_si256(load128(qx.bsum32 + sb * 8));
        for (int r = 0; r < R; ++r) {
          const __m256i msum = _mm256_madd_epi16(mins16[r], bs32);
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][t]), _mm256_set1_ps(d[r] * dx), acc[r][t]);
          acc[r][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin[r] * dx), acc[r][t]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) task.y[(token + t) * task.rows + row + r] = hsum(acc[r][t]);
  }
};

// Q6_K: 210-byte super-blocks (ql[128], qh[64], int8 scales[16], f16 d). Group
// g = 4h + k (h < 2, k < 4) holds elements 128h + 32k + l: low nibble (k < 2)
// or high nibble of ql[64h + 32(k % 2) + l], top bits 2k..2k+1 of qh[32h + l];
// x = d * scale[e / 16] * (u - 32).
struct Q6KKernel {
#if RIDGE_ISA_AVX512
  static constexpr int kRows = 2, kTokens = 4;
#else
  static constexpr int kRows = 2, kTokens = 2;
#endif

  template <int R, int T>
  static void tile(const MatmulTask& task, int64_t row, int64_t token) {
    const int64_t nsb = task.cols / 256;
    const QuantizedActivations& qx = task.qx;
    const uint8_t* wr[R];
    for (int r = 0; r < R; ++r) wr[r] = task.w + static_cast<size_t>(row + r) * task.row_bytes;
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();

    for (int64_t s = 0; s < nsb; ++s) {
      prefetch_row_steps<R, T>(task, wr, s * 210, 210);  // block_q6_K
      float d[R];
      __m256i offset_scales[R];  // -32 * scale, for the sum of (scale * -32 * x) over 16-element groups
      for (int r = 0; r < R; ++r) {
        const uint8_t* blk = wr[r] + s * 210;
        d[r] = load_half(blk + 208);
        const __m256i sc16 = _mm256_cvtepi8_epi16(load128(blk + 192));
        offset_scales[r] = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(sc16, 5));
      }
      __m256i isum[R][T];
      for (int t = 0; t < T; ++t) {
        const __m256i bs16 = load256(qx.bsum16 + ((token + t) * nsb + s) * 16);
        for (int r = 0; r < R; ++r) isum[r][t] = _mm256_madd_epi16(offset_scales[r], bs16);
      }
      for (int g = 0; g < 8; ++g) {
        const int h = g / 4, k = g % 4;
        __m256i u[R], sv[R];
        for (int r = 0; r < R; ++r) {
          const uint8_t* blk = wr[r] + s * 210;
          const __m256i ql = load256(blk + 64 * h + 32 * (k % 2));
          const __m256i lo = _mm256_and_si256(k < 2 ? ql : _mm256_srli_epi16(ql, 4), _mm256_set1_epi8(0x0f));
          const __m256i qh = load256(blk + 128 + 32 * h);
          // Bits 2k..2k+1 of each byte to bits 4..5.
          const __m256i hs = k == 0 ? _mm256_slli_epi16(qh, 4)
                             : k == 1 ? _mm256_slli_epi16(qh, 2)
                             : k == 2 ? qh
                                      : _mm256_srli_epi16(qh, 2);
          u[r] = _mm256_or_si256(lo, _mm256_and_si256(hs, _mm256_set1_epi8(0x30)));
          const auto* scales = reinterpret_cast<const int8_t*>(blk + 192);
          sv[r] = _mm256_set_m128i(_mm_set1_epi16(scales[2 * g + 1]), _mm_set1_epi16(scales[2 * g]));
        }
        for (int t = 0; t < T; ++t) {
          const __m256i x = load256(qx.q + (token + t) * task.cols + s * 256 + 32 * g);
          for (int r = 0; r < R; ++r) isum[r][t] = dot_i16(isum[r][t], _mm256_maddubs_epi16(u[r], x), sv[r]);
        }
      }
      for (int t = 0; t < T; ++t) {
        const float dx = qx.d[(token + t) * nsb + s];
        for (int r = 0; r < R; ++r)
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][t]), _mm256_set1_ps(d[r] * dx), acc[r][t]);
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) task.y[(token + t) * task.rows + row + r] = hsum(acc[r][t]);
  }
};

// ------------------------------------------------- float weights

enum class FloatKind { F32, F16, BF16 };

#if RIDGE_ISA_AVX512
using VecF = __m512;
constexpr int64_t kLanes = 16;
inline VecF vzero() { return _mm512_setzero_ps(); }
inline VecF vload_x(const float* p, int64_t n) {
  return n >= kLanes ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
}
template <FloatKind K>
inline VecF vload_w(const uint8_t* row, int64_t i, int64_t n) {
  const __mmask16 m = n >= kLanes ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1);
  if constexpr (K == FloatKind::F32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + i);
  } else if constexpr (K == FloatKind::F16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + i));
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + i);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}
inline VecF vfma(VecF a, VecF b, VecF c) { return _mm512_fmadd_ps(a, b, c); }
inline float vsum(VecF v) {
  return hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}
#else
using VecF = __m256;
constexpr int64_t kLanes = 8;
inline VecF vzero() { return _mm256_setzero_ps(); }
// AVX2 has no masked byte loads; the tail (n < 8) is loaded through a zeroed buffer.
inline VecF vload_x(const float* p, int64_t n) {
  if (n >= kLanes) return _mm256_loadu_ps(p);
  float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i) tmp[i] = p[i];
  return _mm256_loadu_ps(tmp);
}
template <FloatKind K>
inline VecF vload_w(const uint8_t* row, int64_t i, int64_t n) {
  if constexpr (K == FloatKind::F32) {
    return vload_x(reinterpret_cast<const float*>(row) + i, n);
  } else {
    __m128i h;
    if (n >= kLanes) {
      h = load128(row + 2 * i);
    } else {
      uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      std::memcpy(tmp, row + 2 * i, static_cast<size_t>(n) * 2);
      h = load128(tmp);
    }
    if constexpr (K == FloatKind::F16) return _mm256_cvtph_ps(h);
    else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}
inline VecF vfma(VecF a, VecF b, VecF c) { return _mm256_fmadd_ps(a, b, c); }
inline float vsum(VecF v) { return hsum(v); }
#endif

// Weights widened to FP32 (BF16 exactly, by a shift) and multiplied with FP32
// activations: no precision is given up, unlike dpbf16ps, which would round the
// activations to bf16.
template <FloatKind K>
struct FloatKernel {
  static constexpr int64_t kElemBytes = K == FloatKind::F32 ? 4 : 2;
#if RIDGE_ISA_AVX512
  static constexpr int kRows = 4, kTokens = 4;
#else
  static constexpr int kRows = 4, kTokens = 2;
#endif

  template <int R, int T>
  static void tile(const MatmulTask& task, int64_t row, int64_t token) {
    const uint8_t* wr[R];
    for (int r = 0; r < R; ++r) wr[r] = task.w + static_cast<size_t>(row + r) * task.row_bytes;
    const float* xr[T];
    for (int t = 0; t < T; ++t) xr[t] = task.x + (token + t) * task.cols;
    VecF acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = vzero();
    for (int64_t i = 0; i < task.cols; i += kLanes) {
      if constexpr (kFloatLineRequests) prefetch_row_steps<R, T>(task, wr, i * kElemBytes, kLanes * kElemBytes);
      const int64_t n = task.cols - i;
      VecF w[R];
      for (int r = 0; r < R; ++r) w[r] = vload_w<K>(wr[r], i, n);
      for (int t = 0; t < T; ++t) {
        const VecF x = vload_x(xr[t] + i, n);
        for (int r = 0; r < R; ++r) acc[r][t] = vfma(w[r], x, acc[r][t]);
      }
    }
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) task.y[(token + t) * task.rows + row + r] = vsum(acc[r][t]);
  }
};

void matmul_rows(const MatmulTask& task, int64_t row_begin, int64_t row_end) {
  switch (task.type) {
    case GgmlType::F32: return run_rows<FloatKernel<FloatKind::F32>>(task, row_begin, row_end);
    case GgmlType::F16: return run_rows<FloatKernel<FloatKind::F16>>(task, row_begin, row_end);
    case GgmlType::BF16: return run_rows<FloatKernel<FloatKind::BF16>>(task, row_begin, row_end);
    case GgmlType::Q8_0: return run_rows<Blocks32Best<DecodeQ8_0>>(task, row_begin, row_end);
    case GgmlType::Q4_0: return run_rows<Blocks32Best<DecodeQ4_0>>(task, row_begin, row_end);
    case GgmlType::Q4_1: return run_rows<Blocks32Best<DecodeQ4_1>>(task, row_begin, row_end);
    case GgmlType::Q5_0: return run_rows<Blocks32Best<DecodeQ5_0>>(task, row_begin, row_end);
    case GgmlType::Q5_1: return run_rows<Blocks32Best<DecodeQ5_1>>(task, row_begin, row_end);
    case GgmlType::Q4_K: return run_rows<Q45KKernel<false>>(task, row_begin, row_end);
    case GgmlType::Q5_K: return run_rows<Q45KKernel<true>>(task, row_begin, row_end);
    case GgmlType::Q6_K: return run_rows<Q6KKernel>(task, row_begin, row_end);
    default: return;  // the dispatcher never sends other types here
  }
}

// ------------------------------------------------- per-token vector kernels

void scale_mul_f32(const float* x, float s, const float* w, float* out, int64_t n) {
  const __m256 vs = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), _mm256_loadu_ps(w + i)));
  for (; i < n; ++i) out[i] = x[i] * s * w[i];
}

double sum_squares(const float* x, int64_t n) {
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
    const __m256d b = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
    acc0 = _mm256_fmadd_pd(a, a, acc0);
    acc1 = _mm256_fmadd_pd(b, b, acc1);
  }
  const __m256d acc = _mm256_add_pd(acc0, acc1);
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
  double total = _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  for (; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  return total;
}

// silu(g) = g / (1 + e^-g); e^-|g| keeps the exponential in range:
// for g >= 0, g / (1 + e^-g); for g < 0, g * e^g / (1 + e^g).
void silu_mul(float* g, const float* u, int64_t n) {
  int64_t i = 0;
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(g + i);
    const __m256 e = exp_nonpositive(_mm256_or_ps(x, sign));  // e^-|x|
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 num = _mm256_blendv_ps(x, _mm256_mul_ps(x, e), neg);
    const __m256 s = _mm256_div_ps(num, _mm256_add_ps(one, e));
    _mm256_storeu_ps(g + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
  }
  for (; i < n; ++i) {
    // Same formula in scalar form for the tail, so every element sees one method.
    const float x = g[i];
    float tmp[8] = {x, 0, 0, 0, 0, 0, 0, 0};
    const __m256 e = exp_nonpositive(_mm256_or_ps(_mm256_loadu_ps(tmp), sign));
    const float ev = _mm256_cvtss_f32(e);
    const float num = x < 0.0f ? x * ev : x;
    g[i] = num / (1.0f + ev) * u[i];
  }
}

// ------------------------------------------------- activation quantization

inline int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// The contract of the scalar quantize_token in activation_quant.cpp, to the
// bit: amax over the block, id = 127 / amax (0 where that is not finite),
// levels round-half-even(clamp(x * id, -127, 127)) (the conversion's default
// rounding mode), d = amax / 127; a block with a NaN or infinity gets zero
// levels and d = NaN.
void quantize_row_q8(const float* x, int64_t cols, int64_t block, int8_t* q, float* d, int32_t* sum, float* dsum,
                     int16_t* bsum16, int16_t* bsum32) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 big = _mm256_set1_ps(3.40282347e+38f);
  const __m256 hi = _mm256_set1_ps(127.f), lo = _mm256_set1_ps(-127.f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const int64_t nb = cols / block;
  for (int64_t b = 0; b < nb; ++b) {
    const float* xb = x + b * block;
    int8_t* qb = q + b * block;
    __m256 amax = _mm256_setzero_ps();
    __m256 finite = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int64_t i = 0; i < block; i += 8) {
      const __m256 a = _mm256_and_ps(_mm256_loadu_ps(xb + i), abs_mask);
      amax = _mm256_max_ps(amax, a);
      finite = _mm256_and_ps(finite, _mm256_cmp_ps(a, big, _CMP_LE_OQ));
    }
    if (_mm256_movemask_ps(finite) != 0xff) {
      std::memset(qb, 0, static_cast<size_t>(block));
      d[b] = __builtin_nanf("");
      if (block == 32) {
        sum[b] = 0;
        dsum[b] = d[b] * 0.f;
      } else {
        std::memset(bsum16 + b * 16, 0, 16 * sizeof(int16_t));
        std::memset(bsum32 + b * 8, 0, 8 * sizeof(int16_t));
      }
      continue;
    }
    const float am = hmax(amax);
    float id = am > 0.f ? 127.f / am : 0.f;
    if (!(id <= 3.40282347e+38f)) id = 0.f;
    const __m256 vid = _mm256_set1_ps(id);
    auto level = [&](int64_t i) {
      return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_loadu_ps(xb + i), vid), lo), hi));
    };
    for (int64_t i = 0; i < block; i += 32) {
      const __m256i l0 = level(i), l1 = level(i + 8), l2 = level(i + 16), l3 = level(i + 24);
      const __m256i bytes = _mm256_permutevar8x32_epi32(
          _mm256_packs_epi16(_mm256_packs_epi32(l0, l1), _mm256_packs_epi32(l2, l3)), order);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(qb + i), bytes);
      const int32_t s01 = hsum_epi32(_mm256_add_epi32(l0, l1)), s23 = hsum_epi32(_mm256_add_epi32(l2, l3));
      if (block == 32) {
        sum[b] = s01 + s23;
      } else {
        const int64_t g = i / 16;
        bsum16[b * 16 + g] = static_cast<int16_t>(s01);
        bsum16[b * 16 + g + 1] = static_cast<int16_t>(s23);
        bsum32[b * 8 + i / 32] = static_cast<int16_t>(s01 + s23);
      }
    }
    d[b] = am / 127.f;
    if (block == 32) dsum[b] = d[b] * static_cast<float>(sum[b]);
  }
}

}  // namespace
}  // namespace ridge::kernels::isa
