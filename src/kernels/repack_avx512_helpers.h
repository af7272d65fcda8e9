// Helpers of the AVX-512 packed-GEMM kernels (repack_matmul_avx512.cpp,
// repack_kquant_matmul_avx512.cpp), included inside each file's anonymous
// namespace, so every compilation keeps its own internal copy (see
// repack_kernels.h).

inline __m512i bcast_i32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_epi32(v);
}

inline __m512 bcast_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return _mm512_set1_ps(v);
}

// One 64-byte line of weights, loaded as two 32-byte halves: on Zen 5 a
// stream of 64-byte loads reads memory slower than one of 32-byte loads (see
// read_sum_avx2), and decode is that stream. Measured alternating binaries:
// Q4_0 tg128 +3-4%, Q6_K tg64 +17% (session 5), and after the pages were
// touched ahead (prefetch.h) still Q8_0 +7% for the one scale line per pair
// alone; Q4_K, which loads each nibble vector twice, no change, so it keeps
// the 64-byte load.
// On Intel (g_whole_line_loads, set by CPU vendor: cpu_features.h) one
// 64-byte load is faster: Xeon with AMX, tg64 Q4_0 +2.2%, Q8_0 +2.0%
// (alternating binaries, 6 rounds; the insert takes the port the dot products
// use there).
inline __m512i load_line(const uint8_t* p) {
  if (g_whole_line_loads) return _mm512_load_si512(p);
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_load_si256(reinterpret_cast<const __m256i*>(p))),
                            _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 32)), 1);
}
