// The instruction-set-independent part of the GEMM over packed Q4_K / Q6_K
// weights (layouts in repack_kquant.h): the per-tile copy of the activations
// and the loop over panels and tokens. Included inside the anonymous
// namespace of each kernel file (repack_kquant_matmul_avx512.cpp,
// repack_kquant_matmul_avx2.cpp), so every compilation has its own copy with
// internal linkage (see repack_kernels.h). A kernel file supplies a `Tiles`
// class: kMaxTokens (tokens per tile), kLayout (names its activation copies
// for the per-thread scratch) and tile<F, T>(task, panel, xp, y, y_stride).

constexpr int kPanel = 16;
// Tokens are processed in chunks so a chunk's activations stay in L2 while
// each panel (read once per chunk from memory) meets all of them.
constexpr int64_t kTokenChunk = 64;

template <PackedKQuantFormat F>
struct Format;

template <>
struct Format<PackedKQuantFormat::Q4_K> {
  static constexpr int64_t kBlockBytes = 2368;
  static constexpr int kExtra = 4;  // per token: 4 pairs of activation sums per 32, as int16 pairs
};

template <>
struct Format<PackedKQuantFormat::Q6_K> {
  static constexpr int64_t kBlockBytes = 3392;
  static constexpr int kExtra = 16;  // per token: -32 * sum of each 16 levels
};

// Bytes per super-block of a tile's packed activations for T tokens: 64
// groups x T tokens of 4 level bytes, then T scales (float), then kExtra x T
// int32 values.
template <PackedKQuantFormat F>
constexpr int64_t tile_stride(int T) {
  return (260 + 4 * Format<F>::kExtra) * static_cast<int64_t>(T);
}

// Copies tokens [token, token + T) of the task's activations into `out`: for
// super-block s, at out + s * tile_stride(T): group g (columns 4g..4g+3) of
// token t at (g * T + t) * 4, token t's scale at 256 * T + 4 * t, its extra
// value k at 260 * T + (k * T + t) * 4.
template <PackedKQuantFormat F>
inline void pack_tile(const PackedKQuantMatmulTask& task, int64_t token, int T, uint8_t* out) {
  const int64_t nsb = task.super_blocks, cols = nsb * 256, stride = tile_stride<F>(T);
  for (int t = 0; t < T; ++t) {
    const int64_t tok = token + t;
    const int8_t* xq = task.xq + tok * cols;
    uint8_t* o = out;
    for (int64_t s = 0; s < nsb; ++s, o += stride) {
      for (int g = 0; g < 64; ++g) std::memcpy(o + (g * T + t) * 4, xq + s * 256 + 4 * g, 4);
      std::memcpy(o + 256 * T + 4 * t, task.xd + tok * nsb + s, 4);
      if constexpr (F == PackedKQuantFormat::Q4_K) {
        const int16_t* b32 = task.bsum32 + (tok * nsb + s) * 8;
        for (int k = 0; k < 4; ++k) {
          const uint32_t pair = static_cast<uint16_t>(b32[2 * k]) | (static_cast<uint32_t>(static_cast<uint16_t>(b32[2 * k + 1])) << 16);
          std::memcpy(o + 260 * T + (k * T + t) * 4, &pair, 4);
        }
      } else {
        const int16_t* b16 = task.bsum16 + (tok * nsb + s) * 16;
        for (int j = 0; j < 16; ++j) {
          const int32_t offset = -32 * static_cast<int32_t>(b16[j]);
          std::memcpy(o + 260 * T + (j * T + t) * 4, &offset, 4);
        }
      }
    }
  }
}

using TileFn = void (*)(const PackedKQuantMatmulTask&, int64_t panel, const uint8_t* xp, float* y, int64_t y_stride);

template <class Tiles, PackedKQuantFormat F, int T>
TileFn tile_for_tokens(int64_t nt) {
  if constexpr (T == 1) {
    return &Tiles::template tile<F, 1>;
  } else {
    return nt == T ? &Tiles::template tile<F, T> : tile_for_tokens<Tiles, F, T - 1>(nt);
  }
}

// Layout tags for packed_activation_scratch (the Q4_0/Q8_0 kernels use 1..4).
constexpr int kLayoutBase = 16;

template <class Tiles, PackedKQuantFormat F>
void run_panels(const PackedKQuantMatmulTask& task, int64_t panel_begin, int64_t panel_end) {
  constexpr int kMax = Tiles::kMaxTokens;
  const int64_t nsb = task.super_blocks;
  const int64_t per_token = tile_stride<F>(1) * nsb;
  // The packed activations, once per thread per fan-out (ActivationCopies).
  const ActivationCopies copies =
      activation_copies(task.n_tokens, task.x_id, kLayoutBase + static_cast<int>(F) + 2 * Tiles::kLayout, per_token);
  for (int64_t tc = 0; tc < task.n_tokens; tc += kTokenChunk) {
    const int64_t tc_end = tc + kTokenChunk < task.n_tokens ? tc + kTokenChunk : task.n_tokens;
    uint8_t* packed_x = nullptr;
    const bool packed = activation_chunk(copies, tc, tc_end, &packed_x);
    // Tile k of the chunk (tokens tc + kMax * k ..) starts at per_token * kMax * k bytes.
    for (int64_t t = tc; t < tc_end && !packed; t += kMax) {
      const int nt = static_cast<int>(tc_end - t < kMax ? tc_end - t : kMax);
      pack_tile<F>(task, t, nt, packed_x + per_token * (t - tc));
    }
    for (int64_t p = panel_begin; p < panel_end; ++p)
      for (int64_t t = tc; t < tc_end; t += kMax) {
        const int64_t nt = tc_end - t < kMax ? tc_end - t : kMax;
        tile_for_tokens<Tiles, F, kMax>(nt)(task, p, packed_x + per_token * (t - tc), task.y + t * task.rows,
                                            task.rows);
      }
  }
}
