// Helpers of the AVX2 packed-GEMM kernels (repack_matmul_avx2.cpp,
// repack_kquant_matmul_avx2.cpp), included inside each file's anonymous
// namespace after its body header (kPanel), so every compilation keeps its own
// internal copy (see repack_kernels.h).

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

// A 16-row panel as two halves of 8 rows (one 32-bit lane per row): runs
// body(half0, acc) for each pass over the panel (H halves at a time, float
// accumulators acc[H][T] zeroed, or loaded from y when `accumulate`) and
// stores the rows of `task` that exist.
template <int H, int T, class Task, class Body>
inline void for_halves(const Task& task, int64_t panel, float* y, int64_t y_stride, Body&& body,
                       bool accumulate = false) {
  for (int half0 = 0; half0 < 2; half0 += H) {
    if (task.rows - (panel * kPanel + 8 * half0) <= 0) break;
    __m256 acc[H][T];
    for (int h = 0; h < H; ++h) {
      const int64_t row0 = panel * kPanel + 8 * (half0 + h);
      const int64_t left = task.rows - row0;
      for (int t = 0; t < T; ++t) {
        acc[h][t] = _mm256_setzero_ps();
        if (!accumulate || left <= 0) continue;
        const float* in = y + t * y_stride + row0;
        if (left >= 8) {
          acc[h][t] = _mm256_loadu_ps(in);
        } else {
          alignas(32) float tmp[8] = {};
          for (int64_t i = 0; i < left; ++i) tmp[i] = in[i];
          acc[h][t] = _mm256_load_ps(tmp);
        }
      }
    }
    body(half0, acc);
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
